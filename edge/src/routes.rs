//! The REST route table, compiled from the contract's `google.api.http` rules.
//!
//! Templates follow `google/api/http.proto`: literal segments, variables (`{product_id}`,
//! `{name=shelves/*}`, nested field paths `{order.id}`), `*` and `**` wildcards and a
//! custom verb (`/v1/orders/{order_id}:cancel`). When several templates match a path, the
//! most literal one wins, so `/v1/users/me` answers before `/v1/users/{user_id}`. INTERNAL
//! RPCs have no rule and are never routed.

use mart_proto::contract::{self, Access, Method};

/// One piece of a compiled template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    /// Must equal this text.
    Literal(String),
    /// Matches one segment.
    Any,
    /// Matches the rest of the path (`**`), possibly nothing.
    Rest,
}

/// A variable of a template: which request field it fills, from which segments.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Variable {
    /// The request field, as a path of field names (`order.id` → `["order", "id"]`).
    field: Vec<String>,
    /// The segments it covers: `[start, end)`, `end = None` for "to the end".
    start: usize,
    end: Option<usize>,
}

/// A compiled `google.api.http` rule.
#[derive(Clone, Debug)]
pub struct Route {
    /// The HTTP verb.
    pub verb: String,
    /// The template as written, for docs and errors.
    pub template: String,
    /// The RPC it reaches.
    pub method: &'static Method,
    segments: Vec<Segment>,
    variables: Vec<Variable>,
    custom_verb: Option<String>,
}

/// Why a template could not be compiled.
#[derive(Debug)]
pub struct TemplateError(pub String);

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad http template: {}", self.0)
    }
}

impl std::error::Error for TemplateError {}

/// What a request path and verb lead to.
#[derive(Debug)]
pub enum Resolution<'a> {
    /// This route, with the path variables' values (field path, decoded value).
    Found(&'a Route, Vec<(Vec<String>, String)>),
    /// The path exists, for other verbs (an HTTP 405 with this `Allow`).
    WrongVerb(Vec<String>),
    /// No route has this path (an HTTP 404).
    NotFound,
}

/// Every REST route of the contract.
#[derive(Debug)]
pub struct Routes {
    /// Most specific first: resolution takes the first match.
    routes: Vec<Route>,
}

impl Routes {
    /// The routes of every public RPC in the contract.
    pub fn from_contract() -> Result<Self, TemplateError> {
        Self::from_methods(contract::methods())
    }

    /// The routes of `methods` that are not INTERNAL and have an HTTP rule (tests bring
    /// methods of their own).
    pub fn from_methods(methods: impl IntoIterator<Item = &'static Method>) -> Result<Self, TemplateError> {
        let mut routes = Vec::new();
        for method in methods {
            // INTERNAL methods never get a route, whatever their descriptor says.
            if method.access == Some(Access::Internal) {
                continue;
            }
            if let Some(http) = &method.http {
                routes.push(compile(&http.verb, &http.path, method)?);
            }
        }
        routes.sort_by_key(|route| std::cmp::Reverse(specificity(route)));
        Ok(Self { routes })
    }

    /// Every route, most specific first.
    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter()
    }

    /// The route for `verb` and `path` (the path as it arrived, still percent-encoded).
    pub fn resolve(&self, verb: &str, path: &str) -> Resolution<'_> {
        let (segments, custom_verb) = split(path);
        let mut allowed = Vec::new();
        for route in &self.routes {
            let Some(bindings) = matches(route, &segments, custom_verb.as_deref()) else { continue };
            if route.verb.eq_ignore_ascii_case(verb) {
                return Resolution::Found(route, bindings);
            }
            if !allowed.contains(&route.verb) {
                allowed.push(route.verb.clone());
            }
        }
        if allowed.is_empty() {
            Resolution::NotFound
        } else {
            allowed.sort();
            Resolution::WrongVerb(allowed)
        }
    }
}

/// Literal segments count most, then single wildcards over `**`, then the custom verb.
fn specificity(route: &Route) -> (usize, usize, bool) {
    let literals = route.segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count();
    let singles = route.segments.iter().filter(|s| matches!(s, Segment::Any)).count();
    (literals, singles, route.custom_verb.is_some())
}

