//! gRPC and grpc-web on the edge's port: reflection and health answered here (from the
//! contract's descriptor set, with INTERNAL methods taken out), every other call checked at
//! the door and forwarded as it is — frames, streams and trailers — to the owning service.
//! grpc-web requests are turned into gRPC on the way in and back on the way out (tonic-web).
//!
//! A unary call holds one of the edge's request permits, so it is bounded the way REST is:
//! its request message must arrive within the body timeout and the body limit (it is read
//! whole before the service is asked), and its deadline is the client's `grpc-timeout` cut
//! to `MART_EDGE_MAX_DEADLINE`. A server-streaming call lives as long as its stream, so it
//! gives its permit back once it is set up; the first such RPC brings its own bounds (a
//! count of open streams per client, an idle limit) instead.

use std::{sync::Arc, time::Duration};

use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use mart_platform::auth::{self, Principal, Verifier};
use mart_proto::contract::{self, Access};
use prost::Message;
use tonic::{Status, body::Body, service::Routes};
use tonic_web::{GrpcWebLayer, GrpcWebService};
use tower::{Layer, Service, ServiceExt};

use crate::{
    REQUEST_ID,
    error::EdgeError,
    limits::{Permit, RateLimiter},
    upstream::{self, Upstreams},
};

/// Headers of a gRPC request the services need besides the forwarded ones.
const GRPC_HEADERS: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::TE,
    HeaderName::from_static("grpc-encoding"),
    HeaderName::from_static("grpc-accept-encoding"),
];

/// The gRPC side of the edge.
#[derive(Clone)]
pub struct GrpcDoor {
    web: GrpcWebService<Proxy>,
    verifier: Arc<Verifier>,
}

/// The per-account limit, borrowed from the edge for one call.
pub struct PrincipalLimit<'a>(pub Option<&'a RateLimiter<String>>);

impl PrincipalLimit<'_> {
    /// Takes a token from the caller's bucket, when there is a caller and a limit.
    pub fn check(&self, principal: Option<&Principal>) -> Result<(), EdgeError> {
        match (self.0, principal) {
            (Some(limiter), Some(principal)) => limiter.check(&principal.user_id).map_err(EdgeError::RateLimited),
            _ => Ok(()),
        }
    }
}

/// How calls through the door are bounded.
#[derive(Clone, Copy, Debug)]
pub struct CallLimits {
    /// The deadline of a call that sets none.
    pub default_deadline: Duration,
    /// The longest deadline a unary call gets.
    pub max_deadline: Duration,
    /// The largest request body, in bytes.
    pub body_limit: usize,
    /// The largest request message of an upload (a method taking a `google.api.HttpBody`):
    /// the media limit and room for the message around the image.
    pub upload_limit: usize,
    /// How long the request body may take to arrive.
    pub body_timeout: Duration,
}

impl CallLimits {
    /// The limits `settings` set.
    pub fn from_settings(settings: &crate::Settings) -> Self {
        Self {
            default_deadline: settings.request_timeout,
            max_deadline: settings.max_deadline,
            body_limit: settings.body_limit,
            upload_limit: mart_platform::config::media_message_limit(settings.media_max_bytes),
            body_timeout: settings.request_timeout,
        }
    }
}

impl GrpcDoor {
    /// Forwards to `upstreams`, checking tokens with `verifier`, within `limits`.
    pub fn new(upstreams: Upstreams, verifier: Arc<Verifier>, limits: CallLimits) -> Result<Self, crate::StartError> {
        let descriptors = public_descriptor_set();
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(&descriptors)
            .build_v1()
            .map_err(|error| crate::StartError::Reflection(error.to_string()))?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(&descriptors)
            .build_v1alpha()
            .map_err(|error| crate::StartError::Reflection(error.to_string()))?;
        // The edge's own health: it is up. Upstreams' health is `/readyz`.
        let (_reporter, health) = tonic_health::server::health_reporter();
        let local = Routes::new(reflection_v1).add_service(reflection_v1alpha).add_service(health);
        let proxy = Proxy { inner: Arc::new(ProxyInner { upstreams, limits, local }) };
        Ok(Self { web: GrpcWebLayer::new().layer(proxy), verifier })
    }

