//! Per-client limits behind a proxy, and what a client gains by lying about its address:
//! a trusted proxy relaying two customers gets them a bucket each; a client that talks to
//! the edge directly is keyed on its own address whatever `X-Forwarded-For` it sends; and
//! the services are told the address the edge decided on, never one a client wrote.

use edge::{Settings, client::CLIENT_IP, limits::Rate};
use http::StatusCode;

use crate::wire::{Recorder, grpc_frame, grpc_outcome, grpc_request, http1_from, http2_from, lone_edge, loopback};

/// Two requests per client, then 429 for the rest of the test.
fn two_each() -> Settings {
    Settings {
        rate_per_ip: Some(Rate { per_second: 0.001, burst: 2.0 }),
        rate_per_user: None,
        clients: edge::client::ClientPolicy {
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
            ..Default::default()
        },
        ..Settings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_gets_a_bucket_per_client_and_spoofing_gains_nothing() {
    let recorder = Recorder::start().await;
    let (edge, stop, serving) = lone_edge(two_each(), &recorder.url).await;
    let proxy = loopback(1);
    let get = |from, headers: Vec<(&'static str, &'static str)>| async move {
        http1_from(from, edge, "GET", "/v1/products/p-1", &headers, "").await.status.as_u16()
    };

    // The ingress (127.0.0.1, trusted) relays Ada; her own forged entry and a forged
    // client-ip header are left of what the ingress saw, and count for nothing.
    let ada = vec![("x-forwarded-for", "6.6.6.6, 198.51.100.1"), (CLIENT_IP, "6.6.6.6")];
    assert_eq!(get(proxy, ada.clone()).await, 200);
    assert_eq!(recorder.last(CLIENT_IP).as_deref(), Some("198.51.100.1"), "the service hears Ada's address");
    assert_eq!(get(proxy, ada.clone()).await, 200);
    assert_eq!(get(proxy, ada).await, 429, "Ada's bucket is empty");
    // Bob, behind the same ingress, has his own bucket.
    let bob = vec![("x-forwarded-for", "198.51.100.2")];
    assert_eq!(get(proxy, bob.clone()).await, 200);
    assert_eq!(recorder.last(CLIENT_IP).as_deref(), Some("198.51.100.2"));
    assert_eq!(get(proxy, bob).await, 200);

    // IPv6 customers are one bucket per /64: rotating inside it gains nothing.
    assert_eq!(get(proxy, vec![("x-forwarded-for", "2001:db8:1:2::1")]).await, 200);
    assert_eq!(get(proxy, vec![("x-forwarded-for", "2001:db8:1:2:ffff::9")]).await, 200);
    assert_eq!(get(proxy, vec![("x-forwarded-for", "2001:db8:1:2::abcd")]).await, 429);
    assert_eq!(recorder.last(CLIENT_IP).as_deref(), Some("2001:db8:1:2:ffff::9"), "the last one served");
    assert_eq!(get(proxy, vec![("x-forwarded-for", "2001:db8:1:3::1")]).await, 200, "another /64");

    // Mallory (127.0.0.2) is not a proxy: her X-Forwarded-For is not read, so a fresh
    // made-up address per request still draws from her one bucket.
    let mallory = loopback(2);
    assert_eq!(get(mallory, vec![("x-forwarded-for", "203.0.113.1"), (CLIENT_IP, "203.0.113.1")]).await, 200);
    assert_eq!(recorder.last(CLIENT_IP).as_deref(), Some("127.0.0.2"), "the service hears her real address");
    assert_eq!(get(mallory, vec![("x-forwarded-for", "203.0.113.2")]).await, 200);
    assert_eq!(get(mallory, vec![("x-forwarded-for", "203.0.113.3")]).await, 429);
    assert_eq!(get(mallory, vec![("forwarded", "for=203.0.113.4")]).await, 429);

    // gRPC carries the decided address too, and its own copy of the header is replaced.
    let (mut h2, driving) = http2_from(loopback(3), edge).await.unwrap();
    let request = grpc_request(
        edge,
        "/mart.product.v1.CatalogService/GetProduct",
        &[(CLIENT_IP, "6.6.6.6"), ("x-forwarded-for", "6.6.6.6")],
        crate::wire::full(grpc_frame(&[])),
    );
    let (status, grpc_status, _) = grpc_outcome(h2.send_request(request).await.unwrap()).await;
    assert_eq!((status, grpc_status.as_deref()), (StatusCode::OK, Some("0")));
    let sent: Vec<_> = recorder.seen().last().unwrap().get_all(CLIENT_IP).iter().cloned().collect();
    assert_eq!(sent, ["127.0.0.3"], "one client-ip header, the edge's");
    driving.abort();

    let _ = stop.send(());
    serving.await.unwrap();
}