/// Compiles `template` of `method`.
fn compile(verb: &str, template: &str, method: &'static Method) -> Result<Route, TemplateError> {
    let bad = |why: &str| TemplateError(format!("{template}: {why}"));
    let body = template.strip_prefix('/').ok_or_else(|| bad("must start with /"))?;
    // A custom verb follows the last segment: `…/{order_id}:cancel` (a `:` inside braces
    // is not one).
    let (body, custom_verb) = match body.rfind(':') {
        Some(at) if !body[at..].contains('}') && !body[at..].contains('/') => {
            (&body[..at], Some(body[at + 1..].to_owned()))
        }
        _ => (body, None),
    };
    let mut segments = Vec::new();
    let mut variables = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('{') {
            let close = inner.find('}').ok_or_else(|| bad("unclosed {"))?;
            let (field, pattern) = match inner[..close].split_once('=') {
                Some((field, pattern)) => (field, pattern),
                None => (&inner[..close], "*"),
            };
            let start = segments.len();
            for part in pattern.split('/') {
                segments.push(match part {
                    "*" => Segment::Any,
                    "**" => Segment::Rest,
                    literal if !literal.is_empty() => Segment::Literal(literal.to_owned()),
                    _ => return Err(bad("empty segment in a variable")),
                });
            }
            let end = (!matches!(segments.last(), Some(Segment::Rest))).then_some(segments.len());
            variables.push(Variable { field: field.split('.').map(ToOwned::to_owned).collect(), start, end });
            rest = &inner[close + 1..];
        } else {
            let end = rest.find('/').unwrap_or(rest.len());
            let segment = &rest[..end];
            segments.push(match segment {
                "*" => Segment::Any,
                "**" => Segment::Rest,
                "" => return Err(bad("empty segment")),
                literal => Segment::Literal(literal.to_owned()),
            });
            rest = &rest[end..];
        }
        rest = rest.strip_prefix('/').unwrap_or(rest);
    }
    if segments.iter().rev().skip(1).any(|s| matches!(s, Segment::Rest)) {
        return Err(bad("** must be last"));
    }
    Ok(Route {
        verb: verb.to_ascii_uppercase(),
        template: template.to_owned(),
        method,
        segments,
        variables,
        custom_verb,
    })
}

/// A request path's segments (still encoded) and its custom verb.
fn split(path: &str) -> (Vec<&str>, Option<String>) {
    let path = path.split('?').next().unwrap_or("");
    let path = path.strip_prefix('/').unwrap_or(path);
    let (path, verb) = match path.rfind(':') {
        Some(at) if !path[at..].contains('/') => (&path[..at], Some(path[at + 1..].to_owned())),
        _ => (path, None),
    };
    let segments = if path.is_empty() { Vec::new() } else { path.split('/').collect() };
    (segments, verb)
}

/// The bindings of `route`'s variables if `segments` match it.
fn matches(route: &Route, segments: &[&str], custom_verb: Option<&str>) -> Option<Vec<(Vec<String>, String)>> {
    if route.custom_verb.as_deref() != custom_verb {
        return None;
    }
    let rest = matches!(route.segments.last(), Some(Segment::Rest));
    let fixed = route.segments.len() - usize::from(rest);
    if segments.len() < fixed || (!rest && segments.len() != fixed) {
        return None;
    }
    for (pattern, segment) in route.segments.iter().zip(segments) {
        match pattern {
            Segment::Literal(literal) if literal != segment => return None,
            Segment::Any if segment.is_empty() => return None,
            _ => {}
        }
    }
    let mut bindings = Vec::new();
    for variable in &route.variables {
        let end = variable.end.unwrap_or(segments.len());
        let raw = segments.get(variable.start..end)?;
        // A single-segment variable may not contain an encoded slash's meaning; a `**` one
        // keeps its slashes.
        let value = raw.iter().map(|s| decode(s)).collect::<Option<Vec<_>>>()?.join("/");
        bindings.push((variable.field.clone(), value));
    }
    Some(bindings)
}

/// Percent-decodes one path segment; `None` when it is not valid UTF-8 after decoding or
/// an escape is malformed.
fn decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_compile() {
        let method = &contract::methods()[0];
        let route = compile("GET", "/v1/{name=shelves/*/books/**}:read", method).unwrap();
        assert_eq!(route.custom_verb.as_deref(), Some("read"));
        assert_eq!(
            route.segments,
            [
                Segment::Literal("v1".into()),
                Segment::Literal("shelves".into()),
                Segment::Any,
                Segment::Literal("books".into()),
                Segment::Rest
            ]
        );
        let (segments, verb) = split("/v1/shelves/s1/books/a/b:read");
        let bindings = matches(&route, &segments, verb.as_deref()).unwrap();
        assert_eq!(bindings, [(vec!["name".to_owned()], "shelves/s1/books/a/b".to_owned())]);
        assert!(compile("GET", "v1/x", method).is_err());
        assert!(compile("GET", "/v1/{x", method).is_err());
        assert!(compile("GET", "/v1/**/x", method).is_err());
    }

    #[test]
    fn segments_decode() {
        assert_eq!(decode("a%2Fb%20c").as_deref(), Some("a/b c"));
        assert_eq!(decode("%zz"), None);
        assert_eq!(decode("%ff"), None);
    }
}
