//! The HTTP edge of Online Mart: one door on `MART_HTTP_ADDR` for REST, grpc-web and gRPC,
//! generated from the contract — no REST handler is written per endpoint.
//!
//! A request's way in: a request id is given (or kept), the client is decided ([`client`]:
//! the TCP peer, or behind a trusted proxy the address it forwards), the client's token
//! bucket and the concurrency gate (of which one client holds at most a share) are passed,
//! then by content type it goes to [`grpc`] (native gRPC and grpc-web, forwarded as they
//! are) or to [`rest`] (transcoded through the [`routes`] table by [`transcode`]). Both
//! check the caller's token against the RPC's access option at the door, before any
//! service is touched; the services check again.
//! Edge-only paths: `/healthz` and `/readyz` (answered before the gate, so probes get
//! through a full edge), `/openapi.json` ([`openapi`]), `/docs` ([`docs`]), and the
//! storefront at `/` and the admin console at `/admin/` ([`web`]). `/metrics`
//! is not on this port: it is on `MART_METRICS_ADDR`, which operators keep private.
//!
//! Connections are bounded too: so many open in total and per client, so many HTTP/2
//! streams each, closed when idle.

use std::{
    convert::Infallible,
    future::Future,
    net::{IpAddr, SocketAddr},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use mart_platform::{
    auth::{KeySet, Principal, Verifier},
    metrics, telemetry,
};
use tokio::{sync::watch, task::JoinSet};
use tonic::body::Body;
use tower::{Service, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument as _;

pub mod client;
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
pub mod web;

use client::{CLIENT_IP, ClientKey};
pub use config::{Config, Settings};
use error::EdgeError;
use limits::{ConcurrencyGate, ConnectionLimit, RateLimiter, Refused};
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
    per_ip: Option<RateLimiter<ClientKey>>,
    per_user: Option<RateLimiter<String>>,
    gate: ConcurrencyGate,
    grpc: grpc::GrpcDoor,
    openapi: bytes::Bytes,
    /// The Content-Security-Policy of the storefront's and the admin console's pages.
    page_policy: String,
}

impl Edge {
    /// An edge forwarding to the services at `config.peers` with `config.settings`,
    /// verifying tokens with `keys`.
    pub fn new(config: &Config, keys: Arc<KeySet>) -> Result<Self, StartError> {
        let settings = config.settings.clone();
        let routes = routes::Routes::from_contract()?;
        let upstreams = Upstreams::new(&config.peers)?;
        let verifier = Arc::new(Verifier::for_shop(keys, &config.auth));
        let per_user = settings.rate_per_user.map(RateLimiter::new);
        let grpc =
            grpc::GrpcDoor::new(upstreams.clone(), verifier.clone(), grpc::CallLimits::from_settings(&settings))?;
        let openapi = bytes::Bytes::from(openapi::document(&routes).to_string());
        Ok(Self {
            inner: Arc::new(Inner {
                per_ip: settings.rate_per_ip.map(RateLimiter::new),
                gate: ConcurrencyGate::new(settings.concurrency, settings.concurrency_per_client),
                per_user,
                routes,
                upstreams,
                verifier,
                grpc,
                openapi,
                page_policy: web::content_security_policy(settings.card_payments),
                settings,
            }),
        })
    }

    /// Answers one request from the TCP peer `peer`. Never fails: every problem is an HTTP
    /// answer.
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
        self.start_trace(&span, request.headers_mut());
        // The client address is the edge's to say: whatever a client sent under its name
        // goes, and the services hear the address decided here.
        let client = peer.map(|peer| self.inner.settings.clients.client(peer, request.headers()));
        request.headers_mut().remove(CLIENT_IP);
        if let Some(value) = client.and_then(|ip| HeaderValue::from_str(&ip.to_string()).ok()) {
            request.headers_mut().insert(CLIENT_IP, value);
        }
        let started = std::time::Instant::now();
        let mut response = self.admit(request, client, grpc).instrument(span.clone()).await;
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

    /// Makes `span` the start of the request's trace. A `traceparent` from the internet is
    /// not the edge's to obey (it would let a client force or suppress sampling, or graft
    /// its calls into someone else's trace): unless `MART_EDGE_TRUST_TRACE_CONTEXT` is on,
    /// the edge starts a new trace that links to the client's context, and what the client
    /// sent goes no further.
    fn start_trace(&self, span: &tracing::Span, headers: &mut http::HeaderMap) {
        if self.inner.settings.trust_trace_context {
            telemetry::adopt(span, "edge", telemetry::parent_from_headers(headers));
            return;
        }
        telemetry::new_trace(span, "edge");
        telemetry::link(span, headers.get("traceparent").and_then(|value| value.to_str().ok()));
        headers.remove("traceparent");
        headers.remove("tracestate");
    }

    /// The route a request is counted under: the template it matched (never the raw path,
    /// which would make a series per product id), the gRPC method, or `unmatched`.
    fn route_label<'a>(&self, response: &'a Response<Body>, path: &'a str, grpc: bool) -> &'a str {
        if let Some(rest::MatchedRoute(template)) = response.extensions().get::<rest::MatchedRoute>() {
            return template;
        }
        match path {
            "/healthz" | "/readyz" | "/openapi.json" | "/docs" | "/" | "/admin/" => path,
            _ if path.starts_with("/docs/") => "/docs/*",
            _ if path.starts_with("/assets/") => "/assets/*",
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

    async fn admit(&self, request: Request<Body>, client: Option<IpAddr>, grpc: bool) -> Response<Body> {
        let refuse = |error: EdgeError| if grpc { grpc::refusal(error) } else { error.into_response() };
        let read = request.method() == Method::GET || request.method() == Method::HEAD;
        let probe =
            (!grpc && read).then(|| request.uri().path()).filter(|path| matches!(*path, "/healthz" | "/readyz"));
        // Liveness costs nothing and must answer however busy the edge is, or the
        // orchestrator restarts a healthy pod under attack.
        if probe == Some("/healthz") {
            return error::json_response(StatusCode::OK, br#"{"status":"SERVING"}"#.to_vec());
        }
        let key = client.map(ClientKey::of);
        if let (Some(limiter), Some(key)) = (&self.inner.per_ip, key)
            && let Err(wait) = limiter.check(&key)
        {
            return refuse(EdgeError::RateLimited(wait));
        }
        // Readiness asks the services (so it is rate limited) but not through the gate.
        if probe == Some("/readyz") {
            return self.readiness().await;
        }
        let permit = match self.inner.gate.enter(key) {
            Ok(permit) => permit,
            Err(Refused::Full) => return refuse(EdgeError::Overloaded),
            Err(Refused::ClientShare) => return refuse(EdgeError::TooManyInFlight),
        };
        if grpc {
            self.inner.grpc.call(request, self.principal_limit(), permit).await
        } else {
            let response = self.http(request).await;
            drop(permit);
            response
        }
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
            "/openapi.json" if read => {
                error::bytes_response(StatusCode::OK, "application/json", self.inner.openapi.clone())
            }
            "/docs" | "/docs/" if read => docs::page(),
            _ if read && path.starts_with("/docs/") => docs::asset(&path["/docs/".len()..]),
            _ if read && !path.starts_with("/v1/") => match web::serve(path, &self.inner.page_policy) {
                Some(response) => response,
                None => rest::handle(self, request).await,
            },
            _ => rest::handle(self, request).await,
        }
    }

    /// `/readyz`: every upstream's gRPC health, asked at once, each with a short deadline.
    /// The answer names the services that are down, never where they live (that goes to
    /// the log, for the operator).
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
                if !serving {
                    tracing::warn!(service, address, "an upstream is not serving");
                }
                (service.to_owned(), serving)
            }
        });
        let mut failing: Vec<String> = futures::future::join_all(checks)
            .await
            .into_iter()
            .filter(|(_, serving)| !serving)
            .map(|(service, _)| service)
            .collect();
        if failing.is_empty() {
            error::json_response(StatusCode::OK, br#"{"status":"SERVING"}"#.to_vec())
        } else {
            failing.sort();
            let failing: Vec<_> = failing.iter().map(|service| serde_json::json!({"service": service})).collect();
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
/// grpc-web clients can read them. `*` among them allows every origin; credentials
/// (cookies) are never allowed, which is what makes `*` safe: tokens travel in
/// `authorization`, which a page only has for its own user.
pub fn cors(origins: &[String]) -> CorsLayer {
    let allow_origin = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
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
    let settings = edge.inner.settings.clone();
    let service = edge.service();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT).keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Duration::from_secs(30))
        .max_concurrent_streams(settings.max_streams_per_connection);
    let connections = ConnectionLimit::new(settings.max_connections, settings.max_connections_per_client);
    let (stopping, _) = watch::channel(false);
    let mut open = JoinSet::new();
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
        while open.try_join_next().is_some() {}
        // A trusted proxy carries many clients, so only the total bounds its connections.
        let client = (!settings.clients.is_trusted(peer.ip())).then(|| ClientKey::of(peer.ip()));
        let Some(slot) = connections.admit(client) else {
            tracing::debug!(%peer, "too many connections: closing a new one at once");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let activity = Arc::new(Activity::new());
        let hyper_service = hyper::service::service_fn({
            let activity = activity.clone();
            move |request: Request<hyper::body::Incoming>| {
                let service = service.clone();
                let exchange = Exchange::begin(&activity);
                let request = request.map(Body::new);
                async move {
                    let response = service.oneshot(with_peer(request, peer)).await?;
                    Ok::<_, Infallible>(response.map(|body| Body::new(Tracked { body, _exchange: exchange })))
                }
            }
        });
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), hyper_service).into_owned();
        let (mut stop, idle_timeout) = (stopping.subscribe(), settings.idle_timeout);
        open.spawn(async move {
            let _slot = slot;
            let mut connection = std::pin::pin!(connection);
            let mut closing = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(error) = result {
                            tracing::debug!(%error, "connection ended with an error");
                        }
                        break;
                    }
                    () = activity.idle_for(idle_timeout), if !closing => {
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                    _ = stop.wait_for(|stopping| *stopping), if !closing => {
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
            }
        });
    }
    let _ = stopping.send(true);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async { while open.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!("in-flight requests did not finish in time");
    }
    Ok(())
}

