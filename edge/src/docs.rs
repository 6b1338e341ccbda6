//! `/docs`: Swagger UI for `/openapi.json`, its assets compiled into the binary from
//! `edge/assets/swagger-ui` (the `swagger-ui-dist` npm package, version 5.32.0, Apache-2.0,
//! licence alongside) — no CDN, so the docs work offline.

use bytes::Bytes;
use http::{Response, StatusCode, header};
use tonic::body::Body;

use crate::error;

/// The page. Relative asset paths, so it works behind any prefix; the validator badge
/// (which would call out to swagger.io) is switched off.
const PAGE: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Online Mart API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"##;

/// Starts Swagger UI on the edge's own document. A separate file rather than an inline
/// script, so a strict Content-Security-Policy (`script-src 'self'`) can stay on.
const INIT: &str = r##"window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  persistAuthorization: true,
  tryItOutEnabled: true,
});
"##;

/// Every asset: name, content type, bytes.
const ASSETS: [(&str, &str, &[u8]); 6] = [
    (
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js"),
    ),
    ("swagger-ui.css", "text/css; charset=utf-8", include_bytes!("../assets/swagger-ui/swagger-ui.css")),
    ("favicon-32x32.png", "image/png", include_bytes!("../assets/swagger-ui/favicon-32x32.png")),
    ("init.js", "text/javascript; charset=utf-8", INIT.as_bytes()),
    ("LICENSE", "text/plain; charset=utf-8", include_bytes!("../assets/swagger-ui/LICENSE")),
    ("NOTICE", "text/plain; charset=utf-8", include_bytes!("../assets/swagger-ui/NOTICE")),
];

/// `/docs`.
pub fn page() -> Response<Body> {
    let mut response =
        error::bytes_response(StatusCode::OK, "text/html; charset=utf-8", Bytes::from_static(PAGE.as_bytes()));
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        http::HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'",
        ),
    );
    response
}

/// `/docs/<name>`.
pub fn asset(name: &str) -> Response<Body> {
    match ASSETS.iter().find(|(asset, _, _)| *asset == name) {
        Some((_, content_type, bytes)) => {
            let mut response = error::bytes_response(StatusCode::OK, content_type, Bytes::from_static(bytes));
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, http::HeaderValue::from_static("public, max-age=86400"));
            response
        }
        None => error::problem(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("no such asset: /docs/{name}"), vec![]),
    }
}
