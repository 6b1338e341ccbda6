//! Prometheus metrics: one process-wide registry ([`install`]), served as text at
//! `/metrics` by the edge and, when `MART_METRICS_ADDR` is set, by a service's own small
//! listener ([`serve`]). Every series carries the `service` it belongs to, so the services
//! of `mart up` share one registry without mixing.
//!
//! What is counted as it happens: RPCs served and made (rate, errors by code, duration),
//! REST requests at the edge, events handled by outcome (dead letters included) with their
//! end-to-end lag, handler failures, relay rounds. What is sampled when scraped
//! ([`Probe`]s): outbox backlog and the age of its oldest row, consumer lag per partition,
//! database pool use.

use std::{
    collections::BTreeMap,
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use futures::future::BoxFuture;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::{
    bus::{EventBus, Outcome},
    error::code_name,
};

/// Latency buckets (seconds) for every `_seconds` histogram: 1 ms to 10 s.
const LATENCY_BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Probes run at most this often, however often `/metrics` is asked: they query databases
/// and the bus, and the edge's `/metrics` is on its public port.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// Installs the process-wide recorder (the first call does; later ones return the same
/// handle). `None` when another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &LATENCY_BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!("mart_rpc_requests_total", "gRPC calls served, by service, method and status code");
    describe_histogram!("mart_rpc_duration_seconds", metrics::Unit::Seconds, "Time to answer a served gRPC call");
    describe_counter!("mart_rpc_client_requests_total", "gRPC calls made to other services, by method and code");
    describe_histogram!("mart_rpc_client_duration_seconds", metrics::Unit::Seconds, "Time for a gRPC call to a peer");
    describe_counter!("mart_http_requests_total", "HTTP requests at the edge, by route and status");
    describe_histogram!("mart_http_duration_seconds", metrics::Unit::Seconds, "Time to answer an HTTP request");
    describe_counter!("mart_events_total", "Events finished by a consumer group, by outcome");
    describe_counter!("mart_dead_letters_total", "Events sent to a dead-letter topic");
    describe_histogram!(
        "mart_event_lag_seconds",
        metrics::Unit::Seconds,
        "From the writing commit to the handled event"
    );
    describe_counter!(
        "mart_event_handler_failures_total",
        "Failed handler attempts (each is retried or dead-lettered)"
    );
    describe_counter!("mart_relay_events_total", "Outbox rows shipped to the bus");
    describe_counter!("mart_relay_failures_total", "Relay rounds the bus refused");
    describe_gauge!("mart_outbox_unsent", "Outbox rows not yet on the bus");
    describe_gauge!("mart_outbox_oldest_unsent_seconds", "Age of the oldest unsent outbox row");
    describe_gauge!("mart_consumer_lag", "Events waiting for a consumer group, per partition");
    describe_gauge!("mart_db_pool_connections", "Database pool connections, idle or in use");
}

/// The Prometheus text of every metric, after sampling every [`Probe`].
pub async fn render() -> String {
    let Some(handle) = install() else {
        return "# metrics are recorded by another recorder in this process\n".to_owned();
    };
    static LAST_SAMPLED: Mutex<Option<tokio::time::Instant>> = Mutex::new(None);
    let due = LAST_SAMPLED.lock().map(|mut last| {
        let due = last.is_none_or(|at| at.elapsed() >= PROBE_INTERVAL);
        if due {
            *last = Some(tokio::time::Instant::now());
        }
        due
    });
    if due.unwrap_or(true) {
        let probes: Vec<Arc<dyn Probe>> =
            probes().lock().map(|probes| probes.values().cloned().collect()).unwrap_or_default();
        // A probe that hangs (a database that does not answer) must not hang the scrape.
        let sampled = futures::future::join_all(probes.iter().map(|probe| probe.sample()));
        if tokio::time::timeout(Duration::from_secs(5), sampled).await.is_err() {
            tracing::warn!("a metrics probe took over 5 s; rendering what is known");
        }
    }
    handle.run_upkeep();
    handle.render()
}

/// Answers `GET /metrics` on `listener` until `shutdown` resolves.
pub async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()>) {
    install();
    tracing::info!(addr = ?listener.local_addr().ok(), "metrics listening on /metrics");
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "metrics listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        tokio::spawn(async move {
            let service = hyper::service::service_fn(answer);
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
        });
    }
}

