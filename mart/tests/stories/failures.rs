//! Checkouts that do not end paid: too little stock, a declined card, a payment that never
//! comes. Each ends in a final state the customer can see and is told about, and every
//! unit of stock is back on the shelf.

use std::time::Duration;

use http::StatusCode;
use mart_platform::test_util::eventually;
use serde_json::json;
use svc_payment::stripe_fake::FakeStripe;

use crate::support::{ADMIN_EMAIL, Payments, Settings, TestShop};

#[tokio::test]
async fn an_order_for_more_than_the_shelf_holds_is_rejected_and_reserves_nothing() {
    let shop = TestShop::start(Payments::Manual).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let tea = shop.product(&admin, "TEA-1", 1250, 5).await;
    let pot = shop.product(&admin, "POT-1", 4000, 1).await;
    let (ada, address) = shop.customer("ada@example.com").await;

    // Ada wants tea, which there is, and two teapots, of which there is one.
    let order_id = shop.order(&ada, &address, &[(&tea, 2), (&pot, 2)]).await;

    // Rejected, and the order says which line was short and by how much.
    let order = shop.order_reaches(&order_id, &ada, "ORDER_STATUS_REJECTED").await;
    // (A single-variant product's one variant is the product: its id twice.)
    assert_eq!(
        order["rejectedLines"],
        json!([{"productId": pot, "variantId": pot, "requested": 2, "available": 1}]),
        "{order}"
    );

    // All or nothing: not even the tea was reserved, not for a moment.
    shop.stock_is(&tea, &admin, 5, 0).await;
    shop.stock_is(&pot, &admin, 1, 0).await;
    assert_eq!(shop.movements(&tea, &admin).await, ["INITIAL"]);
    assert_eq!(shop.movements(&pot, &admin).await, ["INITIAL"]);

    // Ada is told, in her inbox and by email, about this order.
    let inbox = eventually("the rejection in the inbox", || async {
        let inbox = shop.notifications(&ada).await;
        (inbox.len() == 3).then_some(inbox)
    })
    .await;
    let kinds: Vec<_> = inbox.iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["NOTIFICATION_KIND_WELCOME", "NOTIFICATION_KIND_ORDER_PLACED", "NOTIFICATION_KIND_ORDER_REJECTED"]
    );
    assert_eq!(inbox[2]["orderId"], order_id.as_str());
    let rejection = inbox[2]["subject"].as_str().unwrap().to_owned();
    shop.smtp
        .wait_for("the rejection email", |mails| {
            mails.iter().any(|m| m.to == ["ada@example.com"] && m.subject().as_deref() == Some(rejection.as_str()))
        })
        .await;

    // The one teapot is still for sale: ordered on its own, it is reserved for her.
    let second = shop.order(&ada, &address, &[(&pot, 1)]).await;
    shop.order_reaches(&second, &ada, "ORDER_STATUS_AWAITING_PAYMENT").await;
    shop.stock_is(&pot, &admin, 1, 1).await;
    shop.stop().await;
}

#[tokio::test]
async fn a_declined_card_cancels_the_order_and_puts_the_stock_back() {
    let stripe = FakeStripe::start().await;
    let shop = TestShop::start(Payments::stripe(&stripe)).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let mug = shop.product(&admin, "MUG-1", 900, 3).await;
    let (bob, address) = shop.customer("bob@example.com").await;

    let order_id = shop.order(&bob, &address, &[(&mug, 2)]).await;
    shop.order_reaches(&order_id, &bob, "ORDER_STATUS_AWAITING_PAYMENT").await;
    shop.stock_is(&mug, &admin, 3, 2).await;
    let intent = eventually("the PaymentIntent", || async { stripe.intents().pop() }).await;

    // Stripe declines Bob's card and says so by webhook.
    let declined = shop.deliver(&stripe.decline(&intent.id, "insufficient_funds")).await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.json);

    // The order is cancelled for that reason, and both mugs are back on the shelf.
    let order = shop.order_reaches(&order_id, &bob, "ORDER_STATUS_CANCELLED").await;
    assert_eq!(order["cancellationSource"], "CANCELLATION_SOURCE_PAYMENT_FAILED", "{order}");
    shop.stock_is(&mug, &admin, 3, 0).await;
    assert_eq!(shop.movements(&mug, &admin).await, ["INITIAL", "RESERVATION", "RELEASE"]);

    // The payment failed; the PaymentIntent is cancelled so it cannot be paid later; no money moved.
    assert_eq!(shop.payment(&order_id, &bob).await["status"], "PAYMENT_STATUS_FAILED");
    let intents = stripe.intents();
    assert_eq!((intents.len(), intents[0].status.as_str()), (1, "canceled"));
    assert!(stripe.refunds().is_empty());

    eventually("the cancellation in the inbox", || async {
        (shop.inbox(&bob).await == ["WELCOME", "ORDER_PLACED", "ORDER_CANCELLED"]).then_some(())
    })
    .await;
    shop.stop().await;
}

#[tokio::test]
async fn an_order_nobody_pays_in_time_is_cancelled_and_its_stock_released() {
    let shop = TestShop::start_with(Settings {
        payment_timeout: Some(Duration::from_secs(1)),
        ..Settings::new(Payments::Manual)
    })
    .await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let tea = shop.product(&admin, "TEA-1", 1250, 5).await;
    let (ada, address) = shop.customer("ada@example.com").await;

    // Ada orders and never pays.
    let order_id = shop.order(&ada, &address, &[(&tea, 2)]).await;

    // A second after the stock was reserved the order gives up, and the stock is back.
    let order = shop.order_reaches(&order_id, &ada, "ORDER_STATUS_CANCELLED").await;
    assert_eq!(order["cancellationSource"], "CANCELLATION_SOURCE_PAYMENT_EXPIRED", "{order}");
    shop.stock_is(&tea, &admin, 5, 0).await;
    assert_eq!(shop.movements(&tea, &admin).await, ["INITIAL", "RESERVATION", "RELEASE"]);

    // The payment is closed too, so the admin's confirmation arriving late is refused.
    let closed = eventually("the payment closed", || async {
        let payment = shop.payment(&order_id, &admin).await;
        (payment["status"] != "PAYMENT_STATUS_PENDING").then_some(payment)
    })
    .await;
    assert!(
        ["PAYMENT_STATUS_FAILED", "PAYMENT_STATUS_CANCELLED"].contains(&closed["status"].as_str().unwrap_or_default()),
        "{closed}"
    );
    let late = shop.http.send("POST", &format!("/v1/orders/{order_id}/payment:confirm"), Some(&admin), json!({})).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.json);
    let order = shop.http.get(&format!("/v1/orders/{order_id}"), Some(&ada)).await;
    assert_eq!(order.json["order"]["status"], "ORDER_STATUS_CANCELLED");

    eventually("the cancellation in the inbox", || async {
        (shop.inbox(&ada).await == ["WELCOME", "ORDER_PLACED", "ORDER_CANCELLED"]).then_some(())
    })
    .await;
    shop.stop().await;
}
