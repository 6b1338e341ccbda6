//! Logs and traces: `tracing` with a `RUST_LOG` filter, as text or JSON lines, every line
//! carrying the trace and span ids; spans exported over OTLP (to Jaeger) when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
//!
//! Trace context is W3C `traceparent`/`tracestate` wherever work crosses a boundary: gRPC
//! metadata ([`inject`], [`parent_from_headers`]), outbox rows and bus headers
//! ([`current_trace_context`], [`remote_parent`]). So one checkout is one trace, whichever
//! process each step runs in.
//!
//! Each service reports under its own `service.name` (`svc-order`, `edge`), also when
//! several run in one process (`mart up`): the span that starts a service's work (an
//! incoming call, an event, a relay round) is [`adopt`]ed by that service, and every span
//! under it is exported by that service's tracer provider.
//!
//! Without an endpoint there is no OpenTelemetry layer at all: spans are what the log lines
//! need and no more, nothing gets ids, propagated or sent. Unset costs nothing (the edge
//! bench measures it against no subscriber at all).

use std::{collections::HashMap, fmt, sync::Arc, time::Duration};

use opentelemetry::{
    Context, KeyValue,
    propagation::{Extractor, Injector, TextMapPropagator},
    trace::{SpanBuilder, TraceContextExt, TracerProvider as _},
};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig as _};
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    trace::{Sampler, SdkTracer, SdkTracerProvider},
};
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{
    EnvFilter, Layer,
    fmt::{FmtContext, FormatEvent, FormatFields, format::Writer},
    layer::SubscriberExt,
    registry::LookupSpan,
    util::SubscriberInitExt,
};

use crate::config::{LogFormat, OtlpProtocol, TelemetryConfig};

/// The tracer providers of this process; [`Telemetry::shutdown`] flushes what they hold.
#[must_use = "call shutdown() before exiting, or the last spans are lost"]
pub struct Telemetry {
    providers: Vec<SdkTracerProvider>,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry").field("providers", &self.providers.len()).finish()
    }
}

impl Telemetry {
    /// Exports every span still waiting in a batch, then stops the exporters. Call it once
    /// the servers have drained.
    pub async fn shutdown(self) {
        if self.providers.is_empty() {
            return;
        }
        // The SDK blocks while the batch threads export, and the gRPC exporter's I/O runs on
        // this runtime: block on a thread of its own, not on a worker.
        // All at once (`mart up` has one per service), each bounded: a collector that is
        // down costs the same 5 s however many providers wait for it.
        let flushed = tokio::task::spawn_blocking(move || {
            std::thread::scope(|scope| {
                for provider in &self.providers {
                    scope.spawn(move || {
                        if let Err(error) = provider.shutdown_with_timeout(Duration::from_secs(5)) {
                            eprintln!("telemetry: flushing spans failed: {error}");
                        }
                    });
                }
            });
        });
        let _ = flushed.await;
    }
}

/// Installs the global subscriber for a process running `services` (the first one is the
/// name of spans that no service adopted: the binary itself). Calling it twice (tests, or
/// several services in one process) keeps the first subscriber and returns an empty
/// [`Telemetry`].
pub fn init(config: &TelemetryConfig, services: &[&'static str]) -> Telemetry {
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|error| {
        eprintln!("RUST_LOG={:?} is not a valid filter ({error}); using `info`", config.log_filter);
        EnvFilter::new("info")
    });
    if tracing::dispatcher::has_been_set() {
        return Telemetry { providers: Vec::new() };
    }

    // No endpoint, no OpenTelemetry layer: spans cost only what the log lines ask for.
    let (tracers, providers) = match tracers(config, services) {
        Ok(Some((tracers, providers))) => (Some(tracers), providers),
        Ok(None) => (None, Vec::new()),
        Err(error) => {
            eprintln!("telemetry: cannot export traces to {:?}: {error}", config.otlp_endpoint);
            (None, Vec::new())
        }
    };
    let installed = subscriber(filter, tracers, config.log_format, std::io::stdout).try_init();
    if installed.is_err() {
        return Telemetry { providers: Vec::new() };
    }
    Telemetry { providers }
}

/// What becomes a span (and a span event) whatever `RUST_LOG` says: a quieter log must not
/// make traces lose their spans, nor a chattier one fill them with library internals.
const SPAN_FILTER: &str = "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn";

