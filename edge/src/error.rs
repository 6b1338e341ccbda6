//! Every way a REST call can fail, and the one HTTP answer for each: a status from the gRPC
//! code and a JSON body `{code, message, details}` carrying the rich details (field
//! violations, error info) the service attached.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Value as Json, json};
use tonic::{Code, Status, body::Body};
use tonic_types::StatusExt;

use crate::transcode::BadRequest;

/// Why the edge answers with an error instead of the service's response.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    /// No route has this path.
    #[error("no route for {0}")]
    NotFound(String),
    /// The path exists for other verbs.
    #[error("method not allowed")]
    WrongVerb(Vec<String>),
    /// The request could not become a message.
    #[error(transparent)]
    BadRequest(#[from] BadRequest),
    /// The body is bigger than the limit (bytes).
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
    /// An upload bigger than the media limit (`MART_MEDIA_MAX_BYTES`, bytes).
    #[error("the image is larger than the media limit of {0} bytes")]
    MediaTooLarge(usize),
    /// The body did not arrive in time.
    #[error("the body did not arrive in time")]
    BodyTimeout,
    /// Too many requests from this client; try again after this many seconds.
    #[error("too many requests")]
    RateLimited(u64),
    /// The edge is at its concurrency limit and sheds the request.
    #[error("overloaded")]
    Overloaded,
    /// This client already has its whole share of the edge's requests in flight.
    #[error("too many requests in flight")]
    TooManyInFlight,
    /// The body is not JSON (the `content-type` it said, if any).
    #[error("the body must be JSON")]
    NotJson(Option<String>),
    /// The service (or the door's own access check) answered with this status.
    #[error(transparent)]
    Status(#[from] Status),
}

impl EdgeError {
    /// The HTTP response for this error.
    pub fn into_response(self) -> Response<Body> {
        match self {
            Self::NotFound(path) => {
                problem(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("no route for {path}"), vec![])
            }
            Self::WrongVerb(allow) => {
                let mut response = problem(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "METHOD_NOT_ALLOWED",
                    &format!("this path answers {}", allow.join(", ")),
                    vec![],
                );
                if let Ok(value) = HeaderValue::from_str(&allow.join(", ")) {
                    response.headers_mut().insert(header::ALLOW, value);
                }
                response
            }
            Self::BadRequest(bad) => problem(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                &bad.message,
                vec![json!({
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": bad.field, "description": bad.message}],
                })],
            ),
            Self::TooLarge(limit) => problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RESOURCE_EXHAUSTED",
                &format!("the body is larger than the limit of {limit} bytes"),
                vec![],
            ),
            Self::MediaTooLarge(limit) => problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RESOURCE_EXHAUSTED",
                &format!("the image is larger than the media limit of {limit} bytes (MART_MEDIA_MAX_BYTES)"),
                vec![json!({
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": "body", "description": "too large"}],
                })],
            ),
            Self::BodyTimeout => problem(
                StatusCode::REQUEST_TIMEOUT,
                "DEADLINE_EXCEEDED",
                "the request body did not arrive in time",
                vec![],
            ),
            Self::RateLimited(seconds) => with_retry_after(
                problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    "RESOURCE_EXHAUSTED",
                    &format!("too many requests: try again in {seconds} s"),
                    vec![],
                ),
                seconds,
            ),
            Self::Overloaded => with_retry_after(
                problem(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "the shop is busy: try again shortly", vec![]),
                1,
            ),
            Self::TooManyInFlight => with_retry_after(
                problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    "RESOURCE_EXHAUSTED",
                    "too many requests in flight from your address: wait for some to finish",
                    vec![],
                ),
                1,
            ),
            Self::NotJson(content_type) => {
                let said = match content_type {
                    Some(content_type) => format!("not `{content_type}`"),
                    None => "and the request has none".to_owned(),
                };
                problem(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "UNSUPPORTED_MEDIA_TYPE",
                    &format!("the body must be JSON, sent with `content-type: application/json`, {said}"),
                    vec![],
                )
            }
            Self::Status(status) => from_status(&status),
        }
    }
}

/// The HTTP status for a gRPC code.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        // The API documents every refused state change (a category with products, an
        // illegal order transition, stock below reserved) as 409.
        Code::AlreadyExists | Code::Aborted | Code::FailedPrecondition => StatusCode::CONFLICT,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

use mart_platform::error::TOO_LARGE;
pub use mart_platform::error::code_name;

/// The HTTP answer for a gRPC status, details included.
pub fn from_status(status: &Status) -> Response<Body> {
    let mut details = Vec::new();
    let rich = status.get_error_details();
    if let Some(bad_request) = rich.bad_request() {
        let violations: Vec<Json> = bad_request
            .field_violations
            .iter()
            .map(|v| json!({"field": v.field, "description": v.description}))
            .collect();
        details.push(json!({"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": violations}));
    }
    if let Some(info) = rich.error_info() {
        details.push(json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": info.reason,
            "domain": info.domain,
            "metadata": info.metadata,
        }));
    }
    if let Some(failure) = rich.precondition_failure() {
        let violations: Vec<Json> = failure
            .violations
            .iter()
            .map(|v| json!({"type": v.r#type, "subject": v.subject, "description": v.description}))
            .collect();
        details.push(json!({"@type": "type.googleapis.com/google.rpc.PreconditionFailure", "violations": violations}));
    }
    let mut retry_after = None;
    if let Some(retry) = rich.retry_info()
        && let Some(delay) = retry.retry_delay
    {
        details.push(
            json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{}s", delay.as_secs())}),
        );
        retry_after = Some(delay.as_secs().max(1));
    }
    let message = if status.message().is_empty() { code_name(status.code()) } else { status.message() };
    // RESOURCE_EXHAUSTED is "too much at once" (429) unless it says "too large" (413).
    let http = match rich.error_info() {
        Some(info) if status.code() == Code::ResourceExhausted && info.reason == TOO_LARGE => {
            StatusCode::PAYLOAD_TOO_LARGE
        }
        _ => http_status(status.code()),
    };
    let response = problem(http, code_name(status.code()), message, details);
    // A service that says when to come back (RESOURCE_EXHAUSTED from login throttling or
    // busy password hashing) says it to HTTP clients the HTTP way too.
    match retry_after {
        Some(seconds) => with_retry_after(response, seconds),
        None => response,
    }
}

/// `response` telling the client to come back in `seconds` (`Retry-After`).
fn with_retry_after(mut response: Response<Body>, seconds: u64) -> Response<Body> {
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// A JSON error response.
pub fn problem(status: StatusCode, code: &str, message: &str, details: Vec<Json>) -> Response<Body> {
    let body = json!({"code": code, "message": message, "details": details});
    json_response(status, serde_json::to_vec(&body).unwrap_or_default())
}

/// A response carrying `body` as JSON.
pub fn json_response(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    bytes_response(status, "application/json", Bytes::from(body))
}

/// A response carrying `body` with `content_type`.
pub fn bytes_response(status: StatusCode, content_type: &str, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Body::new(http_body_util::Full::new(body)));
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}