    /// Answers a gRPC or grpc-web request, admitted with `permit`. Never fails: problems are
    /// gRPC statuses.
    pub async fn call(&self, mut request: Request<Body>, limit: PrincipalLimit<'_>, permit: Permit) -> Response<Body> {
        // The per-account check needs the verified principal, which only the proxy below
        // the grpc-web translation learns; it reports back through an extension.
        let principal = match door(&self.verifier, request.uri().path(), request.headers()).await {
            Ok(principal) => principal,
            Err(status) => return status_response(status, &request),
        };
        if let Err(error) = limit.check(principal.as_ref()) {
            return refusal_for(error, &request);
        }
        request.extensions_mut().insert(Checked(principal));
        // A stream is not a request in flight: it must not keep others out for its life.
        let mut permit = Some(permit);
        if shape(request.uri().path()).server_streaming {
            drop(permit.take());
        }
        let answer = self.web.clone().oneshot(request).await;
        drop(permit);
        match answer {
            Ok(response) => response,
            Err(error) => Status::internal(format!("grpc-web: {error}")).into_http(),
        }
    }
}

/// Runs the access check for the method `request` calls.
async fn door(verifier: &Verifier, path: &str, headers: &HeaderMap) -> Result<Option<Principal>, Status> {
    if is_local(path) {
        return Ok(None);
    }
    match contract::method(path) {
        Some(method) if method.access != Some(Access::Internal) => auth::authorize(verifier, path, headers).await,
        // Unknown to the contract, or for other services only: the edge has no such method.
        _ => Err(Status::unimplemented(format!("{path} is not served here"))),
    }
}

/// The method already passed the door, as this principal.
#[derive(Clone, Debug)]
struct Checked(#[allow(dead_code)] Option<Principal>);

/// Which way a method's messages flow.
#[derive(Clone, Copy, Debug, Default)]
struct Shape {
    client_streaming: bool,
    server_streaming: bool,
    /// Its request holds a `google.api.HttpBody`: an upload, with the upload limit.
    upload: bool,
}

fn shape(path: &str) -> Shape {
    match contract::method(path) {
        Some(method) => Shape {
            client_streaming: method.descriptor.is_client_streaming(),
            server_streaming: method.descriptor.is_server_streaming(),
            upload: method.descriptor.input().fields().any(|field| {
                matches!(field.kind(), prost_reflect::Kind::Message(inner) if inner.full_name() == "google.api.HttpBody")
            }),
        },
        // Reflection (local, a bidirectional stream) and unknown paths.
        None => Shape { client_streaming: is_local(path), server_streaming: is_local(path), upload: false },
    }
}

fn is_local(path: &str) -> bool {
    path.starts_with("/grpc.reflection.") || path.starts_with("/grpc.health.")
}

/// A refusal before any service was asked, in the caller's protocol.
pub fn refusal(error: EdgeError) -> Response<Body> {
    status_response_plain(edge_status(error))
}

fn refusal_for(error: EdgeError, request: &Request<Body>) -> Response<Body> {
    status_response(edge_status(error), request)
}

fn edge_status(error: EdgeError) -> Status {
    match error {
        EdgeError::RateLimited(seconds) => {
            Status::resource_exhausted(format!("too many requests: try again in {seconds} s"))
        }
        EdgeError::Overloaded => Status::unavailable("the shop is busy: try again shortly"),
        EdgeError::TooManyInFlight => {
            Status::resource_exhausted("too many requests in flight from your address: wait for some to finish")
        }
        EdgeError::Status(status) => status,
        other => Status::invalid_argument(other.to_string()),
    }
}

/// A trailers-only answer carrying `status`, framed for grpc-web when the request was.
fn status_response(status: Status, request: &Request<Body>) -> Response<Body> {
    let content_type = request.headers().get(header::CONTENT_TYPE).cloned();
    let mut response = status_response_plain(status);
    if let Some(content_type) = content_type.filter(|ct| ct.as_bytes().starts_with(b"application/grpc-web")) {
        // grpc-web clients read a trailers-only answer from the headers as well.
        response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    }
    response
}

fn status_response_plain(status: Status) -> Response<Body> {
    status.into_http()
}

// === impl Proxy ===

/// Forwards gRPC calls to their service, or answers reflection and health itself.
#[derive(Clone)]
pub struct Proxy {
    inner: Arc<ProxyInner>,
}

struct ProxyInner {
    upstreams: Upstreams,
    limits: CallLimits,
    local: Routes,
}

impl Service<Request<Body>> for Proxy {
    type Response = Response<Body>;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let inner = self.inner.clone();
        Box::pin(async move { Ok(inner.forward(request).await) })
    }
}