// === impl Activity ===

/// What a connection is doing: how many exchanges (a request and its response, until the
/// response body is done) are under way, and since when none is.
struct Activity {
    in_flight: AtomicUsize,
    idle_since: Mutex<Instant>,
}

impl Activity {
    fn new() -> Self {
        Self { in_flight: AtomicUsize::new(0), idle_since: Mutex::new(Instant::now()) }
    }

    fn idle_since(&self) -> Instant {
        *self.idle_since.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Resolves once the connection has had nothing under way for `timeout`.
    async fn idle_for(&self, timeout: Duration) {
        loop {
            let due = if self.in_flight.load(Ordering::Acquire) > 0 {
                Instant::now() + timeout
            } else {
                let since = self.idle_since();
                if since.elapsed() >= timeout && self.in_flight.load(Ordering::Acquire) == 0 {
                    return;
                }
                since + timeout
            };
            tokio::time::sleep_until(due.into()).await;
        }
    }
}

/// One exchange under way on a connection; the connection is idle again when the last ends.
struct Exchange(Arc<Activity>);

impl Exchange {
    fn begin(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(activity.clone())
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self.0.idle_since.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Instant::now();
        }
    }
}

/// A response body that keeps its exchange under way until it is sent (or dropped).
struct Tracked {
    body: Body,
    _exchange: Exchange,
}

impl http_body::Body for Tracked {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
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
