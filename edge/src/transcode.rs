//! REST ⇄ protobuf, driven by the descriptors: a request's path variables, query string and
//! JSON body become one request message; a response message becomes proto3 JSON.
//!
//! Everything a request carries is first gathered into one JSON object shaped like the
//! request message (path variables and query parameters as nested keys, the body where the
//! rule's `body` says), then that object goes through prost-reflect's proto3 JSON mapping
//! once. So the query string gets exactly the body's rules for enums by name, int64 as
//! strings, timestamps, field masks and wrappers, and an unknown name is refused the same
//! way wherever it appears.

use bytes::Bytes;
use prost_reflect::{
    DeserializeOptions, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, ReflectMessage, SerializeOptions,
    Value,
};
use serde_json::{Map, Value as Json};

use crate::routes::Route;

/// The full name of the message that carries raw HTTP bodies.
const HTTP_BODY: &str = "google.api.HttpBody";

/// Why a request could not become a message: always the client's fault (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BadRequest {
    /// The field at fault, as the client wrote it (`pageSize`, `price.amountMinor`, `body`).
    pub field: String,
    /// What is wrong with it, for a person.
    pub message: String,
}

impl BadRequest {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// What the client sent, besides the path.
#[derive(Debug, Default)]
pub struct HttpInput<'a> {
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// The body bytes (empty when none).
    pub body: Bytes,
    /// The `content-type` header, for `google.api.HttpBody` requests.
    pub content_type: Option<&'a str>,
}

/// Whether `route` reads a JSON body: its rule has a `body`, and that body is not a raw
/// `google.api.HttpBody` (which keeps whatever type it was sent with).
pub fn takes_json_body(route: &Route) -> bool {
    let descriptor = route.method.descriptor.input();
    match route.method.http.as_ref().map(|http| http.body.as_str()).unwrap_or("") {
        "" => false,
        "*" => descriptor.full_name() != HTTP_BODY,
        field_name => !descriptor
            .get_field_by_name(field_name)
            .is_some_and(|field| matches!(field.kind(), Kind::Message(inner) if inner.full_name() == HTTP_BODY)),
    }
}

/// Whether `route` takes the raw request body as a `google.api.HttpBody` (an upload).
pub fn takes_raw_body(route: &Route) -> bool {
    !route.method.http.as_ref().is_none_or(|http| http.body.is_empty()) && !takes_json_body(route)
}

/// Whether a `content-type` says JSON: `application/json`, parameters (`charset=utf-8`)
/// allowed. Anything a plain HTML form can send (`text/plain`, form encodings) is not.
pub fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// Builds the request message for `route` from its path `bindings` and the rest of `input`.
pub fn request(
    route: &Route,
    bindings: Vec<(Vec<String>, String)>,
    input: HttpInput<'_>,
) -> Result<DynamicMessage, BadRequest> {
    let descriptor = route.method.descriptor.input();
    let body_rule = route.method.http.as_ref().map(|http| http.body.as_str()).unwrap_or("");

    // A raw body: the message is the body itself (the Stripe webhook).
    if descriptor.full_name() == HTTP_BODY && body_rule == "*" {
        return Ok(http_body(&descriptor, input.content_type, input.body));
    }

    let mut tree = Map::new();
    match body_rule {
        "" => {}
        "*" => tree = json_object(&input.body)?,
        field_name => {
            let field = descriptor
                .get_field_by_name(field_name)
                .ok_or_else(|| BadRequest::new("body", format!("the rule names no field `{field_name}`")))?;
            let value = match field.kind() {
                Kind::Message(inner) if inner.full_name() == HTTP_BODY => {
                    let message = http_body(&inner, input.content_type, input.body.clone());
                    // Carried through JSON as the bytes field's base64, which the mapping reads back.
                    serde_json::to_value(&message)
                        .map_err(|error| BadRequest::new("body", format!("cannot read the body: {error}")))?
                }
                _ => parse_json(&input.body)?,
            };
            tree.insert(field.json_name().to_owned(), value);
        }
    }

    // The query string fills whatever the body did not: with `body: "*"` it has nothing to fill.
    if let Some(query) = input.query.filter(|q| !q.is_empty()) {
        if body_rule == "*" {
            let first = query.split('&').next().unwrap_or(query);
            let name = decode_component(first.split('=').next().unwrap_or(first));
            return Err(BadRequest::new(
                name.clone(),
                format!("query parameter `{name}` is not accepted here: this request takes its fields from the body"),
            ));
        }
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (name, value) = (decode_component(name), decode_component(value));
            insert_path(&mut tree, &descriptor, &name, value, true)?;
        }
    }

    // Path variables last: they win over anything the body or query said about the same field.
    for (field_path, value) in bindings {
        insert_path(&mut tree, &descriptor, &field_path.join("."), value, false)?;
    }

    let tree = Json::Object(tree);
    DynamicMessage::deserialize_with_options(descriptor.clone(), &tree, &deserialize_options()).map_err(|error| {
        let field = culprit(&descriptor, &tree).unwrap_or_else(|| "body".to_owned());
        BadRequest::new(field.clone(), format!("invalid value for `{field}`: {error}"))
    })
}