/// The layers: spans to OpenTelemetry (through `tracers`), and log lines in `format` with
/// trace ids, written to `writer`, each with its own filter (`log_filter` for the lines).
fn subscriber<W>(
    log_filter: EnvFilter,
    tracers: Option<Tracers>,
    format: LogFormat,
    writer: W,
) -> impl Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let otel = tracers.map(|tracers| {
        // Per span, only what a trace reader uses: no busy/idle timings, thread, source
        // location or target (each is work and allocation on every span of every call).
        tracing_opentelemetry::layer()
            .with_tracer(tracers)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_location(false)
            .with_target(false)
            .with_filter(EnvFilter::new(SPAN_FILTER))
    });
    let fmt = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(false)
            .event_format(WithTraceIds::text())
            .boxed(),
        LogFormat::Json => {
            // The JSON line formats span fields as JSON too: the fields formatter must match.
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
                .event_format(WithTraceIds::json())
                .boxed()
        }
    };
    tracing_subscriber::registry().with(otel).with(fmt.with_filter(log_filter))
}

fn tracers(
    config: &TelemetryConfig,
    services: &[&'static str],
) -> Result<Option<(Tracers, Vec<SdkTracerProvider>)>, opentelemetry_otlp::ExporterBuildError> {
    let Some(endpoint) = &config.otlp_endpoint else {
        return Ok(None);
    };
    let mut providers = Vec::new();
    let mut by_service = HashMap::new();
    for service in services.iter().copied() {
        let exporter = match config.otlp_protocol {
            OtlpProtocol::Grpc => {
                opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(endpoint.clone()).build()?
            }
            OtlpProtocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                // As the variable's specification says: the signal's path goes after the base.
                .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
                .with_headers(HashMap::new())
                .build()?,
        };
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            // The sampler is the SDK's: ParentBased(AlwaysOn) unless OTEL_TRACES_SAMPLER
            // (and OTEL_TRACES_SAMPLER_ARG) say otherwise, as everywhere in OpenTelemetry.
            .with_resource(
                Resource::builder_empty()
                    .with_service_name(service)
                    .with_attribute(KeyValue::new("service.namespace", "mart"))
                    .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
                    .build(),
            )
            .build();
        by_service.insert(service, provider.tracer("mart"));
        providers.push(provider);
    }
    let default = services.first().and_then(|name| by_service.get(name).cloned()).unwrap_or_else(silent_tracer);
    Ok(Some((Tracers { default, by_service: Arc::new(by_service) }, providers)))
}

fn silent_tracer() -> SdkTracer {
    // No processor and nothing sampled: ids for propagation and logs, nothing recorded.
    SdkTracerProvider::builder().with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOff))).build().tracer("mart")
}

/// Which service a span's work belongs to, carried in the OpenTelemetry context from the
/// span that a service [`adopt`]ed down to every span under it.
#[derive(Clone, Copy, Debug)]
struct ServiceTag(&'static str);

/// One tracer per service; a span goes to the tracer of the service its context names.
#[derive(Clone)]
struct Tracers {
    default: SdkTracer,
    by_service: Arc<HashMap<&'static str, SdkTracer>>,
}

impl Tracers {
    /// Ids without recording: what the tests of log lines use.
    #[cfg(test)]
    fn silent() -> Self {
        Self { default: silent_tracer(), by_service: Arc::default() }
    }
}

impl opentelemetry::trace::Tracer for Tracers {
    type Span = opentelemetry_sdk::trace::Span;

    fn build_with_context(&self, builder: SpanBuilder, parent_cx: &Context) -> Self::Span {
        let tracer = parent_cx
            .get::<ServiceTag>()
            .and_then(|ServiceTag(service)| self.by_service.get(service))
            .unwrap_or(&self.default);
        tracer.build_with_context(builder, parent_cx)
    }
}

// === propagation ===

/// `span` starts a piece of `service`'s work (an incoming call, an event, a background
/// round), as a child of `parent` (a remote context from [`parent_from_headers`] or
/// [`remote_parent`]; `Context::new()` starts a new trace). Call it right after creating
/// the span, before anything runs in it.
pub fn adopt(span: &tracing::Span, service: &'static str, parent: Context) {
    let _ = span.set_parent(parent.with_value(ServiceTag(service)));
}

/// Whether requests for `path` go untraced: health checks, readiness, scrapes and
/// reflection come every few seconds from machines and would bury the traces worth reading
/// (they are still counted in the metrics).
pub fn is_housekeeping(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
        || path.starts_with("/grpc.health.")
        || path.starts_with("/grpc.reflection.")
}

/// `span` starts a new trace of `service`'s own (a background round: a sweep, a timer).
pub fn new_trace(span: &tracing::Span, service: &'static str) {
    adopt(span, service, Context::new());
}

/// The remote parent described by W3C `traceparent` (and `tracestate`), or an empty
/// context when there is none or it does not parse.
pub fn remote_parent(traceparent: Option<&str>, tracestate: Option<&str>) -> Context {
    let Some(traceparent) = traceparent else { return Context::new() };
    let mut carrier = HashMap::new();
    carrier.insert("traceparent".to_owned(), traceparent.to_owned());
    if let Some(tracestate) = tracestate {
        carrier.insert("tracestate".to_owned(), tracestate.to_owned());
    }
    TraceContextPropagator::new().extract_with_context(&Context::new(), &carrier)
}

/// The remote parent in request headers (or gRPC metadata).
pub fn parent_from_headers(headers: &http::HeaderMap) -> Context {
    TraceContextPropagator::new().extract_with_context(&Context::new(), &HeaderCarrier(headers))
}

/// Writes `span`'s context into outgoing headers (or gRPC metadata), replacing any there.
pub fn inject(span: &tracing::Span, headers: &mut http::HeaderMap) {
    let context = span.context();
    if context.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
    }
}

