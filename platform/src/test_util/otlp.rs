//! An OTLP/gRPC trace collector for tests: the collector's own trace service (from the
//! OpenTelemetry protos) on a local port, keeping what it receives, the way Jaeger's OTLP
//! port would.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::any_value::Value as AnyValue,
};

/// A received span, flattened: its service (the resource's `service.name`) and ids as hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedSpan {
    /// `service.name` of the resource that sent it.
    pub service: String,
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// 16 hex digits, empty for a root.
    pub parent_id: String,
    /// The span's name.
    pub name: String,
    /// OTLP kind: [`SERVER`], [`CLIENT`], [`PRODUCER`], [`CONSUMER`], or 1 (internal).
    pub kind: i32,
    /// Trace ids of the spans it links to.
    pub links: Vec<String>,
    /// Its string attributes.
    pub attributes: HashMap<String, String>,
}

/// OTLP span kind: a server.
pub const SERVER: i32 = 2;
/// OTLP span kind: a client.
pub const CLIENT: i32 = 3;
/// OTLP span kind: a producer.
pub const PRODUCER: i32 = 4;
/// OTLP span kind: a consumer.
pub const CONSUMER: i32 = 5;

/// A running collector.
#[derive(Clone)]
pub struct Collector {
    /// `http://127.0.0.1:port`: what `OTEL_EXPORTER_OTLP_ENDPOINT` is set to.
    pub endpoint: String,
    received: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

impl Collector {
    /// Starts one on a free port.
    pub async fn start() -> Self {
        let listener = super::listener().await;
        let endpoint = format!("http://{}", listener.local_addr().expect("a bound listener"));
        let collector = Collector { endpoint, received: Arc::default() };
        let service = TraceServiceServer::new(collector.clone());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        collector
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        spans_of(&self.received.lock().expect("not poisoned"))
    }
}

/// The spans of OTLP export requests, flattened (whatever carried them: gRPC or HTTP).
pub fn spans_of(requests: &[ExportTraceServiceRequest]) -> Vec<ReceivedSpan> {
    let mut spans = Vec::new();
    for request in requests {
        for resource in &request.resource_spans {
            let service = resource
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| string(kv.value.as_ref()?.value.as_ref()?))
                .unwrap_or_default();
            for span in resource.scope_spans.iter().flat_map(|scope| &scope.spans) {
                spans.push(ReceivedSpan {
                    service: service.clone(),
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_id: hex(&span.parent_span_id),
                    name: span.name.clone(),
                    kind: span.kind,
                    links: span.links.iter().map(|link| hex(&link.trace_id)).collect(),
                    attributes: span
                        .attributes
                        .iter()
                        .filter_map(|kv| Some((kv.key.clone(), string(kv.value.as_ref()?.value.as_ref()?)?)))
                        .collect(),
                });
            }
        }
    }
    spans
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.received.lock().map_err(|_| tonic::Status::internal("poisoned"))?.push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

fn string(value: &AnyValue) -> Option<String> {
    match value {
        AnyValue::StringValue(text) => Some(text.clone()),
        AnyValue::IntValue(number) => Some(number.to_string()),
        AnyValue::BoolValue(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
