//! The HTTP edge of Online Mart: one door on `MART_HTTP_ADDR` for REST, grpc-web and gRPC,
//! generated from the contract — no REST handler is written per endpoint.
//!
//! A request's way in: a request id is given (or kept), the client IP's token bucket and
//! the concurrency gate are passed, then by content type it goes to [`grpc`] (native gRPC
//! and grpc-web, forwarded as they are) or to [`rest`] (transcoded through the
//! [`routes`] table by [`transcode`]). Both check the caller's token against the RPC's
//! access option at the door, before any service is touched; the services check again.
//! Edge-only paths: `/healthz`, `/readyz`, `/openapi.json` ([`openapi`]) and `/docs`
//! ([`docs`]).

use std::{
    convert::Infallible,
    future::Future,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
};
use mart_platform::{
    auth::{KeySet, Principal, Verifier},
    metrics, telemetry,
};
use tonic::body::Body;
use tower::{Service, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument as _;

pub mod config;
pub mod docs;
pub mod error;
pub mod grpc;
pub mod limits;
pub mod openapi;
pub mod rest;
pub mod routes;
#[cfg(feature = "test-util")]
pub mod test_client;
pub mod transcode;
pub mod upstream;

pub use config::{Config, Settings};
use error::EdgeError;
use limits::{ConcurrencyGate, RateLimiter};
use upstream::Upstreams;

/// The name of the request-id header, generated when absent and echoed on every response.
pub const REQUEST_ID: &str = "x-request-id";

/// How long a client has to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long in-flight requests may take to finish after shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the edge could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A route template of the contract does not compile.
    #[error(transparent)]
    Routes(#[from] routes::TemplateError),
    /// An upstream address is not usable.
    #[error(transparent)]
    Upstream(#[from] upstream::UpstreamError),
    /// The descriptor set could not be prepared for reflection.
    #[error("reflection: {0}")]
    Reflection(String),
    /// Accepting connections failed.
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
}

/// The edge: everything a request needs, shared by all connections.
#[derive(Clone)]
pub struct Edge {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    routes: routes::Routes,
    upstreams: Upstreams,
    verifier: Arc<Verifier>,
    per_ip: Option<RateLimiter<IpAddr>>,
    per_user: Option<RateLimiter<String>>,
    gate: ConcurrencyGate,
    grpc: grpc::GrpcDoor,
    openapi: bytes::Bytes,
}

impl Edge {
    /// An edge forwarding to the services at `config.peers` with `config.settings`,
    /// verifying tokens with `keys`.
    pub fn new(config: &Config, keys: Arc<KeySet>) -> Result<Self, StartError> {
        let settings = config.settings.clone();
        let routes = routes::Routes::from_contract()?;
        let upstreams = Upstreams::new(&config.peers)?;
        let verifier = Arc::new(Verifier::new(keys, &config.auth.issuer, &config.auth.audience));
        let per_user = settings.rate_per_user.map(RateLimiter::new);
        let grpc = grpc::GrpcDoor::new(upstreams.clone(), verifier.clone(), settings.request_timeout)?;
        let openapi = bytes::Bytes::from(openapi::document(&routes).to_string());
        Ok(Self {
            inner: Arc::new(Inner {
                per_ip: settings.rate_per_ip.map(RateLimiter::new),
                gate: ConcurrencyGate::new(settings.concurrency),
                per_user,
                routes,
                upstreams,
                verifier,
                grpc,
                openapi,
                settings,
            }),
        })
    }

    /// Answers one request from `peer`. Never fails: every problem is an HTTP answer.
    pub async fn handle(&self, mut request: Request<Body>, peer: Option<IpAddr>) -> Response<Body> {
        let request_id = match request.headers().get(REQUEST_ID) {
            Some(id) if !id.is_empty() && id.len() <= 128 => id.clone(),
            _ => {
                let id = HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
                    .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
                request.headers_mut().insert(REQUEST_ID, id.clone());
                id
            }
        };
        let grpc = is_grpc(&request);
        let (method, path) = (request.method().clone(), request.uri().path().to_owned());
        let span = if telemetry::is_housekeeping(&path) {
            tracing::Span::none()
        } else {
            tracing::info_span!(
                "http.server",
                otel.name = %format_args!("{method} {path}"),
                otel.kind = "server",
                otel.status_code = tracing::field::Empty,
                http.request.method = %method,
                url.path = %path,
                http.route = tracing::field::Empty,
                http.response.status_code = tracing::field::Empty,
                request.id = request_id.to_str().unwrap_or_default(),
            )
        };
        telemetry::adopt(&span, "edge", telemetry::parent_from_headers(request.headers()));
        let started = std::time::Instant::now();
        let mut response = self.admit(request, peer, grpc).instrument(span.clone()).await;
        let route = self.route_label(&response, &path, grpc);
        span.record("http.route", route);
        span.record("otel.name", format!("{method} {route}"));
        span.record("http.response.status_code", response.status().as_u16());
        if response.status().is_server_error() {
            span.record("otel.status_code", "ERROR");
        }
        metrics::http_served(route, &method, response.status(), started.elapsed());
        response.headers_mut().insert(REQUEST_ID, request_id);
        response
    }

    /// The route a request is counted under: the template it matched (never the raw path,
    /// which would make a series per product id), the gRPC method, or `unmatched`.
    fn route_label<'a>(&self, response: &'a Response<Body>, path: &'a str, grpc: bool) -> &'a str {
        if let Some(rest::MatchedRoute(template)) = response.extensions().get::<rest::MatchedRoute>() {
            return template;
        }
        match path {
            "/healthz" | "/readyz" | "/metrics" | "/openapi.json" | "/docs" => path,
            _ if path.starts_with("/docs/") => "/docs/*",
            _ if grpc => metrics::method_label(path),
            _ => "unmatched",
        }
    }

    /// The edge as a tower service with its CORS policy: what [`serve`] runs per connection,
    /// and what tests call with `oneshot`. The client's address is read from the [`Peer`]
    /// extension when there is one.
    pub fn service(
        self,
    ) -> impl Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future: Send> + Clone + Send + 'static
    {
        let cors = cors(&self.inner.settings.cors_origins);
        tower::ServiceBuilder::new().layer(cors).service(tower::service_fn(move |request: Request<Body>| {
            let edge = self.clone();
            async move {
                let peer = request.extensions().get::<Peer>().map(|peer| peer.0);
                Ok::<_, Infallible>(edge.handle(request, peer).await)
            }
        }))
    }

    async fn admit(&self, request: Request<Body>, peer: Option<IpAddr>, grpc: bool) -> Response<Body> {
        let refuse = |error: EdgeError| if grpc { grpc::refusal(error) } else { error.into_response() };
        if let (Some(limiter), Some(ip)) = (&self.inner.per_ip, peer)
            && let Err(wait) = limiter.check(&ip)
        {
            return refuse(EdgeError::RateLimited(wait));
        }
        let Some(_permit) = self.inner.gate.enter() else {
            return refuse(EdgeError::Overloaded);
        };
        if grpc { self.inner.grpc.call(request, self.principal_limit()).await } else { self.http(request).await }
    }

    fn principal_limit(&self) -> grpc::PrincipalLimit<'_> {
        grpc::PrincipalLimit(self.inner.per_user.as_ref())
    }

    /// Checks the per-account bucket of a signed-in caller.
    fn check_principal(&self, principal: Option<&Principal>) -> Result<(), EdgeError> {
        self.principal_limit().check(principal)
    }

    async fn http(&self, request: Request<Body>) -> Response<Body> {
        let path = request.uri().path();
        let read = request.method() == Method::GET || request.method() == Method::HEAD;
        match path {
            "/healthz" if read => error::json_response(StatusCode::OK, br#"{"status":"SERVING"}"#.to_vec()),
            "/readyz" if read => self.readiness().await,
            "/metrics" if read => error::bytes_response(
                StatusCode::OK,
                "text/plain; version=0.0.4; charset=utf-8",
                bytes::Bytes::from(metrics::render().await),
            ),
            "/openapi.json" if read => {
                error::bytes_response(StatusCode::OK, "application/json", self.inner.openapi.clone())
            }
            "/docs" | "/docs/" if read => docs::page(),
            _ if read && path.starts_with("/docs/") => docs::asset(&path["/docs/".len()..]),
            _ => rest::handle(self, request).await,
        }
    }

    /// `/readyz`: every upstream's gRPC health, asked at once, each with a short deadline.
    async fn readiness(&self) -> Response<Body> {
        let checks = self.inner.upstreams.iter().map(|(service, channel, address)| {
            let channel = channel.untraced();
            async move {
                let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
                let request = tonic_health::pb::HealthCheckRequest { service: String::new() };
                let answer = tokio::time::timeout(Duration::from_secs(1), client.check(request)).await;
                let serving = matches!(
                    &answer,
                    Ok(Ok(response)) if response.get_ref().status
                        == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
                );
                (service.to_owned(), address.to_owned(), serving)
            }
        });
        let results = futures::future::join_all(checks).await;
        let failing: Vec<_> = results
            .iter()
            .filter(|(_, _, serving)| !serving)
            .map(|(service, address, _)| serde_json::json!({"service": service, "address": address}))
            .collect();
        if failing.is_empty() {
            error::json_response(StatusCode::OK, br#"{"status":"SERVING"}"#.to_vec())
        } else {
            let body = serde_json::json!({"status": "NOT_SERVING", "failing": failing});
            error::json_response(StatusCode::SERVICE_UNAVAILABLE, body.to_string().into_bytes())
        }
    }
}

fn is_grpc<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/grpc"))
}

/// The CORS policy for `origins`: preflight answered, gRPC status headers exposed so
/// grpc-web clients can read them.
pub fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            http::HeaderName::from_static("idempotency-key"),
            http::HeaderName::from_static("x-request-id"),
            http::HeaderName::from_static("x-grpc-web"),
            http::HeaderName::from_static("x-user-agent"),
            http::HeaderName::from_static("grpc-timeout"),
            http::HeaderName::from_static("traceparent"),
            http::HeaderName::from_static("tracestate"),
        ])
        .expose_headers([
            http::HeaderName::from_static("grpc-status"),
            http::HeaderName::from_static("grpc-message"),
            http::HeaderName::from_static("grpc-status-details-bin"),
            http::HeaderName::from_static("x-request-id"),
            header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(600))
}

/// Serves `edge` on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish (up to a bound) and returns. HTTP/1.1 and HTTP/2 (cleartext, prior knowledge, as
/// gRPC clients speak it) on the same port.
pub async fn serve(
    edge: Edge,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let service = edge.service();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT).keep_alive(true);
    builder.http2().timer(TokioTimer::new()).keep_alive_interval(Duration::from_secs(30)).max_concurrent_streams(1024);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let hyper_service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
            let service = service.clone();
            let request = request.map(Body::new);
            async move { service.oneshot(with_peer(request, peer)).await }
        });
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), hyper_service);
        let connection = graceful.watch(connection.into_owned());
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => tracing::warn!("in-flight requests did not finish in time"),
    }
    Ok(())
}

/// The CORS layer wraps a service of plain requests; the peer address rides along in the
/// request's extensions and is taken out again below it.
fn with_peer(mut request: Request<Body>, peer: SocketAddr) -> Request<Body> {
    request.extensions_mut().insert(Peer(peer.ip()));
    request
}

/// The address of the client a request came from.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub IpAddr);
