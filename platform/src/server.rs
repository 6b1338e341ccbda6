//! The gRPC server every service runs: its own service(s) behind the access check, plus
//! `grpc.health.v1`, server reflection (so `grpcurl list` works), and per call a server
//! span continuing the caller's trace (`traceparent` in the metadata) and the
//! `mart_rpc_*` metrics.
//!
//! It serves on a listener the caller bound (port 0 in tests) until `shutdown` resolves;
//! then health flips to NOT_SERVING for a short grace, new connections are refused, and
//! calls in flight finish.

use std::{
    convert::Infallible,
    future::Future,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use tokio::net::TcpListener;
use tonic::{body::Body, server::NamedService, service::Routes};
use tonic_health::ServingStatus;
use tracing::Instrument as _;

use crate::{
    auth::{AccessLayer, Verifier},
    config::Service,
    metrics,
    rpc::{grpc_code, record_code, rpc_span},
    tasks::Background,
    telemetry,
};

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The descriptor set did not load into the reflection service.
    #[error("server reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Why a service could not start, or stopped with an error: what every service's `serve`
/// returns.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// Something the service needs before it serves could not be set up: a peer's
    /// address, the mail settings, the payment provider, the bootstrap admin.
    #[error("{what}: {cause}")]
    Setup {
        /// What it was, in the operator's words (`svc-inventory address`).
        what: &'static str,
        /// Why.
        cause: String,
    },
    /// The gRPC server failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

impl StartError {
    /// A `map_err` for setting up `what`: `peers::Catalog::new(..).map_err(StartError::setup("catalog address"))?`.
    pub fn setup<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> Self {
        move |cause| Self::Setup { what, cause: cause.to_string() }
    }
}

/// A gRPC server under construction.
pub struct GrpcServer {
    /// Whose server this is: the `service.name` of its spans, the `service` of its metrics.
    service: &'static str,
    routes: Routes,
    /// Full names of the services added, for health and reflection.
    names: Vec<&'static str>,
    verifier: Arc<Verifier>,
    /// How long health says NOT_SERVING before connections close, so load balancers (and
    /// anyone polling health) see the flip and stop sending new calls.
    drain_grace: Duration,
}

/// The default [`GrpcServer::drain_grace`].
pub const DRAIN_GRACE: Duration = Duration::from_millis(500);

impl GrpcServer {
    /// `service`'s server, checking tokens with `verifier`.
    pub fn new(service: Service, verifier: Arc<Verifier>) -> Self {
        metrics::install();
        Self {
            service: service.process_name(),
            routes: Routes::default(),
            names: Vec::new(),
            verifier,
            drain_grace: DRAIN_GRACE,
        }
    }

    /// How long to report NOT_SERVING before closing connections on shutdown.
    pub fn drain_grace(mut self, grace: Duration) -> Self {
        self.drain_grace = grace;
        self
    }

    /// Adds a generated tonic service (`UserServiceServer::new(api)`).
    pub fn add_service<S>(mut self, service: S) -> Self
    where
        S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes = self.routes.add_service(service);
        self
    }

    /// A service's last step: serves on `listener` until `shutdown` resolves and drains,
    /// then stops the service's `background` loops in their order (see [`Background::stop`]).
    pub async fn serve_then_stop(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
        background: Background,
    ) -> Result<(), StartError> {
        let served = self.serve_watching(listener, shutdown, Some(background.dead())).await;
        background.stop().await;
        Ok(served?)
    }

    /// Serves on `listener` until `shutdown` resolves, then drains.
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
        self.serve_watching(listener, shutdown, None).await
    }

    /// [`Self::serve`], reporting NOT_SERVING once `dead` names a background task that
    /// died: the service still answers, but what it should be doing in the background
    /// (consuming, relaying) has stopped, and health checks must say so.
    async fn serve_watching(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
        dead: Option<tokio::sync::watch::Receiver<Option<String>>>,
    ) -> Result<(), ServeError> {
        let (health, health_service) = tonic_health::server::health_reporter();
        health.set_service_status("", ServingStatus::Serving).await;
        for name in &self.names {
            health.set_service_status(*name, ServingStatus::Serving).await;
        }
        if let Some(mut dead) = dead {
            let (health, names) = (health.clone(), self.names.clone());
            tokio::spawn(async move {
                if dead.wait_for(Option::is_some).await.is_ok() {
                    health.set_service_status("", ServingStatus::NotServing).await;
                    for name in names {
                        health.set_service_status(name, ServingStatus::NotServing).await;
                    }
                }
            });
        }

        let reflection = |builder: tonic_reflection::server::Builder<'static>| {
            let builder = builder
                .register_encoded_file_descriptor_set(mart_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .with_service_name("grpc.health.v1.Health")
                .with_service_name("grpc.reflection.v1.ServerReflection")
                .with_service_name("grpc.reflection.v1alpha.ServerReflection");
            self.names.iter().fold(builder, |builder, name| builder.with_service_name(*name))
        };
        let reflection_v1 = reflection(tonic_reflection::server::Builder::configure()).build_v1()?;
        let reflection_v1alpha = reflection(tonic_reflection::server::Builder::configure()).build_v1alpha()?;

        let names = self.names.clone();
        let grace = self.drain_grace;
        let draining = async move {
            shutdown.await;
            tracing::info!(services = ?names, "shutting down: refusing new calls, finishing those in flight");
            health.set_service_status("", ServingStatus::NotServing).await;
            for name in names {
                health.set_service_status(name, ServingStatus::NotServing).await;
            }
            tokio::time::sleep(grace).await;
        };

        tracing::info!(addr = ?listener.local_addr().ok(), services = ?self.names, "gRPC server listening");
        tonic::transport::Server::builder()
            .layer(ObserveLayer { service: self.service })
            .layer(AccessLayer::new(self.verifier))
            .add_routes(self.routes)
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .serve_with_incoming_shutdown(incoming(listener), draining)
            .await?;
        Ok(())
    }
}

