//! The same checkout on the Kafka event bus (librdkafka's mock cluster, speaking the Kafka
//! protocol over TCP) instead of the embedded log: the distributed mode's wiring.

use http::StatusCode;
use mart_platform::test_util::eventually;
use serde_json::json;

use crate::support::{ADMIN_EMAIL, Bus, Payments, Settings, TestShop};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_paid_by_hand_goes_through_on_kafka() {
    let shop = TestShop::start_with(Settings { bus: Bus::Kafka, ..Settings::new(Payments::Manual) }).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let tea = shop.product(&admin, "TEA-1", 1250, 5).await;
    let (ada, address) = shop.customer("ada@example.com").await;

    // Ada orders two; they are reserved and a manual payment waits for the admin.
    let order_id = shop.order(&ada, &address, &[(&tea, 2)]).await;
    let order = shop.order_reaches(&order_id, &ada, "ORDER_STATUS_AWAITING_PAYMENT").await;
    assert_eq!(order["total"]["amountMinor"], "2500");
    shop.stock_is(&tea, &admin, 5, 2).await;
    let payment = shop.payment(&order_id, &ada).await;
    assert_eq!(payment["provider"], "PAYMENT_PROVIDER_MANUAL");
    assert_eq!(payment["status"], "PAYMENT_STATUS_PENDING");

    // The admin confirms it: paid, sold, and Ada hears about it.
    let confirmed =
        shop.http.send("POST", &format!("/v1/orders/{order_id}/payment:confirm"), Some(&admin), json!({})).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.json);
    shop.order_reaches(&order_id, &ada, "ORDER_STATUS_PAID").await;
    shop.stock_is(&tea, &admin, 3, 0).await;
    eventually("the inbox", || async {
        (shop.inbox(&ada).await == ["WELCOME", "ORDER_PLACED", "PAYMENT_SUCCEEDED"]).then_some(())
    })
    .await;
    shop.smtp.wait_for("three emails", |mails| mails.iter().filter(|m| m.to == ["ada@example.com"]).count() >= 3).await;

    // It all went over Kafka: the order's story is on its topic, in order, and nothing was
    // dead-lettered.
    assert_eq!(
        shop.kafka_events("mart.order.events", &order_id).await,
        ["OrderPlaced", "OrderAwaitingPayment", "OrderPaid"]
    );
    assert_eq!(shop.dead_letters().await, 0);
    shop.stop().await;
}
