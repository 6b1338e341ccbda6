//! Money given back after the customer paid, by an admin, through the edge: all of it before
//! the order ships (the order is cancelled and its stock goes back on the shelf), part of it
//! for one broken item after shipping (the order stays shipped and says how much went
//! back), and never more than was captured, however many admins click at once.

use http::StatusCode;
use mart_platform::test_util::eventually;
use serde_json::{Value, json};
use svc_payment::stripe_fake::FakeStripe;

use crate::support::{ADMIN_EMAIL, Payments, Settings, TestShop};

/// `minor` US cents as the edge writes Money.
fn usd(minor: i64) -> Value {
    json!({"amountMinor": minor.to_string(), "currency": "USD"})
}

/// The minor units of a Money in JSON; an absent or zero amount is 0.
fn minor(money: &Value) -> i64 {
    money["amountMinor"].as_str().map_or(0, |s| s.parse().expect("amountMinor is an integer"))
}

/// The google.rpc.ErrorInfo reason of an error answer.
fn reason(json: &Value) -> &str {
    json["details"].as_array().into_iter().flatten().find_map(|detail| detail["reason"].as_str()).unwrap_or_default()
}

/// Waits until `order_id` is AWAITING_PAYMENT (its manual payment exists), then the admin
/// confirms that the money came; waits until the order is PAID.
async fn pay_by_hand(shop: &TestShop, order_id: &str, customer: &str, admin: &str) {
    shop.order_reaches(order_id, customer, "ORDER_STATUS_AWAITING_PAYMENT").await;
    let confirmed =
        shop.http.send("POST", &format!("/v1/orders/{order_id}/payment:confirm"), Some(admin), json!({})).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.json);
    shop.order_reaches(order_id, customer, "ORDER_STATUS_PAID").await;
}

/// The admin ships `order_id`; the answer.
async fn ship(shop: &TestShop, order_id: &str, admin: &str) -> edge::test_client::Answer {
    shop.http
        .send(
            "POST",
            &format!("/v1/orders/{order_id}:ship"),
            Some(admin),
            json!({"carrier": "DHL", "trackingNumber": "JD0001"}),
        )
        .await
}

/// The admin's RefundPayment of `order_id` with `body`; the answer.
async fn refund(shop: &TestShop, order_id: &str, admin: &str, body: Value) -> edge::test_client::Answer {
    shop.http.send("POST", &format!("/v1/orders/{order_id}/payment:refund"), Some(admin), body).await
}

/// Waits until `order_id` says `minor` went back, in `status`; the order.
async fn order_refunded(shop: &TestShop, order_id: &str, token: &str, status: &str, refunded: i64) -> Value {
    eventually(&format!("order {order_id} in {status} with {refunded} refunded"), || async {
        let order = shop.http.get(&format!("/v1/orders/{order_id}"), Some(token)).await;
        let order = &order.json["order"];
        (order["status"] == status && minor(&order["refunded"]) == refunded).then(|| order.clone())
    })
    .await
}

// === a: a full refund before shipping ===

