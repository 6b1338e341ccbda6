//! One customer's order, payment and notifications are invisible to every other customer:
//! through the edge they get 404, exactly as for something that does not exist, and
//! nothing changes for the owner.

use http::StatusCode;
use mart_platform::test_util::eventually;
use serde_json::json;

use crate::support::{ADMIN_EMAIL, Payments, TestShop};

#[tokio::test]
async fn another_customer_cannot_see_or_touch_an_order_its_payment_or_its_notifications() {
    let shop = TestShop::start(Payments::Manual).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let tea = shop.product(&admin, "TEA-1", 1250, 5).await;
    let (ada, address) = shop.customer("ada@example.com").await;
    let (eve, _) = shop.customer("eve@example.com").await;

    // Ada has an order awaiting payment, its payment, and a notification about it.
    let order_id = shop.order(&ada, &address, &[(&tea, 1)]).await;
    shop.order_reaches(&order_id, &ada, "ORDER_STATUS_AWAITING_PAYMENT").await;
    shop.payment(&order_id, &ada).await;
    let placed = eventually("the order notification", || async {
        let inbox = shop.notifications(&ada).await;
        inbox.into_iter().find(|n| n["kind"] == "NOTIFICATION_KIND_ORDER_PLACED")
    })
    .await;
    let notification_id = placed["id"].as_str().unwrap().to_owned();

    // Eve, signed in, tries each with Ada's ids: not found, every time.
    let order = format!("/v1/orders/{order_id}");
    let attempts = [
        shop.http.get(&order, Some(&eve)).await,
        shop.http.send("POST", &format!("{order}:cancel"), Some(&eve), json!({})).await,
        shop.http.get(&format!("{order}/payment"), Some(&eve)).await,
        shop.http.send("POST", &format!("/v1/notifications/{notification_id}:read"), Some(&eve), json!({})).await,
    ];
    for answer in &attempts {
        assert_eq!(
            (answer.status, &answer.json["code"]),
            (StatusCode::NOT_FOUND, &json!("NOT_FOUND")),
            "{}",
            answer.json
        );
    }
    // Her own lists show none of it.
    let eves_orders = shop.http.get("/v1/orders", Some(&eve)).await;
    assert_eq!(eves_orders.status, StatusCode::OK, "{}", eves_orders.json);
    assert_eq!(eves_orders.json["orders"].as_array().map_or(0, Vec::len), 0, "{}", eves_orders.json);
    assert_eq!(shop.inbox(&eve).await, ["WELCOME"]);

    // For Ada nothing changed: the order still awaits payment with its unit reserved, the
    // notification is unread, and she can read it herself.
    let mine = shop.http.get(&order, Some(&ada)).await;
    assert_eq!(mine.json["order"]["status"], "ORDER_STATUS_AWAITING_PAYMENT");
    shop.stock_is(&tea, &admin, 5, 1).await;
    let unread = shop.notifications(&ada).await.into_iter().find(|n| n["id"] == notification_id.as_str()).unwrap();
    assert_ne!(unread["read"], true, "{unread}");
    let read =
        shop.http.send("POST", &format!("/v1/notifications/{notification_id}:read"), Some(&ada), json!({})).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.json);
    let now = shop.notifications(&ada).await.into_iter().find(|n| n["id"] == notification_id.as_str()).unwrap();
    assert_eq!(now["read"], true, "{now}");
    shop.stop().await;
}
