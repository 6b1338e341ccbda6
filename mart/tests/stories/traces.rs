//! What an operator sees of a checkout: one trace in the tracing backend across the edge and
//! every service it touched, received here by an OTLP collector of our own (the collector's
//! real gRPC trace service, from the OpenTelemetry protos), and the shop's `/metrics` on the
//! private listener `MART_METRICS_ADDR` opens (never on the edge's public port).

use std::collections::{BTreeSet, HashMap};

use http::StatusCode;
use mart_platform::{
    config::{Config, OtlpProtocol, Service},
    telemetry,
    test_util::{
        eventually,
        otlp::{CLIENT, CONSUMER, Collector, PRODUCER, ReceivedSpan as Span, SERVER},
    },
};
use serde_json::json;
use svc_payment::stripe_fake::FakeStripe;

use crate::support::{ADMIN_EMAIL, Payments, TestShop};

#[tokio::test]
async fn one_checkout_is_one_trace_from_the_edge_to_the_notification() {
    let collector = Collector::start().await;
    let mut settings = Config::<()>::embedded(Service::User).telemetry;
    settings.otlp_endpoint = Some(collector.endpoint.clone());
    settings.otlp_protocol = OtlpProtocol::Grpc;
    let names: Vec<&'static str> =
        ["mart", "edge"].into_iter().chain(Service::ALL.map(Service::process_name)).collect();
    let exporting = telemetry::init(&settings, &names);

    // A card checkout: the order is placed, stock reserved, the PaymentIntent created; later
    // Stripe's webhook says paid, the stock is sold and the customer is told.
    let stripe = FakeStripe::start().await;
    let shop = TestShop::start(Payments::stripe(&stripe)).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let lamp = shop.product(&admin, "LAMP-1", 4200, 2).await;
    let (cy, address) = shop.customer("cy@example.com").await;
    let added = shop.http.send("POST", "/v1/cart/items", Some(&cy), json!({"productId": lamp, "quantity": 1})).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.json);
    let placed = shop.http.send("POST", "/v1/orders", Some(&cy), json!({"addressId": address})).await;
    assert_eq!(placed.status, StatusCode::OK, "{}", placed.json);
    let order_id = placed.json["order"]["id"].as_str().unwrap().to_owned();
    // The edge names every request; the id leads to its trace.
    let request_id = placed.headers["x-request-id"].to_str().unwrap().to_owned();
    shop.order_reaches(&order_id, &cy, "ORDER_STATUS_AWAITING_PAYMENT").await;
    shop.payment(&order_id, &cy).await;
    let intent =
        eventually("the PaymentIntent", || async { stripe.intents().first().map(|intent| intent.id.clone()) }).await;
    let paid = shop.deliver(&stripe.succeed(&intent)).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.json);
    shop.order_reaches(&order_id, &cy, "ORDER_STATUS_PAID").await;
    shop.stock_is(&lamp, &admin, 1, 0).await;
    eventually("the payment notification", || async {
        shop.inbox(&cy).await.contains(&"PAYMENT_SUCCEEDED".to_owned()).then_some(())
    })
    .await;
    shop.smtp
        .wait_for("welcome, order placed and payment emails", |mails| {
            mails.iter().filter(|m| m.to == ["cy@example.com"]).count() >= 3
        })
        .await;

    // The operator's view of the same moment: the process's /metrics listener (what
    // MART_METRICS_ADDR opens) covers every service and the edge; the public port has none.
    assert_eq!(shop.http.get("/metrics", None).await.status, StatusCode::NOT_FOUND);
    let metrics_listener = mart_platform::test_util::listener().await;
    let metrics_http = edge::test_client::HttpClient { addr: metrics_listener.local_addr().unwrap() };
    let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
    let scraping = tokio::spawn(mart_platform::metrics::serve(metrics_listener, async move {
        let _ = metrics_stopped.await;
    }));
    let scraped = metrics_http.get("/metrics", None).await;
    let _ = stop_metrics.send(());
    scraping.await.unwrap();
    assert_eq!(scraped.status, StatusCode::OK);
    let metrics = String::from_utf8_lossy(&scraped.body);
    for series in [
        r#"mart_http_requests_total{service="edge",route="/v1/orders",method="POST",status="200"}"#,
        r#"mart_rpc_requests_total{service="svc-order",method="/mart.order.v1.OrderService/PlaceOrder",code="OK"}"#,
        r#"mart_rpc_client_requests_total{service="edge",method="/mart.order.v1.OrderService/PlaceOrder",code="OK"}"#,
        r#"mart_events_total{service="svc-inventory",group="inventory",topic="mart.order.events",outcome="handled"}"#,
        r#"mart_outbox_unsent{service="svc-order"}"#,
        r#"mart_consumer_lag{service="svc-notify",group="notify""#,
        r#"mart_db_pool_connections{service="svc-payment",state="idle"}"#,
        "mart_rpc_duration_seconds_bucket{",
        "mart_event_lag_seconds_bucket{",
    ] {
        assert!(metrics.contains(series), "/metrics has no {series}:\n{metrics}");
    }

    shop.stop().await;
    exporting.shutdown().await;

    // One trace from the edge's POST /v1/orders down to the notification.
    let spans = collector.spans();
    let request = spans
        .iter()
        .find(|s| s.service == "edge" && s.attributes.get("request.id") == Some(&request_id))
        .unwrap_or_else(|| panic!("no span of request {request_id} among: {:#?}", names_of(&spans)));
    let trace: Vec<&Span> = spans.iter().filter(|s| s.trace_id == request.trace_id).collect();
    let place_order = trace
        .iter()
        .find(|s| s.service == "svc-order" && s.name == "mart.order.v1.OrderService/PlaceOrder" && s.kind == SERVER)
        .unwrap_or_else(|| panic!("no PlaceOrder server span in the request's trace: {:#?}", names_of(&spans)));
    let services: BTreeSet<&str> = trace.iter().map(|s| s.service.as_str()).collect();
    for service in ["edge", "svc-order", "svc-product", "svc-user", "svc-inventory", "svc-payment", "svc-notify"] {
        assert!(services.contains(service), "{service} is not in the checkout's trace: {services:?}");
    }

    // Its shape: the edge's request is the root; the edge's call is PlaceOrder's parent.
    let by_id: HashMap<&str, &Span> = trace.iter().map(|s| (s.span_id.as_str(), *s)).collect();
    let parent_of = |span: &Span| by_id.get(span.parent_id.as_str()).copied();
    let call = parent_of(place_order).expect("PlaceOrder has its parent in the trace");
    assert_eq!((call.service.as_str(), call.kind), ("edge", CLIENT), "{call:#?}");
    assert_eq!(parent_of(call).map(|s| &s.span_id), Some(&request.span_id), "the edge's call is the request's");
    assert_eq!((request.service.as_str(), request.name.as_str(), request.kind), ("edge", "POST /v1/orders", SERVER));
    assert!(request.parent_id.is_empty(), "the edge's request starts the trace: {request:#?}");
    let orphans: Vec<_> = trace.iter().filter(|s| !s.parent_id.is_empty() && parent_of(s).is_none()).collect();
    assert!(orphans.is_empty(), "spans whose parent is not in the trace: {orphans:#?}");

    // Events are children of the span that appended them, in the service that wrote them.
    let consumed = |service: &str, topic: &str| {
        trace
            .iter()
            .filter(|s| s.service == service && s.kind == CONSUMER && s.name == format!("{topic} process"))
            .map(|s| parent_of(s).expect("a consumed event has its parent"))
            .collect::<Vec<_>>()
    };
    let reserving = consumed("svc-inventory", "mart.order.events");
    assert!(!reserving.is_empty(), "inventory consumed no order event in this trace");
    assert!(
        reserving
            .iter()
            .all(|p| p.service == "svc-order" && p.name == "mart.order.events append" && p.kind == PRODUCER),
        "{reserving:#?}"
    );
    let paying = consumed("svc-payment", "mart.order.events");
    assert!(paying.iter().any(|p| p.service == "svc-order"), "payment did not react to the order in this trace");
    let told = consumed("svc-notify", "mart.payment.events");
    assert!(
        told.iter().any(|p| p.service == "svc-payment" && p.name == "mart.payment.events append"),
        "notify was not told of the payment in this trace: {told:#?}"
    );

    // The webhook is a request of its own (Stripe's); the payment's event continues the
    // checkout and links back to it. So does PaymentCreated, written by svc-payment's
    // provider-call worker (a round of its own) once Stripe opened the PaymentIntent.
    let linked: Vec<&Span> = trace
        .iter()
        .copied()
        .filter(|s| s.service == "svc-payment" && s.name == "mart.payment.events append" && !s.links.is_empty())
        .collect();
    let root_of = |trace_id: &String| spans.iter().find(|s| &s.trace_id == trace_id && s.parent_id.is_empty());
    let causes: Vec<(&str, &str)> = linked
        .iter()
        .flat_map(|s| &s.links)
        .inspect(|link| assert_ne!(*link, &place_order.trace_id, "a link leads out of the checkout"))
        .filter_map(|link| root_of(link).map(|root| (root.service.as_str(), root.name.as_str())))
        .collect();
    assert!(
        causes.contains(&("edge", "POST /v1/payments/stripe/webhook")),
        "a payment event links to the webhook's request: {causes:?}"
    );
    assert!(
        causes.contains(&("svc-payment", "payment.provider_call")),
        "PaymentCreated links to the provider call that opened the PaymentIntent: {causes:?}"
    );
    // The emails went out from svc-notify's sender loop, later, still in the checkout's trace.
    let sent: Vec<_> = trace.iter().filter(|s| s.service == "svc-notify" && s.name == "send email").collect();
    assert!(sent.len() >= 2, "the order-placed and payment emails are sent in the trace: {sent:#?}");
    // Database work shows as the handler's transaction inside each consume.
    assert!(trace.iter().any(|s| s.service == "svc-inventory" && s.name.starts_with("handle ")));
    assert!(trace.iter().any(|s| s.service == "svc-order" && s.name == "db.transaction"));
}

fn names_of(spans: &[Span]) -> Vec<String> {
    spans.iter().map(|s| format!("{}: {}", s.service, s.name)).collect()
}
