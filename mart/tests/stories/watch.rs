//! A customer's order page follows the order live: WatchOrder over REST is one JSON order
//! per line as it changes, from awaiting payment to delivered, and then the stream ends;
//! nobody else may watch it.

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use serde_json::{Value, json};

use crate::support::{ADMIN_EMAIL, Payments, TestShop};

#[tokio::test]
async fn a_customer_watches_the_order_move_over_rest() {
    let shop = TestShop::start(Payments::Manual).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let tea = shop.product(&admin, "TEA-1", 1250, 5).await;
    let (ada, address) = shop.customer("ada@example.com").await;
    let order_id = shop.order(&ada, &address, &[(&tea, 1)]).await;
    shop.order_reaches(&order_id, &ada, "ORDER_STATUS_AWAITING_PAYMENT").await;
    let path = format!("/v1/orders/{order_id}:watch");

    // Another customer's order does not exist, for them.
    let (bob, _) = shop.customer("bob@example.com").await;
    assert_eq!(shop.http.get(&path, Some(&bob)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(shop.http.get(&path, None).await.status, StatusCode::UNAUTHORIZED);

    // Ada opens the watch and gets the order as it is; then the shop pays, ships and
    // delivers it while she watches.
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::get(format!("http://{}{path}", shop.http.addr))
        .header("authorization", format!("Bearer {ada}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let mut body = response.into_body();
    let mut text = String::new();
    let mut next_line = async || -> Option<Value> {
        loop {
            if let Some(end) = text.find('\n') {
                let line: String = text.drain(..=end).collect();
                return Some(serde_json::from_str(&line).expect("a JSON line"));
            }
            let frame = tokio::time::timeout(Duration::from_secs(30), body.frame()).await.expect("a line in time")?;
            text.push_str(std::str::from_utf8(&frame.unwrap().into_data().unwrap()).unwrap());
        }
    };
    let first = next_line().await.expect("the order now");
    assert_eq!(first["order"]["status"], "ORDER_STATUS_AWAITING_PAYMENT");

    let confirm = format!("/v1/orders/{order_id}/payment:confirm");
    assert_eq!(shop.http.send("POST", &confirm, Some(&admin), json!({})).await.status, StatusCode::OK);
    shop.order_reaches(&order_id, &ada, "ORDER_STATUS_PAID").await;
    let ship = format!("/v1/orders/{order_id}:ship");
    let shipped = shop.http.send("POST", &ship, Some(&admin), json!({"carrier": "DHL", "trackingNumber": "JD1"})).await;
    assert_eq!(shipped.status, StatusCode::OK, "{}", shipped.json);
    let deliver = format!("/v1/orders/{order_id}:deliver");
    assert_eq!(shop.http.send("POST", &deliver, Some(&admin), json!({})).await.status, StatusCode::OK);

    // Delivered is final: the stream ends by itself.
    let mut lines = vec![first];
    while let Some(line) = next_line().await {
        lines.push(line);
    }
    let mut statuses: Vec<&str> = lines.iter().map(|line| line["order"]["status"].as_str().unwrap()).collect();
    statuses.dedup();
    let lifecycle =
        ["ORDER_STATUS_AWAITING_PAYMENT", "ORDER_STATUS_PAID", "ORDER_STATUS_SHIPPED", "ORDER_STATUS_DELIVERED"];
    assert!(lifecycle.ends_with(&statuses), "the order's moves, in order: {statuses:?}");
    assert_eq!(statuses, lifecycle, "every move, once each");
    let last = &lines.last().unwrap()["order"];
    assert_eq!(
        (last["id"].as_str(), last["shipment"]["trackingNumber"].as_str()),
        (Some(order_id.as_str()), Some("JD1"))
    );
    shop.stop().await;
}