/// The W3C `traceparent` and `tracestate` of the current span, for work that continues
/// later elsewhere (an outbox row); `None` outside any span or without telemetry.
pub fn current_trace_context() -> Option<(String, Option<String>)> {
    let context = tracing::Span::current().context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier: HashMap<String, String> = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    let traceparent = carrier.remove("traceparent")?;
    let tracestate = carrier.remove("tracestate").filter(|state| !state.is_empty());
    Some((traceparent, tracestate))
}

/// `span` continues the trace that `traceparent` names (work that belongs to a story begun
/// earlier, say a payment confirmed long after its checkout), linked to the current span
/// that caused it now. It stays the current service's.
pub fn resume(span: &tracing::Span, traceparent: &str) {
    let parent = remote_parent(Some(traceparent), None);
    if !parent.span().span_context().is_valid() {
        return;
    }
    let current = tracing::Span::current().context();
    let cause = current.span().span_context().clone();
    if cause.trace_id() == parent.span().span_context().trace_id() {
        // Still inside that story: the current span is the better parent.
        return;
    }
    let parent = match current.get::<ServiceTag>() {
        Some(tag) => parent.with_value(*tag),
        None => parent,
    };
    let _ = span.set_parent(parent);
    if cause.is_valid() {
        span.add_link(cause);
    }
}

/// Links `span` to the trace that `traceparent` names (a batch span and the events in it).
pub fn link(span: &tracing::Span, traceparent: Option<&str>) {
    let remote = remote_parent(traceparent, None);
    let context = remote.span().span_context().clone();
    if context.is_valid() {
        span.add_link(context);
    }
}

/// The trace id of `span`, as 32 hex digits, when it has one.
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then(|| span_context.trace_id().to_string())
}

struct HeaderCarrier<'a>(&'a http::HeaderMap);

impl Extractor for HeaderCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) =
            (http::HeaderName::from_bytes(key.as_bytes()), http::HeaderValue::from_str(&value))
        {
            self.0.insert(name, value);
        }
    }
}

// === log lines with trace ids ===

/// The standard text or JSON line, with `trace_id` and `span_id` of the current span
/// appended, so a log line leads to its trace and the lines of one request to each other.
struct WithTraceIds {
    json: bool,
    text: tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Full>,
    json_format: tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Json>,
}

impl WithTraceIds {
    fn text() -> Self {
        Self::new(false)
    }

    fn json() -> Self {
        Self::new(true)
    }

    fn new(json: bool) -> Self {
        Self {
            json,
            text: tracing_subscriber::fmt::format(),
            json_format: tracing_subscriber::fmt::format().json().flatten_event(true).with_current_span(true),
        }
    }
}

