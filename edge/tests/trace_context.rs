//! Trace context from the internet: by default the edge starts its own trace for a client's
//! request and only links the `traceparent` the client sent, so a client can neither
//! suppress nor force sampling nor graft its calls into another trace; with
//! `MART_EDGE_TRUST_TRACE_CONTEXT` on (a client that is part of the same system) it is
//! adopted as the parent. Seen where it shows: the context the services receive, and the
//! spans a real OTLP collector receives. (Its own test binary: telemetry is per process.)

use edge::Settings;
use http::StatusCode;
use mart_platform::{
    config::OtlpProtocol,
    telemetry,
    test_util::otlp::{Collector, SERVER},
};

#[allow(dead_code)]
#[path = "abuse/wire.rs"]
mod wire;

use wire::{Recorder, full, grpc_frame, grpc_outcome, grpc_request, http1_from, http2_from, lone_edge, loopback};

/// The client's trace, and its span, with the "not sampled" flag: a client asking for its
/// request to go unrecorded.
const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

fn trace_of(traceparent: &str) -> &str {
    traceparent.split('-').nth(1).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_trace_context_is_linked_not_obeyed_unless_trusted() {
    let collector = Collector::start().await;
    let mut settings = edge::Config::embedded().telemetry;
    settings.otlp_endpoint = Some(collector.endpoint.clone());
    settings.otlp_protocol = OtlpProtocol::Grpc;
    let exporting = telemetry::init(&settings, &["edge"]);

    let recorder = Recorder::start().await;
    let quiet = || Settings { rate_per_ip: None, rate_per_user: None, ..Settings::default() };
    let (untrusting, stop_untrusting, untrusting_task) = lone_edge(quiet(), &recorder.url).await;
    let trusting_settings = Settings { trust_trace_context: true, ..quiet() };
    let (trusting, stop_trusting, trusting_task) = lone_edge(trusting_settings, &recorder.url).await;
    let sent = |request_id: &'static str| {
        vec![("traceparent", CLIENT_TRACEPARENT), ("tracestate", "vendor=forged"), ("x-request-id", request_id)]
    };

    // Off (the default), REST: the service gets the edge's own trace, not the client's.
    let answer = http1_from(loopback(2), untrusting, "GET", "/v1/products/p-1", &sent("untrusted-rest"), "").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    let upstream = recorder.last("traceparent").expect("the edge hands on a trace context of its own");
    let edge_trace = trace_of(&upstream).to_owned();
    assert_ne!(edge_trace, CLIENT_TRACE, "the client's trace was adopted: {upstream}");
    assert!(upstream.ends_with("-01"), "the edge samples by its own rule, whatever the client asked: {upstream}");
    let tracestate = recorder.last("tracestate").unwrap_or_default();
    assert!(!tracestate.contains("forged"), "the client's tracestate goes no further: {tracestate}");

    // Off, gRPC: the same.
    let (mut sender, driving) = http2_from(loopback(2), untrusting).await.unwrap();
    let request = grpc_request(
        untrusting,
        "/mart.product.v1.CatalogService/GetProduct",
        &sent("untrusted-grpc"),
        full(grpc_frame(&[])),
    );
    let (_, status, _) = grpc_outcome(sender.send_request(request).await.unwrap()).await;
    assert_eq!(status.as_deref(), Some("0"));
    let upstream_grpc = recorder.last("traceparent").expect("a trace context over gRPC too");
    assert_ne!(trace_of(&upstream_grpc), CLIENT_TRACE, "{upstream_grpc}");
    driving.abort();

    // On: adopted as it came, sampling decision included.
    let answer = http1_from(loopback(2), trusting, "GET", "/v1/products/p-1", &sent("trusted-rest"), "").await;
    assert_eq!(answer.status, StatusCode::OK);
    let upstream_trusted = recorder.last("traceparent").expect("the client's context, handed on");
    assert_eq!(trace_of(&upstream_trusted), CLIENT_TRACE, "{upstream_trusted}");

    let _ = stop_untrusting.send(());
    let _ = stop_trusting.send(());
    untrusting_task.await.unwrap();
    trusting_task.await.unwrap();
    exporting.shutdown().await;

    // The edge's request span is a root of its own trace, linked to the client's.
    let spans = collector.spans();
    let request = spans
        .iter()
        .find(|s| {
            s.service == "edge"
                && s.kind == SERVER
                && s.attributes.get("request.id").map(String::as_str) == Some("untrusted-rest")
        })
        .unwrap_or_else(|| panic!("the untrusting edge's span was not exported: {spans:#?}"));
    assert!(request.parent_id.is_empty(), "{request:#?}");
    assert_eq!(request.trace_id, edge_trace, "the services continue the edge's trace");
    assert_eq!(request.links, [CLIENT_TRACE], "the client's context is linked");
    // The trusting edge obeyed the client's "not sampled".
    assert!(
        !spans.iter().any(|s| s.attributes.get("request.id").map(String::as_str) == Some("trusted-rest")),
        "{spans:#?}"
    );
}
