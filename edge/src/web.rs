//! The storefront at `/` and the admin console at `/admin/`: the web apps' built bundle
//! (`web/` builds it into `edge/assets/web/`, committed), compiled into the binary so the
//! shop needs no Node to run. Both are single pages that call the API on this same origin
//! over grpc-web, so they need no CORS.
//!
//! Caching: assets under `/assets/` have content hashes in their names, so they are kept
//! for a year; the pages themselves are never cached, so a new release shows at once.
//! Every page carries a Content-Security-Policy allowing this origin only — and Stripe's
//! when the shop takes cards (`MART_STRIPE_PUBLISHABLE_KEY`), for its Payment Element —
//! with images from anywhere over https (products may show outside image URLs).

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use crate::{Body, error};

/// Every file of the bundle: its path under `assets/web/`, and its bytes.
static FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// How long a hashed asset may be kept.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Pages: never kept, so a deploy shows at once.
const NEVER: &str = "no-store";

/// The Content-Security-Policy of the pages.
pub fn content_security_policy(stripe: bool) -> String {
    // Stripe.js is loaded from Stripe, talks to its API and draws its fields in its frames.
    let (script, connect, frame) = if stripe {
        (
            " https://js.stripe.com",
            " https://api.stripe.com https://m.stripe.network",
            "https://js.stripe.com https://hooks.stripe.com",
        )
    } else {
        ("", "", "'none'")
    };
    format!(
        "default-src 'self'; script-src 'self'{script}; style-src 'self'; img-src 'self' https: data:; \
         connect-src 'self'{connect}; frame-src {frame}; object-src 'none'; base-uri 'self'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// What the edge serves of the bundle at `path` (GET or HEAD), if it is one of its paths:
/// `/` (the storefront, which routes in the URL's fragment), `/admin/` (`/admin` redirects
/// there), `/assets/…`, and the files at the bundle's top.
pub fn serve(path: &str, csp: &str) -> Option<Response<Body>> {
    let page = match path {
        "/admin" => {
            let mut response = error::bytes_response(StatusCode::PERMANENT_REDIRECT, "text/plain", Bytes::new());
            response.headers_mut().insert(header::LOCATION, HeaderValue::from_static("/admin/"));
            return Some(response);
        }
        "/" | "/index.html" => "index.html",
        "/admin/" | "/admin/index.html" => "admin/index.html",
        _ => {
            // Hashed assets, kept for good; a file of the bundle's top (an icon), an hour.
            let name = path.trim_start_matches('/');
            if let Some(hashed) = name.strip_prefix("assets/") {
                return Some(match file(name) {
                    Some(bytes) => asset(hashed, bytes, IMMUTABLE),
                    None => {
                        error::problem(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("no such asset: {path}"), vec![])
                    }
                });
            }
            return file(name).map(|bytes| asset(name, bytes, "public, max-age=3600"));
        }
    };
    let mut response = asset(page, file(page)?, NEVER);
    if let Ok(value) = HeaderValue::from_str(csp) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    Some(response)
}

/// Whether the bundle has the storefront (a build of the edge without it serves the API only).
pub fn bundled() -> bool {
    file("index.html").is_some()
}

fn file(name: &str) -> Option<&'static [u8]> {
    FILES.iter().find(|(path, _)| *path == name).map(|(_, bytes)| *bytes)
}

fn asset(name: &str, bytes: &'static [u8], cache: &'static str) -> Response<Body> {
    let mut response = error::bytes_response(StatusCode::OK, content_type(name), Bytes::from_static(bytes));
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("json" | "map") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_stripe_only_when_it_takes_cards() {
        let plain = content_security_policy(false);
        assert!(plain.contains("script-src 'self';") && plain.contains("frame-src 'none'"), "{plain}");
        assert!(!plain.contains("stripe"), "{plain}");
        let stripe = content_security_policy(true);
        assert!(stripe.contains("script-src 'self' https://js.stripe.com;"), "{stripe}");
        assert!(stripe.contains("frame-src https://js.stripe.com https://hooks.stripe.com"), "{stripe}");
        assert!(stripe.contains("img-src 'self' https: data:"), "{stripe}");
    }

    #[test]
    fn types_follow_the_extension() {
        assert_eq!(content_type("storefront-abc123.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("x"), "application/octet-stream");
    }
}
