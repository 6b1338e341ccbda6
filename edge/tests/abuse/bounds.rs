//! Each bound on its own: a unary call's deadline is cut to `MART_EDGE_MAX_DEADLINE`
//! whatever `grpc-timeout` asks, a gRPC or grpc-web request that never finishes arriving is
//! cut off, connections per client are capped, and idle connections are closed.

use std::time::Duration;

use bytes::Bytes;
use edge::Settings;
use http::StatusCode;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    time::timeout,
};

use crate::wire::{
    Recorder, connect_from, full, grpc_frame, grpc_outcome, grpc_request, hanging_service, http1_from, http2_from,
    lone_edge, loopback, never_ending,
};

const GET_PRODUCT: &str = "/mart.product.v1.CatalogService/GetProduct";

/// Long enough for any of these answers on a loaded machine, far shorter than what the
/// client asked for.
const BOUND: Duration = Duration::from_secs(15);

fn quiet() -> Settings {
    Settings { rate_per_ip: None, rate_per_user: None, ..Settings::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unary_call_gets_at_most_the_maximum_deadline() {
    let hanging = hanging_service().await;
    let (edge, stop, serving) = lone_edge(Settings { max_deadline: Duration::from_secs(1), ..quiet() }, &hanging).await;

    // gRPC asking for three years.
    let (mut sender, driving) = http2_from(loopback(2), edge).await.unwrap();
    let request = grpc_request(edge, GET_PRODUCT, &[("grpc-timeout", "99999999S")], full(grpc_frame(&[])));
    let answered = timeout(BOUND, async { grpc_outcome(sender.send_request(request).await.unwrap()).await }).await;
    let (_, status, _) = answered.expect("the call is answered long before the deadline it asked for");
    assert_eq!(status.as_deref(), Some("4"), "DEADLINE_EXCEEDED");
    driving.abort();

    // REST asking the same.
    let asked = [("grpc-timeout", "99999999S")];
    let answered = timeout(BOUND, http1_from(loopback(2), edge, "GET", "/v1/products/p-1", &asked, "")).await;
    assert_eq!(answered.expect("REST too").status, StatusCode::GATEWAY_TIMEOUT);
    let _ = stop.send(());
    serving.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_request_that_never_finishes_arriving_is_cut_off() {
    let recorder = Recorder::start().await;
    let settings = Settings { request_timeout: Duration::from_secs(1), ..quiet() };
    let (edge, stop, serving) = lone_edge(settings, &recorder.url).await;

    let (mut sender, driving) = http2_from(loopback(2), edge).await.unwrap();
    let body = never_ending(Bytes::from_static(&[0, 0, 0, 0, 100, 1, 2]));
    let request = grpc_request(edge, GET_PRODUCT, &[("grpc-timeout", "99999999S")], body);
    let answered = timeout(BOUND, async { grpc_outcome(sender.send_request(request).await.unwrap()).await }).await;
    let (_, status, _) = answered.expect("a request that never arrives is cut off");
    assert_eq!(status.as_deref(), Some("4"), "DEADLINE_EXCEEDED");
    driving.abort();

    // grpc-web, over HTTP/1.1, the same.
    let mut stream = connect_from(loopback(2), edge).await.unwrap();
    let head = format!(
        "POST {GET_PRODUCT} HTTP/1.1\r\nhost: edge\r\ncontent-type: application/grpc-web+proto\r\n\
         x-grpc-web: 1\r\ngrpc-timeout: 99999999S\r\ncontent-length: 105\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[0, 0, 0, 0, 100, 1, 2]).await.unwrap();
    let read = timeout(BOUND, async {
        let mut seen = Vec::new();
        let mut buffer = [0; 4096];
        while !String::from_utf8_lossy(&seen).contains("grpc-status") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buffer[..n]),
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    })
    .await
    .expect("the grpc-web request is answered");
    assert!(read.contains("grpc-status: 4") || read.contains("grpc-status:4"), "{read}");
    // Nothing reached the service: it never had a whole message to be asked with.
    assert!(recorder.seen().is_empty());
    let _ = stop.send(());
    serving.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_gets_only_so_many_connections() {
    let recorder = Recorder::start().await;
    let settings = Settings { max_connections_per_client: 3, ..quiet() };
    let (edge, stop, serving) = lone_edge(settings, &recorder.url).await;
    let call = |from| async move {
        let (mut sender, driving) = http2_from(from, edge).await?;
        let request = grpc_request(edge, GET_PRODUCT, &[], full(grpc_frame(&[])));
        let answer = timeout(BOUND, sender.send_request(request)).await;
        let ok = matches!(answer, Ok(Ok(ref response)) if response.status() == StatusCode::OK);
        Ok::<_, std::io::Error>((sender, driving, ok))
    };

    let mut held = Vec::new();
    for _ in 0..3 {
        let (sender, driving, ok) = call(loopback(2)).await.unwrap();
        assert!(ok, "a connection within the limit is served");
        held.push((sender, driving));
    }
    // A fourth from the same address is closed at once.
    let fourth = call(loopback(2)).await;
    assert!(!fourth.is_ok_and(|(_, _, ok)| ok), "a fourth connection from one client is refused");
    // Someone else is not affected.
    assert!(call(loopback(3)).await.unwrap().2, "another client connects");
    // Once one of the three closes, the client may open another.
    let (sender, driving) = held.pop().unwrap();
    drop(sender);
    driving.abort();
    let again_by = tokio::time::Instant::now() + BOUND;
    loop {
        if call(loopback(2)).await.is_ok_and(|(_, _, ok)| ok) {
            break;
        }
        assert!(tokio::time::Instant::now() < again_by, "the closed connection's place is never given back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(held);
    let _ = stop.send(());
    serving.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed() {
    let recorder = Recorder::start().await;
    let settings = Settings { idle_timeout: Duration::from_secs(1), ..quiet() };
    let (edge, stop, serving) = lone_edge(settings, &recorder.url).await;

    // An HTTP/2 connection that made one call and then sits there.
    let (mut sender, driving) = http2_from(loopback(2), edge).await.unwrap();
    let request = grpc_request(edge, GET_PRODUCT, &[], full(grpc_frame(&[])));
    let (status, grpc_status, _) = grpc_outcome(sender.send_request(request).await.unwrap()).await;
    assert_eq!((status, grpc_status.as_deref()), (StatusCode::OK, Some("0")));
    timeout(BOUND, driving).await.expect("the edge closes an idle HTTP/2 connection").unwrap();

    // A connection that never sends a byte.
    let mut silent = connect_from(loopback(2), edge).await.unwrap();
    let mut buffer = [0; 64];
    let read = timeout(BOUND, silent.read(&mut buffer)).await.expect("the edge closes a silent connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let _ = stop.send(());
    serving.await.unwrap();
}