async fn an_admin_refunds_a_paid_order_before_shipping(settings: Settings) {
    let shop = TestShop::start_with(settings).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let tea = shop.product(&admin, "TEA-1", 1250, 5).await;
    let (ada, address) = shop.customer("ada@example.com").await;
    let available_before =
        shop.http.get(&format!("/v1/products/{tea}/stock"), Some(&admin)).await.json["stock"]["available"].clone();
    assert_eq!(available_before, 5);

    // Ada buys two, and the admin confirms her payment: the two units are sold.
    let order_id = shop.order(&ada, &address, &[(&tea, 2)]).await;
    pay_by_hand(&shop, &order_id, &ada, &admin).await;
    shop.stock_is(&tea, &admin, 3, 0).await;

    // Before it ships, the admin gives all of it back (no amount: everything).
    let refunded = refund(&shop, &order_id, &admin, json!({"reason": "out of date, found in the warehouse"})).await;
    assert_eq!(refunded.status, StatusCode::OK, "{}", refunded.json);
    assert_eq!(refunded.json["refund"]["status"], "REFUND_STATUS_SUCCEEDED", "{}", refunded.json);
    assert_eq!(minor(&refunded.json["refund"]["amount"]), 2500, "{}", refunded.json);
    assert_eq!(refunded.json["payment"]["status"], "PAYMENT_STATUS_REFUNDED", "{}", refunded.json);
    assert_eq!(minor(&refunded.json["payment"]["refunded"]), 2500, "{}", refunded.json);

    // The order is cancelled because of it, and says how much went back.
    let order = order_refunded(&shop, &order_id, &ada, "ORDER_STATUS_CANCELLED", 2500).await;
    assert_eq!(order["cancellationSource"], "CANCELLATION_SOURCE_REFUNDED", "{order}");
    assert_eq!(order["refunded"], usd(2500), "{order}");
    assert_eq!(minor(&order["total"]), 2500, "{order}");

    // The two units are back on the shelf, for sale as before the order.
    shop.stock_is(&tea, &admin, 5, 0).await;
    let stock = shop.http.get(&format!("/v1/products/{tea}/stock"), None).await;
    assert_eq!(stock.json["stock"]["available"], available_before, "{}", stock.json);

    // Nothing is left to ship, nor to refund.
    let shipped = ship(&shop, &order_id, &admin).await;
    assert_eq!(shipped.status, StatusCode::CONFLICT, "{}", shipped.json);
    assert_eq!(shipped.json["code"], "FAILED_PRECONDITION", "{}", shipped.json);
    let again = refund(&shop, &order_id, &admin, json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.json);
    assert_eq!(reason(&again.json), "REFUND_EXCEEDS_CAPTURED", "nothing is left to refund: {}", again.json);
    let payment = shop.payment(&order_id, &admin).await;
    assert_eq!(payment["status"], "PAYMENT_STATUS_REFUNDED", "{payment}");
    assert_eq!(payment["refunds"].as_array().map(Vec::len), Some(1), "one refund, not two: {payment}");

    // Ada is told: the money, and the cancellation (two events, in either order).
    let mut news = eventually("the refund and the cancellation in the inbox", || async {
        let inbox = shop.inbox(&ada).await;
        (inbox.len() == 5).then_some(inbox)
    })
    .await;
    assert_eq!(news[..3], ["WELCOME", "ORDER_PLACED", "PAYMENT_SUCCEEDED"]);
    news[3..].sort();
    assert_eq!(news[3..], ["ORDER_CANCELLED", "PAYMENT_REFUNDED"], "{news:?}");
    shop.stop().await;
}

#[tokio::test]
async fn an_admin_refunds_a_paid_order_before_shipping_and_it_is_cancelled_with_its_stock_back() {
    Box::pin(an_admin_refunds_a_paid_order_before_shipping(Settings::new(Payments::Manual))).await;
}

#[tokio::test]
async fn an_admin_refunds_a_paid_order_before_shipping_on_postgres() {
    Box::pin(an_admin_refunds_a_paid_order_before_shipping(Settings {
        postgres: true,
        ..Settings::new(Payments::Manual)
    }))
    .await;
}

// === b: a partial refund after shipping ===

