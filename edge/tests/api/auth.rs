//! The token check at the door: a missing, garbled, forged or expired token, or the wrong
//! role, is refused by the edge itself — here the catalog behind it is not even running, so
//! an answer other than 503 proves the service was never asked.

use http::StatusCode;
use mart_platform::test_util::TokenMinter;
use serde_json::json;

use crate::support::{Shop, settings, vacant_addr};

#[tokio::test]
async fn bad_tokens_and_wrong_roles_stop_at_the_door() {
    let nobody = format!("http://{}", vacant_addr().await);
    let shop = Shop::start_with(settings(), |config, _| config.peers.product = nobody).await;
    let customer = shop.customer("eve@example.com").await;
    let forged = TokenMinter::new().admin("someone");
    let category = json!({"name": "Stolen goods"});

    for (token, status, code) in [
        (None, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
        (Some("not-a-jwt"), StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
        (Some(forged.as_str()), StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
        (Some(customer.as_str()), StatusCode::FORBIDDEN, "PERMISSION_DENIED"),
    ] {
        let answer = shop.send("POST", "/v1/categories", token, category.clone()).await;
        assert_eq!((answer.status, answer.json["code"].as_str()), (status, Some(code)), "{token:?}: {}", answer.json);
    }
    // A header that is not a bearer token is refused, not taken as anonymous.
    let basic = shop.call("GET", "/v1/users/me", &[("authorization", "Basic YTpi")], "").await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED, "{}", basic.json);
    // On a PUBLIC route it is ignored (a basic-auth staging proxy in front): the call goes
    // through the door to the catalog, which is down here.
    let browsing = shop.call("GET", "/v1/categories", &[("authorization", "Basic YTpi")], "").await;
    assert_eq!(browsing.status, StatusCode::SERVICE_UNAVAILABLE, "{}", browsing.json);

    // The customer's token is fine where it belongs; the catalog being down is then a 503.
    let read = shop.get("/v1/categories", Some(&customer)).await;
    assert_eq!(read.status, StatusCode::SERVICE_UNAVAILABLE, "{}", read.json);
    shop.stop().await;
}

#[tokio::test]
async fn an_expired_token_is_refused_and_public_calls_ignore_stale_ones() {
    let minter = TokenMinter::new();
    let keys = minter.key_set();
    let nobody = format!("http://{}", vacant_addr().await);
    let shop = Shop::start_with(settings(), |config, edge_keys| {
        config.peers.order = nobody;
        *edge_keys = keys;
    })
    .await;
    let expired = minter.expired_user("u-1");
    let cart = shop.get("/v1/cart", Some(&expired)).await;
    assert_eq!(cart.status, StatusCode::UNAUTHORIZED, "{}", cart.json);
    assert!(cart.json["message"].as_str().unwrap().contains("expired"), "{}", cart.json);
    // A valid one passes the door (and meets the absent order service).
    let fresh = shop.get("/v1/cart", Some(&minter.user("u-1"))).await;
    assert_eq!(fresh.status, StatusCode::SERVICE_UNAVAILABLE, "{}", fresh.json);
    // Logging in again must work with a stale token still in the client's header.
    let login = shop
        .send(
            "POST",
            "/v1/auth/login",
            Some(&expired),
            json!({"email": crate::support::ADMIN_EMAIL, "password": crate::support::PASSWORD}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.json);
    shop.stop().await;
}