impl<S, N> FormatEvent<S, N> for WithTraceIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        // Entering a span activates its OpenTelemetry context (the layer does it), so the
        // current context is the current span's.
        let current = Context::current();
        let ids = Some(current.span().span_context().clone()).filter(|context| context.is_valid());

        let mut line = String::new();
        // Plain text: the ids are appended to the line, so it is written uncoloured.
        let inner = Writer::new(&mut line);
        if self.json {
            self.json_format.format_event(ctx, inner, event)?;
        } else {
            self.text.format_event(ctx, inner, event)?;
        }
        let Some(ids) = ids else { return writer.write_str(&line) };
        let body = line.trim_end_matches('\n');
        if self.json {
            let body = body.strip_suffix('}').unwrap_or(body);
            writeln!(writer, r#"{body},"trace_id":"{}","span_id":"{}"}}"#, ids.trace_id(), ids.span_id())
        } else {
            writeln!(writer, "{body} trace_id={} span_id={}", ids.trace_id(), ids.span_id())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_parents_parse_w3c_and_ignore_garbage() {
        let parent = remote_parent(Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), Some("k=v"));
        let span = parent.span();
        let context = span.span_context();
        assert!(context.is_valid());
        assert!(context.is_remote());
        assert_eq!(context.trace_id().to_string(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(context.span_id().to_string(), "b7ad6b7169203331");

        for garbage in
            [None, Some(""), Some("00-zz-yy-01"), Some("00-00000000000000000000000000000000-b7ad6b7169203331-01")]
        {
            assert!(!remote_parent(garbage, None).span().span_context().is_valid(), "{garbage:?}");
        }
    }

    /// A writer the test reads back.
    #[derive(Clone, Default)]
    struct Buffer(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
        type Writer = Buffer;

        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    /// One line logged inside a span that continues a remote trace, and outside any.
    fn logged(format: LogFormat) -> (Vec<String>, String, String) {
        let buffer = Buffer::default();
        let subscriber = subscriber(EnvFilter::new("info"), Some(Tracers::silent()), format, buffer.clone());
        let (trace, span_id) = tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("work");
            let parent = remote_parent(Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), None);
            adopt(&span, "svc-test", parent);
            let ids = {
                let _entered = span.enter();
                tracing::info!(answer = 42, "inside");
                let context = span.context();
                let span_context = context.span().span_context().clone();
                (span_context.trace_id().to_string(), span_context.span_id().to_string())
            };
            tracing::info!("outside");
            ids
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        (text.lines().map(str::to_owned).collect(), trace, span_id)
    }

    #[test]
    fn text_lines_end_with_the_trace_and_span_ids() {
        let (lines, trace, span) = logged(LogFormat::Text);
        assert_eq!(trace, "0af7651916cd43dd8448eb211c80319c", "the span continues the remote trace");
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].contains("inside answer=42"), "{}", lines[0]);
        assert!(lines[0].ends_with(&format!(" trace_id={trace} span_id={span}")), "{}", lines[0]);
        assert!(lines[1].ends_with("outside") && !lines[1].contains("trace_id"), "{}", lines[1]);
    }

    #[test]
    fn json_lines_carry_the_ids_as_fields() {
        let (lines, trace, span) = logged(LogFormat::Json);
        let inside: serde_json::Value = serde_json::from_str(&lines[0]).expect("a JSON line");
        assert_eq!(inside["message"], "inside");
        assert_eq!(inside["answer"], 42);
        assert_eq!(inside["trace_id"], trace.as_str());
        assert_eq!(inside["span_id"], span.as_str());
        assert_eq!(inside["span"]["name"], "work");
        let outside: serde_json::Value = serde_json::from_str(&lines[1]).expect("a JSON line");
        assert_eq!(outside["message"], "outside");
        assert!(outside.get("trace_id").is_none());
    }

    #[test]
    fn a_quiet_log_keeps_the_spans() {
        let buffer = Buffer::default();
        let subscriber = subscriber(EnvFilter::new("warn"), Some(Tracers::silent()), LogFormat::Text, buffer.clone());
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("work");
            adopt(&span, "svc-test", Context::new());
            let _entered = span.enter();
            tracing::info!("not logged");
            tracing::warn!("logged");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert!(lines[0].contains("logged trace_id="), "the span exists though the log is quiet: {text}");
    }

    #[test]
    fn headers_round_trip() {
        let mut headers = http::HeaderMap::new();
        headers.insert("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse().unwrap());
        let parent = parent_from_headers(&headers);
        assert_eq!(parent.span().span_context().trace_id().to_string(), "0af7651916cd43dd8448eb211c80319c");
    }
}
