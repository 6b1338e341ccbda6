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

/// Polls order `id` as `token` sees it, with no pause to speak of, until it leaves the
/// states before AWAITING_PAYMENT; the order at that moment.
async fn the_moment_it_awaits_payment(shop: &TestShop, id: &str, token: &str) -> serde_json::Value {
    mart_platform::test_util::within(std::time::Duration::from_secs(15), "the order to await payment", || async {
        let order = shop.http.get(&format!("/v1/orders/{id}"), Some(token)).await.json["order"].clone();
        let before = ["ORDER_STATUS_PENDING", "ORDER_STATUS_RESERVED"];
        (!before.contains(&order["status"].as_str().unwrap_or_default())).then_some(order)
    })
    .await
}

/// AWAITING_PAYMENT means "the payment exists, pay now", even where the gap between the
/// reservation and the payment is widest (Kafka between the services): the moment GetOrder
/// says so, GetPayment answers and the admin's confirmation is taken, on the first try.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_awaiting_payment_can_be_paid_at_once_on_kafka() {
    let shop = TestShop::start_with(Settings { bus: Bus::Kafka, ..Settings::new(Payments::Manual) }).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let tea = shop.product(&admin, "TEA-2", 900, 50).await;
    let (ada, address) = shop.customer("ada@example.com").await;
    for _ in 0..3 {
        let order_id = shop.order(&ada, &address, &[(&tea, 1)]).await;
        let order = the_moment_it_awaits_payment(&shop, &order_id, &ada).await;
        assert_eq!(order["status"], "ORDER_STATUS_AWAITING_PAYMENT", "{order}");
        assert!(order["paymentDueBy"].is_string(), "the deadline is shown: {order}");
        let payment = shop.http.get(&format!("/v1/orders/{order_id}/payment"), Some(&ada)).await;
        assert_eq!(payment.status, StatusCode::OK, "GetPayment on the first try: {}", payment.json);
        assert_eq!(payment.json["payment"]["status"], "PAYMENT_STATUS_PENDING");
        let path = format!("/v1/orders/{order_id}/payment:confirm");
        let confirmed = shop.http.send("POST", &path, Some(&admin), json!({})).await;
        assert_eq!(confirmed.status, StatusCode::OK, "the confirmation on the first try: {}", confirmed.json);
        shop.order_reaches(&order_id, &ada, "ORDER_STATUS_PAID").await;
        // A cap of three open unpaid orders: each is paid before the next.
    }
    assert_eq!(shop.dead_letters().await, 0);
    shop.stop().await;
}

/// The same with Stripe: the moment the order awaits payment, its PaymentIntent exists and
/// GetPayment hands the customer its client secret for Stripe.js.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_payment_is_payable_the_moment_the_order_awaits_it_on_kafka() {
    let stripe = svc_payment::stripe_fake::FakeStripe::start().await;
    let shop = TestShop::start_with(Settings { bus: Bus::Kafka, ..Settings::new(Payments::stripe(&stripe)) }).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let tea = shop.product(&admin, "TEA-3", 1100, 50).await;
    let (ada, address) = shop.customer("ada@example.com").await;
    for _ in 0..3 {
        let order_id = shop.order(&ada, &address, &[(&tea, 1)]).await;
        let order = the_moment_it_awaits_payment(&shop, &order_id, &ada).await;
        assert_eq!(order["status"], "ORDER_STATUS_AWAITING_PAYMENT", "{order}");
        let payment = shop.http.get(&format!("/v1/orders/{order_id}/payment"), Some(&ada)).await;
        assert_eq!(payment.status, StatusCode::OK, "GetPayment on the first try: {}", payment.json);
        let secret = payment.json["payment"]["clientSecret"].as_str().unwrap_or_default().to_owned();
        let intent = payment.json["payment"]["providerReference"].as_str().unwrap_or_default().to_owned();
        assert!(!secret.is_empty() && secret.starts_with(&intent), "payable at once: {}", payment.json);
        let paid = shop.deliver(&stripe.succeed(&intent)).await;
        assert_eq!(paid.status, StatusCode::OK, "{}", paid.json);
        shop.order_reaches(&order_id, &ada, "ORDER_STATUS_PAID").await;
    }
    assert_eq!(shop.dead_letters().await, 0);
    shop.stop().await;
}
