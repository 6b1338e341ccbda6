//! The shop, or one of its services, goes down in the middle of a checkout and comes back:
//! the checkout finishes as if nothing happened. No event is lost on the way, none acts
//! twice: one PaymentIntent, one reservation, one email per notification.

use http::StatusCode;
use mart_platform::{config::Service, test_util::eventually};
use serde_json::json;
use svc_payment::stripe_fake::FakeStripe;

use crate::support::{ADMIN_EMAIL, Payments, TestShop};

#[tokio::test]
async fn a_checkout_survives_the_shop_restarting_twice_and_charges_once() {
    let stripe = FakeStripe::start().await;
    let shop = TestShop::start(Payments::stripe(&stripe)).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let mug = shop.product(&admin, "MUG-1", 900, 3).await;
    let (cy, address) = shop.customer("cy@example.com").await;

    // Cy places the order, and the shop goes down at once, with the saga under way.
    let order_id = shop.order(&cy, &address, &[(&mug, 1)]).await;
    let shop = shop.restart().await;

    // Back up, it carries on: the mug is reserved and Stripe has one PaymentIntent.
    shop.order_reaches(&order_id, &cy, "ORDER_STATUS_AWAITING_PAYMENT").await;
    shop.stock_is(&mug, &admin, 3, 1).await;
    let intent = eventually("the PaymentIntent", || async { stripe.intents().pop() }).await;

    // Cy pays; Stripe's webhook is taken, and the shop goes down again right after.
    let paid = shop.deliver(&stripe.succeed(&intent.id)).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.json);
    let shop = shop.restart().await;

    // Paid, the reservation sold, exactly once each.
    shop.order_reaches(&order_id, &cy, "ORDER_STATUS_PAID").await;
    shop.stock_is(&mug, &admin, 2, 0).await;
    assert_eq!(shop.movements(&mug, &admin).await, ["INITIAL", "RESERVATION", "COMMIT"]);
    assert_eq!(shop.payment(&order_id, &cy).await["status"], "PAYMENT_STATUS_SUCCEEDED");
    assert_eq!(stripe.intents().len(), 1, "one PaymentIntent, so one charge");
    assert!(stripe.refunds().is_empty());

    // One notification of each kind, and one email for each notification.
    let inbox = eventually("the payment in the inbox", || async {
        let inbox = shop.notifications(&cy).await;
        (inbox.len() >= 3).then_some(inbox)
    })
    .await;
    let kinds: Vec<_> = inbox.iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["NOTIFICATION_KIND_WELCOME", "NOTIFICATION_KIND_ORDER_PLACED", "NOTIFICATION_KIND_PAYMENT_SUCCEEDED"]
    );
    shop.smtp.wait_for("three emails", |mails| mails.iter().filter(|m| m.to == ["cy@example.com"]).count() >= 3).await;
    let mut subjects = shop.mail_subjects("cy@example.com");
    let mut expected: Vec<_> = inbox.iter().map(|n| n["subject"].as_str().unwrap().to_owned()).collect();
    subjects.sort();
    expected.sort();
    assert_eq!(subjects, expected);
    shop.stop().await;
}

#[tokio::test]
async fn services_down_during_a_checkout_catch_up_when_they_return_and_act_once() {
    let mut shop = TestShop::start(Payments::Manual).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let tea = shop.product(&admin, "TEA-1", 1250, 5).await;
    let (ada, address) = shop.customer("ada@example.com").await;

    // The inventory is down when Ada places her order: the order waits for it.
    shop.down(Service::Inventory).await;
    let stock = shop.http.get(&format!("/v1/products/{tea}/stock"), Some(&admin)).await;
    assert_eq!(stock.status, StatusCode::SERVICE_UNAVAILABLE, "{}", stock.json);
    let order_id = shop.order(&ada, &address, &[(&tea, 2)]).await;
    shop.up(Service::Inventory).await;
    shop.order_reaches(&order_id, &ada, "ORDER_STATUS_AWAITING_PAYMENT").await;
    shop.stock_is(&tea, &admin, 5, 2).await;
    shop.payment(&order_id, &ada).await;

    // Notifications are down when the admin confirms the payment: the rest of the shop
    // goes on without them.
    shop.down(Service::Notify).await;
    let inbox = shop.http.get("/v1/notifications", Some(&ada)).await;
    assert_eq!(inbox.status, StatusCode::SERVICE_UNAVAILABLE, "{}", inbox.json);
    let confirmed =
        shop.http.send("POST", &format!("/v1/orders/{order_id}/payment:confirm"), Some(&admin), json!({})).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.json);
    shop.order_reaches(&order_id, &ada, "ORDER_STATUS_PAID").await;
    shop.stock_is(&tea, &admin, 3, 0).await;
    assert_eq!(shop.movements(&tea, &admin).await, ["INITIAL", "RESERVATION", "COMMIT"]);

    // Back up, they tell Ada what she missed, once each, by inbox and by email.
    shop.up(Service::Notify).await;
    let inbox = eventually("the payment in the inbox", || async {
        let inbox = shop.notifications(&ada).await;
        (inbox.len() >= 3).then_some(inbox)
    })
    .await;
    let kinds: Vec<_> = inbox.iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["NOTIFICATION_KIND_WELCOME", "NOTIFICATION_KIND_ORDER_PLACED", "NOTIFICATION_KIND_PAYMENT_SUCCEEDED"]
    );
    shop.smtp.wait_for("three emails", |mails| mails.iter().filter(|m| m.to == ["ada@example.com"]).count() >= 3).await;
    let mut subjects = shop.mail_subjects("ada@example.com");
    let mut expected: Vec<_> = inbox.iter().map(|n| n["subject"].as_str().unwrap().to_owned()).collect();
    subjects.sort();
    expected.sort();
    assert_eq!(subjects, expected);
    shop.stop().await;
}
