//! Identity changes take effect everywhere within seconds: a disabled customer's old token
//! and a demoted admin's are refused through the edge and on a service's own port — not
//! only by svc-user, which reads the account, but by every verifier, which learns of the
//! ended sessions from svc-user alongside its keys.

use std::time::Duration;

use http::StatusCode;
use mart_platform::test_util::{authed, within};
use mart_proto::order::{ListAllOrdersRequest, ListOrdersRequest, order_service_client::OrderServiceClient};
use serde_json::json;
use tonic::Code;

use crate::support::{ADMIN_EMAIL, PASSWORD, Payments, TestShop};

/// Waits, at most two seconds, until `refused` says so.
async fn refused_within_two_seconds<F, Fut>(what: &str, mut refused: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    within(Duration::from_secs(2), what, || {
        let refused = refused();
        async move { refused.await.then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn a_disabled_customer_and_a_demoted_admin_lose_their_old_tokens_everywhere() {
    let shop = TestShop::start(Payments::Manual).await;
    let root = shop.login(ADMIN_EMAIL).await;
    let (eve, _) = shop.customer("eve@example.com").await;
    let (deputy, _) = shop.customer("deputy@example.com").await;
    let order_port = format!("http://{}", shop.shop.services["order"]);
    let mut orders = OrderServiceClient::connect(order_port).await.unwrap();

    // Both tokens work, through the edge and on svc-order's own port.
    assert_eq!(shop.http.get("/v1/orders", Some(&eve)).await.status, StatusCode::OK);
    orders.list_orders(authed(&eve, ListOrdersRequest { page_size: 10, ..Default::default() })).await.unwrap();
    let me = shop.http.get("/v1/users/me", Some(&eve)).await;
    let eve_id = me.json["user"]["id"].as_str().unwrap().to_owned();
    let me = shop.http.get("/v1/users/me", Some(&deputy)).await;
    let deputy_id = me.json["user"]["id"].as_str().unwrap().to_owned();
    let promoted = shop
        .http
        .send("POST", &format!("/v1/users/{deputy_id}:setRole"), Some(&root), json!({"role": "ROLE_ADMIN"}))
        .await;
    assert_eq!(promoted.status, StatusCode::OK, "{}", promoted.json);
    let deputy = shop.login("deputy@example.com").await;
    assert_eq!(shop.http.get("/v1/admin/orders", Some(&deputy)).await.status, StatusCode::OK);

    // The admin disables Eve: within two seconds her old token is 401 at the edge and
    // UNAUTHENTICATED on svc-order's port.
    let disabled = shop
        .http
        .send("POST", &format!("/v1/users/{eve_id}:setStatus"), Some(&root), json!({"status": "USER_STATUS_DISABLED"}))
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.json);
    refused_within_two_seconds("the edge", || async {
        let answer = shop.http.get("/v1/orders", Some(&eve)).await;
        answer.status == StatusCode::UNAUTHORIZED
    })
    .await;
    let refused =
        orders.list_orders(authed(&eve, ListOrdersRequest { page_size: 10, ..Default::default() })).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    let again =
        shop.http.send("POST", "/v1/auth/login", None, json!({"email": "eve@example.com", "password": PASSWORD})).await;
    assert_eq!(again.status, StatusCode::FORBIDDEN, "a disabled account cannot sign in again: {}", again.json);

    // The admin demotes the deputy: within two seconds the old admin token is refused on
    // ADMIN RPCs, through the edge and on svc-order's port.
    let demoted = shop
        .http
        .send("POST", &format!("/v1/users/{deputy_id}:setRole"), Some(&root), json!({"role": "ROLE_USER"}))
        .await;
    assert_eq!(demoted.status, StatusCode::OK, "{}", demoted.json);
    refused_within_two_seconds("the edge", || async {
        let answer = shop.http.get("/v1/admin/orders", Some(&deputy)).await;
        matches!(answer.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
    })
    .await;
    let refused = orders
        .list_all_orders(authed(&deputy, ListAllOrdersRequest { page_size: 10, ..Default::default() }))
        .await
        .unwrap_err();
    assert!(matches!(refused.code(), Code::Unauthenticated | Code::PermissionDenied), "{refused:?}");

    // The admin who did it is untouched.
    assert_eq!(shop.http.get("/v1/admin/orders", Some(&root)).await.status, StatusCode::OK);
    shop.stop().await;
}