fn deserialize_options() -> DeserializeOptions {
    DeserializeOptions::new().deny_unknown_fields(true)
}

/// The path of the first field in `tree` that does not map onto `descriptor`. The mapping's
/// own errors do not say which field they are about, so each key is tried on its own, and
/// the search goes down into nested messages to name the deepest one at fault.
fn culprit(descriptor: &MessageDescriptor, tree: &Json) -> Option<String> {
    let Json::Object(map) = tree else { return None };
    for (key, value) in map {
        let single = Json::Object(Map::from_iter([(key.clone(), value.clone())]));
        if DynamicMessage::deserialize_with_options(descriptor.clone(), &single, &deserialize_options()).is_ok() {
            continue;
        }
        let inner = field_named(descriptor, key).and_then(|field| match field.kind() {
            Kind::Message(message) if !field.is_list() && !field.is_map() => culprit(&message, value),
            _ => None,
        });
        return Some(match inner {
            Some(path) => format!("{key}.{path}"),
            None => key.clone(),
        });
    }
    None
}

/// A `google.api.HttpBody` message holding `body` as it came.
fn http_body(descriptor: &MessageDescriptor, content_type: Option<&str>, body: Bytes) -> DynamicMessage {
    let mut message = DynamicMessage::new(descriptor.clone());
    if let Some(content_type) = content_type {
        message.set_field_by_name("content_type", Value::String(content_type.to_owned()));
    }
    message.set_field_by_name("data", Value::Bytes(body));
    message
}

/// The JSON body as an object; an empty body is `{}`.
fn json_object(body: &[u8]) -> Result<Map<String, Json>, BadRequest> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match parse_json(body)? {
        Json::Object(map) => Ok(map),
        other => Err(BadRequest::new("body", format!("the body must be a JSON object, not {}", kind_of(&other)))),
    }
}

fn parse_json(body: &[u8]) -> Result<Json, BadRequest> {
    serde_json::from_slice(body).map_err(|error| {
        BadRequest::new("body", format!("malformed JSON at line {}, column {}: {error}", error.line(), error.column()))
    })
}