/// Per call: a server span under the caller's trace, adopted by the service, and the
/// `mart_rpc_*` metrics. Housekeeping (health, reflection) is counted but not traced.
#[derive(Clone, Copy)]
struct ObserveLayer {
    service: &'static str,
}

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe { inner, service: self.service }
    }
}

#[derive(Clone)]
struct Observe<S> {
    inner: S,
    service: &'static str,
}

impl<S, B> tower::Service<http::Request<B>> for Observe<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<Body>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let span = if telemetry::is_housekeeping(&path) { tracing::Span::none() } else { rpc_span("server", &path) };
        telemetry::adopt(&span, self.service, telemetry::parent_from_headers(request.headers()));
        let service = self.service;
        let started = Instant::now();
        let call = span.in_scope(|| self.inner.call(request));
        Box::pin(
            async move {
                let result = call.await;
                let code = match &result {
                    Ok(response) => grpc_code(response.headers()),
                    Err(_) => tonic::Code::Unknown,
                };
                record_code(&tracing::Span::current(), code);
                metrics::rpc_served(service, &path, code, started.elapsed());
                result
            }
            .instrument(span),
        )
    }
}

/// The connections of `listener`, with Nagle's algorithm off: gRPC writes a response in
/// several small frames, and Nagle holding the last one back for the peer's delayed ACK
/// costs ~40 ms per call (tonic's own `tcp_nodelay` only applies to listeners it binds).
fn incoming(listener: TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// Resolves on Ctrl-C or SIGTERM: what a binary passes as its shutdown signal.
///
/// The handlers are installed when this is called, not when the future is first polled:
/// a signal that comes in between (say, right after a ready line) must stop the process
/// cleanly, not kill it.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let listen = |kind: SignalKind, name: &'static str| match signal(kind) {
            Ok(signal) => Some(signal),
            Err(error) => {
                tracing::warn!(%error, "cannot listen for {name}");
                None
            }
        };
        let (interrupt, terminate) =
            (listen(SignalKind::interrupt(), "Ctrl-C"), listen(SignalKind::terminate(), "SIGTERM"));
        async move {
            let wait = |signal: Option<tokio::signal::unix::Signal>| async move {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(interrupt) => {}
                () = wait(terminate) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    }
}
