//! Traces over OTLP/HTTP (the `http/protobuf` protocol) to a collector of our own, and the
//! `/metrics` listener a service opens at `MART_METRICS_ADDR`. The OTLP/gRPC path, and a
//! whole checkout as one trace, are the shop's story in `mart/tests/stories/traces.rs`.
//!
//! One test per concern, but the subscriber and the metrics recorder are process-wide:
//! whatever runs in this binary shares them.

use std::{
    convert::Infallible,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use mart_platform::test_util::otlp::spans_of;
use mart_platform::{
    config::{Config, OtlpProtocol, Service},
    metrics, telemetry,
    test_util::listener,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

/// What an OTLP/HTTP collector received: path and decoded body of each POST.
type Received = Arc<Mutex<Vec<(String, String, ExportTraceServiceRequest)>>>;

#[tokio::test]
async fn spans_go_over_otlp_http_under_their_service_name_and_are_flushed_on_shutdown() {
    let received = Received::default();
    let collector = listener().await;
    let endpoint = format!("http://{}", collector.local_addr().unwrap());
    tokio::spawn(serve_http(collector, {
        let received = received.clone();
        move |request: Request<Incoming>| {
            let received = received.clone();
            async move {
                let path = request.uri().path().to_owned();
                let content_type = request
                    .headers()
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let body = request.into_body().collect().await.unwrap().to_bytes();
                let decoded = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf body");
                received.lock().unwrap().push((path, content_type, decoded));
                Response::new(Full::new(Bytes::new()))
            }
        }
    }));

    let mut settings = Config::<()>::embedded(Service::Order).telemetry;
    settings.otlp_endpoint = Some(format!("{endpoint}/"));
    settings.otlp_protocol = OtlpProtocol::HttpProtobuf;
    let exporting = telemetry::init(&settings, &["svc-order", "svc-inventory"]);

    // Two services' work in one process: each span goes out under its own service.name.
    for (service, name) in [("svc-order", "placing"), ("svc-inventory", "reserving")] {
        let span = tracing::info_span!("work", otel.name = name);
        telemetry::adopt(&span, service, opentelemetry::Context::new());
        let child = span.in_scope(|| tracing::info_span!("inner", otel.name = %format!("{name} inner")));
        drop(child);
        drop(span);
    }
    let unadopted = tracing::info_span!("work", otel.name = "housekeeping");
    drop(unadopted);
    // Nothing is sent before the batch is due; shutdown sends it.
    assert!(received.lock().unwrap().is_empty(), "spans are batched");
    exporting.shutdown().await;

    let received = received.lock().unwrap();
    assert!(!received.is_empty(), "shutdown flushed the batch");
    for (path, content_type, _) in received.iter() {
        assert_eq!(path, "/v1/traces");
        assert_eq!(content_type, "application/x-protobuf");
    }
    let requests: Vec<ExportTraceServiceRequest> = received.iter().map(|(_, _, request)| request.clone()).collect();
    let mut seen: Vec<(String, String)> =
        spans_of(&requests).into_iter().map(|span| (span.service, span.name)).collect();
    seen.sort();
    let expected = [
        ("svc-inventory", "reserving"),
        ("svc-inventory", "reserving inner"),
        // No service adopted it: it goes out under the process's first name.
        ("svc-order", "housekeeping"),
        ("svc-order", "placing"),
        ("svc-order", "placing inner"),
    ];
    let seen: Vec<(&str, &str)> = seen.iter().map(|(service, name)| (service.as_str(), name.as_str())).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn a_service_answers_prometheus_scrapes_on_its_metrics_address() {
    let socket = listener().await;
    let addr = socket.local_addr().unwrap();
    // What a service's start does: the recorder first, then whatever it records.
    metrics::install();
    tokio::spawn(metrics::serve(socket, std::future::pending()));
    metrics::rpc_served(
        "svc-order",
        "/mart.order.v1.OrderService/PlaceOrder",
        tonic::Code::Ok,
        Duration::from_millis(3),
    );
    metrics::rpc_served(
        "svc-order",
        "/mart.order.v1.OrderService/PlaceOrder",
        tonic::Code::NotFound,
        Duration::from_millis(1),
    );

    let (status, content_type, body) = get(addr, "GET", "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    assert!(
        body.contains(r#"mart_rpc_requests_total{service="svc-order",method="/mart.order.v1.OrderService/PlaceOrder",code="NOT_FOUND"} 1"#),
        "{body}"
    );
    assert!(body.contains("# HELP mart_rpc_requests_total"), "described: {body}");
    assert!(body.contains(r#"mart_rpc_duration_seconds_bucket{service="svc-order",method="/mart.order.v1.OrderService/PlaceOrder",le="0.005"} 2"#), "{body}");

    assert_eq!(get(addr, "GET", "/").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(addr, "POST", "/metrics").await.0, StatusCode::METHOD_NOT_ALLOWED);
}

async fn get(addr: std::net::SocketAddr, method: &str, path: &str) -> (StatusCode, String, String) {
    let client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request =
        Request::builder().method(method).uri(format!("http://{addr}{path}")).body(Full::new(Bytes::new())).unwrap();
    let response = client.request(request).await.expect("the listener answers");
    let status = response.status();
    let content_type =
        response.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, content_type, String::from_utf8_lossy(&body).into_owned())
}

/// A tiny HTTP/1.1 server: `answer` for every request.
async fn serve_http<F, Fut>(listener: tokio::net::TcpListener, answer: F)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else { return };
        let answer = answer.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let answer = answer.clone();
                async move { Ok::<_, Infallible>(answer(request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}
