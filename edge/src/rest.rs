//! REST: resolve the route, check the token at the door, read the body within its limits,
//! transcode, forward as a unary gRPC call, and answer in JSON (a server-streaming call,
//! WatchOrder, answers in newline-delimited JSON as it streams). One function for every
//! endpoint; the endpoints themselves are data (the routes table).

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use mart_platform::auth;
use tonic::body::Body;

use crate::{
    Edge, REQUEST_ID,
    error::{self, EdgeError},
    routes::Resolution,
    transcode::{self, HttpInput, HttpOutput},
    upstream,
};

/// Answers a REST request.
pub async fn handle(edge: &Edge, request: Request<Body>) -> Response<Body> {
    let mut matched = None;
    let mut response = match forward(edge, request, &mut matched).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    if let Some(template) = matched {
        response.extensions_mut().insert(MatchedRoute(template));
    }
    response
}

/// The route template a REST request matched, on its response: what metrics and spans
/// name the request by.
#[derive(Clone, Debug)]
pub struct MatchedRoute(pub String);

async fn forward(
    edge: &Edge,
    request: Request<Body>,
    matched: &mut Option<String>,
) -> Result<Response<Body>, EdgeError> {
    let inner = &edge.inner;
    let (parts, body) = request.into_parts();
    let verb = if parts.method == Method::HEAD { "GET" } else { parts.method.as_str() };
    let (route, bindings) = match inner.routes.resolve(verb, parts.uri.path()) {
        Resolution::Found(route, bindings) => (route, bindings),
        Resolution::WrongVerb(allow) => return Err(EdgeError::WrongVerb(allow)),
        Resolution::NotFound => return Err(EdgeError::NotFound(parts.uri.path().to_owned())),
    };
    *matched = Some(route.template.clone());

    // The door: a missing, expired or forged token, or the wrong role, ends here.
    let principal = auth::authorize(&inner.verifier, &route.method.path, &parts.headers).await?;
    edge.check_principal(principal.as_ref())?;

    let deadline = upstream::deadline(&parts.headers, inner.settings.request_timeout, inner.settings.max_deadline);
    // A body is JSON and says so: a page elsewhere can make a browser post `text/plain` or
    // a form without asking first (no CORS preflight), but never `application/json`.
    let sent_type = parts.headers.get(header::CONTENT_TYPE);
    let content_type = sent_type.and_then(|v| v.to_str().ok());
    let json_body = transcode::takes_json_body(route);
    if json_body && let Some(said) = sent_type.filter(|_| !content_type.is_some_and(transcode::is_json)) {
        return Err(EdgeError::NotJson(Some(String::from_utf8_lossy(said.as_bytes()).into_owned())));
    }
    // An upload's body is the image: up to the media limit, and refused past it by that name.
    let body = if transcode::takes_raw_body(route) {
        let limit = inner.settings.media_max_bytes;
        read_body(body, limit, inner.settings.request_timeout).await.map_err(|error| match error {
            EdgeError::TooLarge(limit) => EdgeError::MediaTooLarge(limit),
            other => other,
        })?
    } else {
        read_body(body, inner.settings.body_limit, inner.settings.request_timeout).await?
    };
    if json_body && sent_type.is_none() && !body.iter().all(u8::is_ascii_whitespace) {
        return Err(EdgeError::NotJson(None));
    }
    let message = transcode::request(route, bindings, HttpInput { query: parts.uri.query(), body, content_type })?;

    let channel = inner
        .upstreams
        .for_path(&route.method.path)
        .ok_or_else(|| tonic::Status::unimplemented("no service serves this method"))?;
    let max_message = mart_platform::config::media_message_limit(inner.settings.media_max_bytes);
    if route.method.descriptor.is_server_streaming() {
        let metadata = upstream::metadata_from(&parts.headers);
        let (stream, metadata) =
            upstream::server_streaming(channel, route.method, message, metadata, deadline, max_message).await?;
        let mut response = ndjson(stream);
        if let Some(id) = upstream::header_value(&metadata, REQUEST_ID) {
            response.headers_mut().insert(REQUEST_ID, id);
        }
        return Ok(response);
    }
    let (answer, metadata) = upstream::unary(
        channel,
        route.method,
        message,
        upstream::metadata_from(&parts.headers),
        deadline,
        verb == "GET",
        max_message,
    )
    .await?;

    let mut response = match transcode::response(&answer) {
        HttpOutput::Json(json) => error::json_response(StatusCode::OK, json),
        HttpOutput::Raw { content_type, body } => error::bytes_response(StatusCode::OK, &content_type, body),
    };
    if parts.method == Method::HEAD {
        *response.body_mut() = Body::empty();
    }
    if let Some(id) = upstream::header_value(&metadata, REQUEST_ID) {
        response.headers_mut().insert(REQUEST_ID, id);
    }
    // How long the answer may be kept, when the service says (media: for good).
    if let Some(cache) = upstream::header_value(&metadata, header::CACHE_CONTROL.as_str()) {
        response.headers_mut().insert(header::CACHE_CONTROL, cache);
    }
    Ok(response)
}

/// A server stream as newline-delimited JSON (`application/x-ndjson`), as grpc-gateway
/// streams: one message per line as it comes; an error after the first message (the
/// status line is long gone) is a last line `{"error": {"code", "message"}}`.
fn ndjson(stream: tonic::codec::Streaming<prost_reflect::DynamicMessage>) -> Response<Body> {
    use futures::StreamExt as _;
    let lines = stream.map(|item| {
        let mut line = match item {
            Ok(message) => match transcode::response(&message) {
                HttpOutput::Json(json) => json,
                HttpOutput::Raw { body, .. } => body.to_vec(),
            },
            Err(status) => serde_json::json!({
                "error": {"code": error::code_name(status.code()), "message": status.message()}
            })
            .to_string()
            .into_bytes(),
        };
        line.push(b'\n');
        Ok::<_, std::convert::Infallible>(http_body::Frame::data(Bytes::from(line)))
    });
    let mut response = Response::new(Body::new(http_body_util::StreamBody::new(lines)));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, http::HeaderValue::from_static("application/x-ndjson"));
    headers.insert(header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    response
}

/// The whole body, refused past `limit` bytes (413) or when it takes longer than `timeout`.
async fn read_body(body: Body, limit: usize, timeout: Duration) -> Result<Bytes, EdgeError> {
    match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Err(_) => Err(EdgeError::BodyTimeout),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => Err(EdgeError::TooLarge(limit)),
        Ok(Err(error)) => Err(EdgeError::BadRequest(crate::transcode::BadRequest {
            field: "body".to_owned(),
            message: format!("the body could not be read: {error}"),
        })),
    }
}
