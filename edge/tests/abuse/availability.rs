//! One client cannot take the shop from the others: a flood of never-finishing gRPC calls
//! asking for a 3-year deadline, spread over many HTTP/2 connections, plus slow REST
//! bodies, all from one address, while another customer still browses and the liveness
//! probe still answers — within a second, every time.
//!
//! The edge runs with its default limits, except the per-client token bucket, which is
//! switched off: a patient attacker paces under it (the issue's ~100 slow requests a
//! second), and this test would otherwise only measure the bucket.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use edge::Settings;
use http::StatusCode;
use mart_proto::product as pb;
use prost::Message;
use tokio::{io::AsyncWriteExt, task::JoinSet, time::timeout};

use crate::{
    support::Shop,
    wire::{
        connect_from, full, grpc_frame, grpc_outcome, grpc_request, http1_from, http2_from, loopback, never_ending,
    },
};

const GET_PRODUCT: &str = "/mart.product.v1.CatalogService/GetProduct";
/// Never-finishing gRPC calls, and how many go on one connection.
const STREAMS: usize = 1_100;
const STREAMS_PER_CONNECTION: usize = 100;
/// REST requests whose body trickles in.
const SLOW_BODIES: usize = 200;
/// How long a legitimate request may take while the attack is on: a bound on behaviour
/// (answered at all, not stuck behind the attacker), not a speed measurement.
const ANSWERED_WITHIN: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_take_the_edge_from_the_others() {
    let settings = Settings { rate_per_ip: None, rate_per_user: None, ..Settings::default() };
    let (gate, share) = (settings.concurrency, settings.concurrency_per_client);
    let shop = Shop::start(settings).await;
    let admin = shop.admin().await;
    let product = shop.product(&admin, "SIEGE-1", 900, 3).await;
    let product_id = product["id"].as_str().unwrap().to_owned();
    let edge = shop.addr;
    let (attacker, customer) = (loopback(3), loopback(2));

    let outcome = timeout(Duration::from_secs(60), async {
        let mut attack = JoinSet::new();
        let answered = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));

        // The calls: a frame header promising 100 bytes, two of them, then nothing, ever.
        for _ in 0..STREAMS / STREAMS_PER_CONNECTION {
            let Ok((sender, driving)) = http2_from(attacker, edge).await else { continue };
            attack.spawn(async move {
                let _ = driving.await;
            });
            for _ in 0..STREAMS_PER_CONNECTION {
                let (mut sender, answered, refused) = (sender.clone(), answered.clone(), refused.clone());
                attack.spawn(async move {
                    let body = never_ending(Bytes::from_static(&[0, 0, 0, 0, 100, 1, 2]));
                    let request = grpc_request(edge, GET_PRODUCT, &[("grpc-timeout", "99999999S")], body);
                    if let Ok(response) = sender.send_request(request).await {
                        answered.fetch_add(1, Ordering::SeqCst);
                        let (_, status, _) = grpc_outcome(response).await;
                        if status.as_deref() == Some("8") {
                            refused.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                });
            }
        }
        // However the edge copes, at least the calls beyond its whole gate are answered at
        // once: then the gate is as full as this client can make it.
        let full_by = tokio::time::Instant::now() + Duration::from_secs(20);
        while answered.load(Ordering::SeqCst) < STREAMS - gate {
            assert!(tokio::time::Instant::now() < full_by, "the attack's calls are not even refused");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        // The slow bodies: headers, the first bytes of a body, then a byte a second.
        let tried = Arc::new(AtomicUsize::new(0));
        for _ in 0..SLOW_BODIES {
            let tried = tried.clone();
            attack.spawn(async move {
                let connected = connect_from(attacker, edge).await;
                tried.fetch_add(1, Ordering::SeqCst);
                let Ok(mut stream) = connected else { return };
                let head = "POST /v1/users HTTP/1.1\r\nhost: edge\r\ncontent-type: application/json\r\n\
                            content-length: 4096\r\n\r\n{\"email\": ";
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for _ in 0..60 {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if stream.write_all(b" ").await.is_err() {
                        return;
                    }
                }
            });
        }
        let sent_by = tokio::time::Instant::now() + Duration::from_secs(20);
        while tried.load(Ordering::SeqCst) < SLOW_BODIES {
            assert!(tokio::time::Instant::now() < sent_by, "the slow bodies did not all start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Let the last of them reach the edge.
        tokio::time::sleep(Duration::from_millis(200)).await;

        // Meanwhile, a customer elsewhere: the probe, the product page, and a gRPC client.
        for round in 0..5 {
            let health = timeout(ANSWERED_WITHIN, http1_from(customer, edge, "GET", "/healthz", &[], "")).await;
            let health = health.unwrap_or_else(|_| panic!("round {round}: /healthz did not answer within 1 s"));
            assert_eq!(health.status, StatusCode::OK, "round {round}: /healthz {}", health.json);

            let path = format!("/v1/products/{product_id}");
            let page = timeout(ANSWERED_WITHIN, http1_from(customer, edge, "GET", &path, &[], "")).await;
            let page = page.unwrap_or_else(|_| panic!("round {round}: GetProduct did not answer within 1 s"));
            assert_eq!(page.status, StatusCode::OK, "round {round}: GetProduct {}", page.json);
            assert_eq!(page.json["product"]["sku"], "SIEGE-1");

            let call = async {
                let (mut sender, driving) = http2_from(customer, edge).await.expect("the customer connects");
                let message = pb::GetProductRequest { product_id: product_id.clone() }.encode_to_vec();
                let request = grpc_request(edge, GET_PRODUCT, &[], full(grpc_frame(&message)));
                let outcome = grpc_outcome(sender.send_request(request).await.expect("an answer")).await;
                driving.abort();
                outcome
            };
            let (status, grpc_status, _) = timeout(ANSWERED_WITHIN, call)
                .await
                .unwrap_or_else(|_| panic!("round {round}: gRPC GetProduct did not answer within 1 s"));
            assert_eq!((status, grpc_status.as_deref()), (StatusCode::OK, Some("0")), "round {round}: gRPC");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }

        // The attacker held no more than its share: every call beyond it was refused with
        // RESOURCE_EXHAUSTED rather than waiting in the gate.
        let refused = refused.load(Ordering::SeqCst);
        assert!(refused >= STREAMS - share, "only {refused} of the attacker's {STREAMS} calls were refused");
        attack.abort_all();
        while attack.join_next().await.is_some() {}
    })
    .await;
    outcome.expect("the attack test finishes within a minute");
    shop.stop().await;
}