fn kind_of(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// Puts `value` at the dotted field path `name` (`a.b`, in snake_case or lowerCamelCase) of
/// the JSON `tree`, checking every step against the descriptor. Repeated fields collect
/// values from repeated parameters when `append` is set.
fn insert_path(
    tree: &mut Map<String, Json>,
    descriptor: &MessageDescriptor,
    name: &str,
    value: String,
    append: bool,
) -> Result<(), BadRequest> {
    let steps: Vec<&str> = name.split('.').collect();
    let mut node = tree;
    let mut message = descriptor.clone();
    for (i, step) in steps.iter().enumerate() {
        let field = field_named(&message, step)
            .ok_or_else(|| BadRequest::new(name, format!("unknown field `{name}`: `{step}` is not a field here")))?;
        let key = field.json_name().to_owned();
        let last = i + 1 == steps.len();
        match field.kind() {
            Kind::Message(inner) if !last => {
                if field.is_list() || field.is_map() {
                    return Err(BadRequest::new(name, format!("`{name}` cannot be set from a URL")));
                }
                let entry = node.entry(key).or_insert_with(|| Json::Object(Map::new()));
                let Json::Object(next) = entry else {
                    return Err(BadRequest::new(name, format!("`{name}` is given twice")));
                };
                node = next;
                message = inner;
            }
            _ if !last => {
                return Err(BadRequest::new(name, format!("`{step}` has no fields, so `{name}` means nothing")));
            }
            kind => {
                if field.is_map() || (matches!(kind, Kind::Message(ref m) if !is_scalar_like(m)) && !field.is_list()) {
                    return Err(BadRequest::new(name, format!("`{name}` cannot be set from a URL")));
                }
                let leaf = leaf_json(&kind, value.clone(), name)?;
                if field.is_list() {
                    let entry = node.entry(key).or_insert_with(|| Json::Array(Vec::new()));
                    match entry {
                        Json::Array(items) if append => items.push(leaf),
                        _ => *entry = Json::Array(vec![leaf]),
                    }
                } else if append && node.contains_key(&key) {
                    return Err(BadRequest::new(name, format!("`{name}` is given more than once")));
                } else {
                    node.insert(key, leaf);
                }
            }
        }
    }
    Ok(())
}

/// A field by its proto name or its JSON name.
fn field_named(message: &MessageDescriptor, name: &str) -> Option<FieldDescriptor> {
    message.get_field_by_name(name).or_else(|| message.get_field_by_json_name(name))
}

/// Well-known types whose JSON form is a single string or number, so a URL can carry them.
fn is_scalar_like(message: &MessageDescriptor) -> bool {
    matches!(
        message.full_name(),
        "google.protobuf.Timestamp"
            | "google.protobuf.Duration"
            | "google.protobuf.FieldMask"
            | "google.protobuf.DoubleValue"
            | "google.protobuf.FloatValue"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt64Value"
            | "google.protobuf.Int32Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.BoolValue"
            | "google.protobuf.StringValue"
            | "google.protobuf.BytesValue"
    )
}

/// The JSON a URL text stands for in a field of `kind`: booleans and bools in wrappers
/// become JSON booleans, everything else a string (the proto3 mapping accepts numbers as
/// strings, and enums, timestamps and masks are strings anyway).
fn leaf_json(kind: &Kind, value: String, name: &str) -> Result<Json, BadRequest> {
    let boolean =
        matches!(kind, Kind::Bool) || matches!(kind, Kind::Message(m) if m.full_name() == "google.protobuf.BoolValue");
    if boolean {
        return match value.as_str() {
            "true" | "1" | "" => Ok(Json::Bool(true)),
            "false" | "0" => Ok(Json::Bool(false)),
            _ => Err(BadRequest::new(name, format!("`{name}` must be true or false, not `{value}`"))),
        };
    }
    Ok(Json::String(value))
}

/// Percent-decoding for query components, with `+` as a space (HTML forms).
fn decode_component(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|d| d as u8)
}

/// Options for every JSON response: lowerCamelCase names, int64 as strings, enums by name,
/// and every field present even at its default, so clients see `"available": 0` rather
/// than guess what a missing key means.
pub fn serialize_options() -> SerializeOptions {
    SerializeOptions::new().skip_default_fields(false)
}

/// What a response becomes on the wire.
#[derive(Debug)]
pub enum HttpOutput {
    /// A JSON document.
    Json(Vec<u8>),
    /// Raw bytes with their content type (`google.api.HttpBody` responses).
    Raw { content_type: String, body: Bytes },
}

/// The HTTP body for a response message.
pub fn response(message: &DynamicMessage) -> HttpOutput {
    if message.descriptor().full_name() == HTTP_BODY {
        let content_type = match message.get_field_by_name("content_type").as_deref() {
            Some(Value::String(text)) if !text.is_empty() => text.clone(),
            _ => "application/octet-stream".to_owned(),
        };
        let body = match message.get_field_by_name("data").as_deref() {
            Some(Value::Bytes(bytes)) => bytes.clone(),
            _ => Bytes::new(),
        };
        return HttpOutput::Raw { content_type, body };
    }
    let mut out = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::new(&mut out);
    // Serialising a well-formed message into a Vec cannot fail: no I/O, and every value the
    // message can hold has a JSON form.
    message
        .serialize_with_options(&mut serializer, &serialize_options())
        .expect("a decoded message always has a JSON form");
    HttpOutput::Json(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        for yes in ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"] {
            assert!(is_json(yes), "{yes}");
        }
        for no in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", "json"] {
            assert!(!is_json(no), "{no}");
        }
    }

    #[test]
    fn query_components_decode() {
        assert_eq!(decode_component("a+b%20c"), "a b c");
        assert_eq!(decode_component("%E2%82%AC"), "€");
        assert_eq!(decode_component("100%"), "100%");
        assert_eq!(decode_component("%zz"), "%zz");
    }
}
