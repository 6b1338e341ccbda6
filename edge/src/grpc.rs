//! gRPC and grpc-web on the edge's port: reflection and health answered here (from the
//! contract's descriptor set, with INTERNAL methods taken out), every other call checked at
//! the door and forwarded as it is — frames, streams and trailers — to the owning service.
//! grpc-web requests are turned into gRPC on the way in and back on the way out (tonic-web).

use std::{sync::Arc, time::Duration};

use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, header};
use mart_platform::auth::{self, Principal, Verifier};
use mart_proto::contract::{self, Access};
use prost::Message;
use tonic::{Status, body::Body, service::Routes};
use tonic_web::{GrpcWebLayer, GrpcWebService};
use tower::{Layer, Service, ServiceExt};

use crate::{
    REQUEST_ID,
    error::EdgeError,
    limits::RateLimiter,
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

impl GrpcDoor {
    /// Forwards to `upstreams`, checking tokens with `verifier`; `deadline` for calls that
    /// set none.
    pub fn new(upstreams: Upstreams, verifier: Arc<Verifier>, deadline: Duration) -> Result<Self, crate::StartError> {
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
        let proxy = Proxy { inner: Arc::new(ProxyInner { upstreams, deadline, local }) };
        Ok(Self { web: GrpcWebLayer::new().layer(proxy), verifier })
    }

    /// Answers a gRPC or grpc-web request. Never fails: problems are gRPC statuses.
    pub async fn call(&self, mut request: Request<Body>, limit: PrincipalLimit<'_>) -> Response<Body> {
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
        match self.web.clone().oneshot(request).await {
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
    deadline: Duration,
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
        let (parts, body) = request.into_parts();
        let mut upstream = Request::new(Body::new(UnsizedBody(body)));
        *upstream.method_mut() = parts.method;
        *upstream.uri_mut() = parts.uri;
        *upstream.version_mut() = http::Version::HTTP_2;
        *upstream.headers_mut() = headers_for_upstream(&parts.headers, self.deadline);
        let request_id = parts.headers.get(REQUEST_ID).cloned();
        match channel.clone().oneshot(upstream).await {
            Ok(mut response) => {
                if let Some(id) = request_id {
                    response.headers_mut().insert(REQUEST_ID, id);
                }
                response.map(Body::new)
            }
            Err(error) => Status::unavailable(format!("the service is unreachable: {error}")).into_http(),
        }
    }
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

/// The headers a forwarded call carries: the gRPC protocol's own, the forwarded ones, and a
/// deadline (the caller's, else the edge's default).
fn headers_for_upstream(headers: &HeaderMap, deadline: Duration) -> HeaderMap {
    let mut out = upstream::forwarded(headers);
    for name in GRPC_HEADERS {
        if let Some(value) = headers.get(&name) {
            out.insert(name, value.clone());
        }
    }
    let timeout = match headers.get("grpc-timeout") {
        Some(value) if upstream::requested_timeout(headers).is_some() => value.clone(),
        _ => HeaderValue::from_str(&format!("{}m", deadline.as_millis())).unwrap_or(HeaderValue::from_static("10S")),
    };
    out.insert("grpc-timeout", timeout);
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