impl ProxyInner {
    async fn forward(&self, request: Request<Body>) -> Response<Body> {
        let path = request.uri().path().to_owned();
        if is_local(&path) {
            return match self.local.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
        }
        // Only requests that went through `GrpcDoor::call` carry the mark; anything else
        // (a future caller of `Proxy` directly) is refused rather than let through unchecked.
        if request.extensions().get::<Checked>().is_none() {
            return Status::permission_denied("not checked at the door").into_http();
        }
        let Some(channel) = self.upstreams.for_path(&path) else {
            return Status::unimplemented(format!("{path} is not served here")).into_http();
        };
        let shape = shape(&path);
        let limits = self.limits;
        let (parts, body) = request.into_parts();
        let (body, deadline) = if shape.client_streaming {
            // Messages keep coming for the call's life: passed on as they arrive.
            (Body::new(UnsizedBody(body)), upstream::requested_timeout(&parts.headers))
        } else {
            // One request message: read whole, within the limits, before the service is
            // asked, so a client that never finishes sending holds nothing upstream.
            let limit = if shape.upload { limits.upload_limit } else { limits.body_limit };
            let body = match read_message(body, limit, limits.body_timeout).await {
                Ok(body) => body,
                Err(status) => return status.into_http(),
            };
            let deadline = if shape.server_streaming {
                upstream::requested_timeout(&parts.headers)
            } else {
                Some(upstream::deadline(&parts.headers, limits.default_deadline, limits.max_deadline))
            };
            (Body::new(http_body_util::Full::new(body)), deadline)
        };
        let mut upstream = Request::new(body);
        *upstream.method_mut() = parts.method;
        *upstream.uri_mut() = parts.uri;
        *upstream.version_mut() = http::Version::HTTP_2;
        *upstream.headers_mut() = headers_for_upstream(&parts.headers, deadline);
        let request_id = parts.headers.get(REQUEST_ID).cloned();
        let call = channel.clone().oneshot(upstream);
        // A unary call's answer comes within its deadline (the service enforces it too; this
        // bounds a service that hangs). A stream's headers come at once, then it lives on.
        let bound = if shape.server_streaming { None } else { deadline };
        let answer = match bound {
            Some(deadline) => match tokio::time::timeout(deadline, call).await {
                Ok(answer) => answer,
                Err(_) => return Status::deadline_exceeded("the service did not answer in time").into_http(),
            },
            None => call.await,
        };
        match answer {
            Ok(mut response) => {
                if let Some(id) = request_id {
                    response.headers_mut().insert(REQUEST_ID, id);
                }
                response.map(Body::new)
            }
            Err(error) if is_timeout(&error) => {
                Status::deadline_exceeded("the service did not answer in time").into_http()
            }
            Err(error) => Status::unavailable(format!("the service is unreachable: {error}")).into_http(),
        }
    }
}

/// The request body of a call with one request message, whole: refused past `limit` bytes
/// or when it takes longer than `timeout` to arrive.
async fn read_message(body: Body, limit: usize, timeout: Duration) -> Result<bytes::Bytes, Status> {
    match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Err(_) => Err(Status::deadline_exceeded("the request message did not arrive in time")),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
            Err(Status::resource_exhausted(format!("the request message is larger than the limit of {limit} bytes")))
        }
        Ok(Err(error)) => Err(Status::cancelled(format!("the request could not be read: {error}"))),
    }
}

/// Whether a channel error is its deadline passing.
fn is_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(cause) = source {
        if cause.is::<tonic::TimeoutExpired>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// A body that does not claim a length. grpc-web-text bodies shrink when decoded, but keep
/// the length hint of the base64 they came as; passed on, that hint becomes a
/// `content-length` the service rightly rejects.
struct UnsizedBody(Body);

impl http_body::Body for UnsizedBody {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.0).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }
}

/// The headers a forwarded call carries: the gRPC protocol's own, the forwarded ones, and
/// its `deadline` (none for a stream the client set none for).
fn headers_for_upstream(headers: &HeaderMap, deadline: Option<Duration>) -> HeaderMap {
    let mut out = upstream::forwarded(headers);
    for name in GRPC_HEADERS {
        if let Some(value) = headers.get(&name) {
            out.insert(name, value.clone());
        }
    }
    if let Some(deadline) = deadline {
        let timeout = HeaderValue::from_str(&format!("{}m", deadline.as_millis().max(1)))
            .unwrap_or(HeaderValue::from_static("10S"));
        out.insert("grpc-timeout", timeout);
    }
    out
}

/// The contract's descriptor set without INTERNAL methods: what reflection on the edge
/// shows is what the edge will forward.
pub fn public_descriptor_set() -> Vec<u8> {
    let mut set = prost_types::FileDescriptorSet::decode(mart_proto::FILE_DESCRIPTOR_SET)
        .expect("the built-in descriptor set decodes");
    for file in &mut set.file {
        let package = file.package().to_owned();
        for service in &mut file.service {
            let service_name = format!("{package}.{}", service.name());
            service.method.retain(|method| {
                let path = format!("/{service_name}/{}", method.name());
                contract::method(&path).is_some_and(|m| m.access.is_some_and(|a| a != Access::Internal))
            });
        }
    }
    set.encode_to_vec()
}