/// Binds `addr` and serves `/metrics` there in the background until `shutdown`.
pub async fn spawn_listener(
    addr: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = TcpListener::bind(addr).await?;
    Ok(tokio::spawn(serve(listener, shutdown)))
}

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => text_response(StatusCode::OK, render().await),
        (_, "/metrics") => text_response(StatusCode::METHOD_NOT_ALLOWED, "only GET\n".to_owned()),
        _ => text_response(StatusCode::NOT_FOUND, "metrics are at /metrics\n".to_owned()),
    };
    Ok(response)
}

fn text_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

// === probes: figures sampled when scraped ===

/// A figure read at scrape time (it costs a query, so only when somebody asks).
pub trait Probe: Send + Sync + 'static {
    /// Reads the figure and sets its gauges.
    fn sample(&self) -> BoxFuture<'_, ()>;
}

fn probes() -> &'static Mutex<BTreeMap<String, Arc<dyn Probe>>> {
    static PROBES: OnceLock<Mutex<BTreeMap<String, Arc<dyn Probe>>>> = OnceLock::new();
    PROBES.get_or_init(Mutex::default)
}

/// Keeps a probe registered; dropping it unregisters the probe (a service that stops
/// inside `mart up` stops being sampled).
#[derive(Debug)]
pub struct ProbeGuard(String);

impl Drop for ProbeGuard {
    fn drop(&mut self) {
        if let Ok(mut probes) = probes().lock() {
            probes.remove(&self.0);
        }
    }
}

/// Samples `probe` at every scrape, under `key` (a later probe with the same key replaces it).
pub fn register(key: String, probe: Arc<dyn Probe>) -> ProbeGuard {
    install();
    if let Ok(mut probes) = probes().lock() {
        probes.insert(key.clone(), probe);
    }
    ProbeGuard(key)
}

/// A service's database: its pool and its outbox backlog.
pub struct DatabaseProbe {
    /// `svc-order`, …
    pub service: &'static str,
    /// The service's database.
    pub db: DatabaseConnection,
}

impl Probe for DatabaseProbe {
    fn sample(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let service = self.service;
            let (size, idle) = pool_use(&self.db);
            metrics::gauge!("mart_db_pool_connections", "service" => service, "state" => "idle").set(idle as f64);
            metrics::gauge!("mart_db_pool_connections", "service" => service, "state" => "in_use")
                .set(size.saturating_sub(idle as u32) as f64);
            match crate::outbox::relay::lag(&self.db).await {
                Ok(lag) => {
                    metrics::gauge!("mart_outbox_unsent", "service" => service).set(lag.unsent as f64);
                    metrics::gauge!("mart_outbox_oldest_unsent_seconds", "service" => service)
                        .set(lag.oldest.unwrap_or_default().as_secs_f64());
                }
                Err(error) => tracing::warn!(service, %error, "metrics: cannot read the outbox backlog"),
            }
        })
    }
}

fn pool_use(db: &DatabaseConnection) -> (u32, usize) {
    match db {
        DatabaseConnection::SqlxPostgresPoolConnection(_) => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DatabaseConnection::SqlxSqlitePoolConnection(_) => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    }
}

/// A consumer group's lag on its topics.
pub struct ConsumerLagProbe {
    /// `svc-order`, …
    pub service: &'static str,
    /// The bus.
    pub bus: EventBus,
    /// The group.
    pub group: String,
    /// Its topics.
    pub topics: Vec<String>,
}

impl Probe for ConsumerLagProbe {
    fn sample(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            match self.bus.consumer_lag(&self.group, &self.topics).await {
                Ok(partitions) => {
                    for partition in partitions {
                        metrics::gauge!(
                            "mart_consumer_lag",
                            "service" => self.service,
                            "group" => self.group.clone(),
                            "topic" => partition.topic,
                            "partition" => partition.partition.to_string(),
                        )
                        .set(partition.waiting as f64);
                    }
                }
                Err(error) => tracing::warn!(group = self.group, %error, "metrics: cannot read consumer lag"),
            }
        })
    }
}

// === the bus's own reports ===

/// What the bus reports ([`crate::bus::Metrics`]), as counters and histograms of `service`.
#[derive(Clone, Copy, Debug)]
pub struct BusMetrics {
    /// `svc-order`, …
    pub service: &'static str,
}

