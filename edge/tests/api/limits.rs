//! Protection at the door: bursts get 429 with Retry-After (per IP and per account), large
//! bodies 413, slow services 504, missing ones 503, and a full edge sheds load at once.

use std::time::Duration;

use edge::limits::Rate;
use http::StatusCode;
use mart_platform::test_util::{TokenMinter, listener};
use serde_json::json;

use crate::support::{Shop, settings};

#[tokio::test]
async fn a_burst_from_one_ip_gets_429_with_retry_after() {
    let shop =
        Shop::start(edge::Settings { rate_per_ip: Some(Rate { per_second: 0.5, burst: 3.0 }), ..settings() }).await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..5 {
        let answer = shop.get("/v1/categories", None).await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(answer.json["code"], "RESOURCE_EXHAUSTED");
            retry_after = answer.headers.get("retry-after").map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
        }
        statuses.push(answer.status.as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    assert!(retry_after.is_some_and(|s| (1..=2).contains(&s)), "{retry_after:?}");
    shop.stop().await;
}

#[tokio::test]
async fn each_account_has_its_own_bucket() {
    let shop =
        Shop::start(edge::Settings { rate_per_user: Some(Rate { per_second: 0.5, burst: 2.0 }), ..settings() }).await;
    let ada = shop.customer("ada@example.com").await;
    let bob = shop.customer("bob@example.com").await;
    for _ in 0..2 {
        assert_eq!(shop.get("/v1/users/me", Some(&ada)).await.status, StatusCode::OK);
    }
    let limited = shop.get("/v1/users/me", Some(&ada)).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key("retry-after"));
    // Bob is not punished for Ada's burst.
    assert_eq!(shop.get("/v1/users/me", Some(&bob)).await.status, StatusCode::OK);
    shop.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let shop = Shop::start(edge::Settings { body_limit: 256, ..settings() }).await;
    let big = json!({"email": "big@example.com", "password": "correct horse battery", "firstName": "x".repeat(1000), "lastName": "y"});
    let answer = shop.send("POST", "/v1/users", None, big).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", answer.json);
    // Nothing was created: logging in with it fails.
    let login = shop
        .send("POST", "/v1/auth/login", None, json!({"email": "big@example.com", "password": "correct horse battery"}))
        .await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
    shop.stop().await;
}

/// A service that accepts connections and never answers.
async fn silent_service() -> String {
    let listener = listener().await;
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_slow_service_is_504_and_a_full_edge_sheds_with_503() {
    let minter = TokenMinter::new();
    let keys = minter.key_set();
    let silent = silent_service().await;
    let shop = Shop::start_with(
        edge::Settings { request_timeout: Duration::from_millis(700), concurrency: 1, ..settings() },
        |config, edge_keys| {
            config.peers.order = silent;
            *edge_keys = keys;
        },
    )
    .await;
    let token = minter.user("u-1");

    let slow = shop.get("/v1/cart", Some(&token));
    let second = async {
        // While the first call waits on the silent service, the edge (limit 1) is full.
        tokio::time::sleep(Duration::from_millis(200)).await;
        shop.get("/v1/categories", None).await
    };
    let (slow, second) = tokio::join!(slow, second);
    assert_eq!(slow.status, StatusCode::GATEWAY_TIMEOUT, "{}", slow.json);
    assert_eq!(slow.json["code"], "DEADLINE_EXCEEDED");
    assert_eq!(second.status, StatusCode::SERVICE_UNAVAILABLE, "{}", second.json);
    assert_eq!(second.headers["retry-after"], "1");

    // A client's own shorter deadline is honoured.
    let bearer = format!("Bearer {token}");
    let hurried = shop.call("GET", "/v1/cart", &[("authorization", &bearer), ("grpc-timeout", "100m")], "").await;
    assert_eq!(hurried.status, StatusCode::GATEWAY_TIMEOUT);
    shop.stop().await;
}