async fn one_broken_cup_out_of_six(settings: Settings) {
    let shop = TestShop::start_with(settings).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let cup = shop.product(&admin, "CUP-1", 750, 10).await;
    let (bob, address) = shop.customer("bob@example.com").await;

    // Bob buys six cups; paid and shipped.
    let order_id = shop.order(&bob, &address, &[(&cup, 6)]).await;
    pay_by_hand(&shop, &order_id, &bob, &admin).await;
    let shipped = ship(&shop, &order_id, &admin).await;
    assert_eq!(shipped.status, StatusCode::OK, "{}", shipped.json);
    shop.order_reaches(&order_id, &bob, "ORDER_STATUS_SHIPPED").await;
    shop.stock_is(&cup, &admin, 4, 0).await;

    // One arrives broken: the admin gives back the price of that one cup.
    let one_cup = refund(
        &shop,
        &order_id,
        &admin,
        json!({"reason": "one cup arrived broken", "amount": usd(750), "lines": [{"productId": cup, "quantity": 1}]}),
    )
    .await;
    assert_eq!(one_cup.status, StatusCode::OK, "{}", one_cup.json);
    let refund_json = &one_cup.json["refund"];
    assert_eq!(refund_json["status"], "REFUND_STATUS_SUCCEEDED", "{}", one_cup.json);
    assert_eq!(refund_json["amount"], usd(750), "{}", one_cup.json);
    assert_eq!(refund_json["reason"], "one cup arrived broken", "{}", one_cup.json);
    assert_eq!(refund_json["lines"], json!([{"productId": cup, "quantity": 1}]), "{}", one_cup.json);
    assert_eq!(one_cup.json["payment"]["status"], "PAYMENT_STATUS_SUCCEEDED", "{}", one_cup.json);
    assert_eq!(minor(&one_cup.json["payment"]["refunded"]), 750, "{}", one_cup.json);

    // The order stays shipped and says how much went back; the cups stay sold.
    order_refunded(&shop, &order_id, &bob, "ORDER_STATUS_SHIPPED", 750).await;
    let payment = shop.payment(&order_id, &bob).await;
    assert_eq!((payment["status"].as_str(), minor(&payment["refunded"])), (Some("PAYMENT_STATUS_SUCCEEDED"), 750));
    assert!(payment["refunds"].as_array().is_none_or(Vec::is_empty), "refunds are for admins only: {payment}");

    // More than what is left (4500 - 750 = 3750) is refused, and changes nothing.
    let too_much = refund(&shop, &order_id, &admin, json!({"amount": usd(3751)})).await;
    assert_eq!(too_much.status, StatusCode::CONFLICT, "{}", too_much.json);
    assert_eq!(reason(&too_much.json), "REFUND_EXCEEDS_CAPTURED", "{}", too_much.json);
    let payment = shop.payment(&order_id, &admin).await;
    assert_eq!(minor(&payment["refunded"]), 750, "{payment}");
    assert_eq!(payment["refunds"].as_array().map(Vec::len), Some(1), "{payment}");

    // The rest goes back: the payment is refunded in full, the order is still shipped.
    let rest = refund(&shop, &order_id, &admin, json!({"reason": "a goodwill gesture"})).await;
    assert_eq!(rest.status, StatusCode::OK, "{}", rest.json);
    assert_eq!(rest.json["refund"]["amount"], usd(3750), "{}", rest.json);
    assert_eq!(rest.json["payment"]["status"], "PAYMENT_STATUS_REFUNDED", "{}", rest.json);
    assert_eq!(minor(&rest.json["payment"]["refunded"]), 4500, "{}", rest.json);
    let order = order_refunded(&shop, &order_id, &bob, "ORDER_STATUS_SHIPPED", 4500).await;
    assert_eq!(minor(&order["total"]), 4500, "{order}");
    let refunds = shop.payment(&order_id, &admin).await["refunds"].clone();
    let amounts: Vec<(i64, &str)> = refunds
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (minor(&r["amount"]), r["status"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(amounts, [(750, "REFUND_STATUS_SUCCEEDED"), (3750, "REFUND_STATUS_SUCCEEDED")], "{refunds}");

    // A shipped order's stock is not the shop's any more: nothing went back on the shelf.
    shop.stock_is(&cup, &admin, 4, 0).await;
    assert_eq!(shop.movements(&cup, &admin).await, ["INITIAL", "RESERVATION", "COMMIT"]);
    shop.stop().await;
}

#[tokio::test]
async fn one_broken_cup_out_of_six_is_refunded_and_the_order_stays_shipped() {
    Box::pin(one_broken_cup_out_of_six(Settings::new(Payments::Manual))).await;
}

#[tokio::test]
async fn one_broken_cup_out_of_six_on_postgres() {
    Box::pin(one_broken_cup_out_of_six(Settings { postgres: true, ..Settings::new(Payments::Manual) })).await;
}

// === c: concurrent partial refunds ===

/// How the story's customer pays.
enum Paying<'a> {
    /// The admin confirms a manual payment.
    ByHand,
    /// Stripe's webhook says the card was charged.
    Card(&'a FakeStripe),
}

async fn concurrent_partial_refunds(settings: Settings, paying: Paying<'_>) {
    const TOTAL: i64 = 4000;
    let shop = TestShop::start_with(settings).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let lamp = shop.product(&admin, "LAMP-1", TOTAL / 2, 4).await;
    let (cy, address) = shop.customer("cy@example.com").await;

    let order_id = shop.order(&cy, &address, &[(&lamp, 2)]).await;
    match paying {
        Paying::ByHand => pay_by_hand(&shop, &order_id, &cy, &admin).await,
        Paying::Card(stripe) => {
            shop.order_reaches(&order_id, &cy, "ORDER_STATUS_AWAITING_PAYMENT").await;
            let intent = eventually("the PaymentIntent", || async { stripe.intents().pop() }).await;
            let paid = shop.deliver(&stripe.succeed(&intent.id)).await;
            assert_eq!(paid.status, StatusCode::OK, "{}", paid.json);
            shop.order_reaches(&order_id, &cy, "ORDER_STATUS_PAID").await;
        }
    }
    shop.stock_is(&lamp, &admin, 2, 0).await;

    // Ten refunds of a quarter each, all at once: four fit in what was captured.
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..10 {
        let (http, admin, order_id) = (shop.http.clone(), admin.clone(), order_id.clone());
        calls.spawn(async move {
            let body = json!({"reason": format!("click {n}"), "amount": usd(TOTAL / 4)});
            http.send("POST", &format!("/v1/orders/{order_id}/payment:refund"), Some(&admin), body).await
        });
    }
    let answers = calls.join_all().await;
    let (given, refused): (Vec<_>, Vec<_>) = answers.iter().partition(|a| a.status == StatusCode::OK);
    let statuses: Vec<_> = answers.iter().map(|a| (a.status.as_u16(), reason(&a.json).to_owned())).collect();
    assert_eq!((given.len(), refused.len()), (4, 6), "{statuses:?}");
    for answer in &given {
        assert_eq!(minor(&answer.json["refund"]["amount"]), TOTAL / 4, "{}", answer.json);
    }
    // Each refused one found the money promised to the others, or already gone: the same
    // answer either way, with what is left (nothing).
    for answer in &refused {
        assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.json);
        assert_eq!(answer.json["code"], "FAILED_PRECONDITION", "{}", answer.json);
        assert_eq!(reason(&answer.json), "REFUND_EXCEEDS_CAPTURED", "{statuses:?}");
    }

    // All of it went back, in four refunds, and no more.
    let payment = eventually("the payment refunded", || async {
        let payment = shop.payment(&order_id, &admin).await;
        (payment["status"] == "PAYMENT_STATUS_REFUNDED").then_some(payment)
    })
    .await;
    assert_eq!(minor(&payment["refunded"]), TOTAL, "{payment}");
    let refunds = payment["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 4, "{payment}");
    assert!(refunds.iter().all(|r| r["status"] == "REFUND_STATUS_SUCCEEDED"), "{payment}");
    if let Paying::Card(stripe) = paying {
        let at_stripe: Vec<i64> = stripe.refunds().iter().map(|r| r.amount).collect();
        assert_eq!(at_stripe, [TOTAL / 4; 4], "four refunds at Stripe");
    }

    // Not shipped, refunded in full: the order is cancelled and its stock is back.
    let order = order_refunded(&shop, &order_id, &cy, "ORDER_STATUS_CANCELLED", TOTAL).await;
    assert_eq!(order["cancellationSource"], "CANCELLATION_SOURCE_REFUNDED", "{order}");
    shop.stock_is(&lamp, &admin, 4, 0).await;
    shop.stop().await;
}

#[tokio::test]
async fn concurrent_partial_refunds_never_exceed_what_was_captured() {
    Box::pin(concurrent_partial_refunds(Settings::new(Payments::Manual), Paying::ByHand)).await;
}

#[tokio::test]
async fn concurrent_partial_refunds_never_exceed_what_was_captured_on_postgres() {
    Box::pin(concurrent_partial_refunds(
        Settings { postgres: true, ..Settings::new(Payments::Manual) },
        Paying::ByHand,
    ))
    .await;
}

#[tokio::test]
async fn concurrent_partial_refunds_of_a_card_payment_never_exceed_what_stripe_captured() {
    let stripe = FakeStripe::start().await;
    Box::pin(concurrent_partial_refunds(Settings::new(Payments::stripe(&stripe)), Paying::Card(&stripe))).await;
}