impl crate::bus::Metrics for BusMetrics {
    fn event_finished(&self, group: &str, topic: &str, outcome: Outcome, since_written: Duration) {
        let outcome_label = match outcome {
            Outcome::Handled => "handled",
            Outcome::Duplicate => "duplicate",
            Outcome::DeadLettered => "dead_lettered",
        };
        let (service, group, topic) = (self.service, group.to_owned(), topic.to_owned());
        metrics::counter!("mart_events_total", "service" => service, "group" => group.clone(), "topic" => topic.clone(), "outcome" => outcome_label).increment(1);
        match outcome {
            Outcome::Handled => {
                metrics::histogram!("mart_event_lag_seconds", "service" => service, "group" => group, "topic" => topic)
                    .record(since_written.as_secs_f64());
            }
            Outcome::DeadLettered => {
                metrics::counter!("mart_dead_letters_total", "service" => service, "group" => group, "topic" => topic)
                    .increment(1);
            }
            Outcome::Duplicate => {}
        }
    }

    fn handler_failed(&self, group: &str, topic: &str) {
        metrics::counter!("mart_event_handler_failures_total", "service" => self.service, "group" => group.to_owned(), "topic" => topic.to_owned()).increment(1);
    }

    fn relay_shipped(&self, count: usize) {
        metrics::counter!("mart_relay_events_total", "service" => self.service).increment(count as u64);
    }

    fn relay_failed(&self) {
        metrics::counter!("mart_relay_failures_total", "service" => self.service).increment(1);
    }
}

/// The gRPC methods that are not in the contract but are served: health and reflection.
const INFRASTRUCTURE_METHODS: [&str; 4] = [
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// The `method` label of a gRPC path: the path when it names a method that exists, else
/// `unknown`. Anyone can send any path; a series per made-up path would grow without end.
pub fn method_label(path: &str) -> &str {
    if mart_proto::contract::method(path).is_some() || INFRASTRUCTURE_METHODS.contains(&path) {
        path
    } else {
        "unknown"
    }
}

/// The `method` label of an HTTP request: the standard methods, else `_OTHER` (any token is
/// a valid method to hyper).
pub fn http_method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "_OTHER",
    }
}

/// Counts an event `group` refused as not belonging on `topic` (an alert: someone wrote
/// where they should not, or a producer is misrouting).
pub fn event_refused(group: &str, topic: &str) {
    metrics::counter!("mart_events_refused_total", "group" => group.to_owned(), "topic" => topic.to_owned())
        .increment(1);
}

/// Counts a money event that did not match what it is about (an alert: a forged or
/// misrouted payment): `mart_payment_mismatches_total`.
pub fn payment_mismatch(service: &'static str) {
    metrics::counter!("mart_payment_mismatches_total", "service" => service).increment(1);
}

/// Counts a call to the payment provider by what came of it (`ok`, `retry`: unavailable,
/// tried again later; `abandoned`: refused for good or unavailable past the retry window —
/// an alert, a human looks): `mart_provider_calls_total`.
pub fn provider_call(kind: &'static str, outcome: &'static str) {
    metrics::counter!("mart_provider_calls_total", "kind" => kind, "outcome" => outcome).increment(1);
}

/// Counts a background task of `service` (a consumer, the relay, a loop) that died.
pub fn task_failed(service: &'static str, task: &str) {
    metrics::counter!("mart_background_task_failures_total", "service" => service, "task" => task.to_owned())
        .increment(1);
}

/// Records one served gRPC call.
pub fn rpc_served(service: &'static str, method: &str, code: tonic::Code, elapsed: Duration) {
    let method = method_label(method).to_owned();
    metrics::counter!("mart_rpc_requests_total", "service" => service, "method" => method.clone(), "code" => code_name(code)).increment(1);
    metrics::histogram!("mart_rpc_duration_seconds", "service" => service, "method" => method)
        .record(elapsed.as_secs_f64());
}

/// Records one gRPC call made to a peer.
pub fn rpc_made(service: &'static str, method: &str, code: tonic::Code, elapsed: Duration) {
    let method = method_label(method).to_owned();
    metrics::counter!("mart_rpc_client_requests_total", "service" => service, "method" => method.clone(), "code" => code_name(code)).increment(1);
    metrics::histogram!("mart_rpc_client_duration_seconds", "service" => service, "method" => method)
        .record(elapsed.as_secs_f64());
}

/// Records one HTTP request at the edge; `route` is the template, never the raw path.
pub fn http_served(route: &str, method: &Method, status: StatusCode, elapsed: Duration) {
    let (route, method) = (route.to_owned(), http_method_label(method));
    metrics::counter!("mart_http_requests_total", "service" => "edge", "route" => route.clone(), "method" => method, "status" => status.as_u16().to_string()).increment(1);
    metrics::histogram!("mart_http_duration_seconds", "service" => "edge", "route" => route, "method" => method)
        .record(elapsed.as_secs_f64());
}
