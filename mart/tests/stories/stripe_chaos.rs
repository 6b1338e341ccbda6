//! The Stripe checkout while Stripe misbehaves throughout: 5xx bursts on PaymentIntents and
//! refunds, refunds that take 5 s, a lost reply, webhooks delivered twice and out of order,
//! and the whole shop restarted (its relays with it) while refunds are still owed. What the
//! shop owner must see at the end: every order final, every captured amount either matched
//! by a shipped order or given back, and the orders, the payments, Stripe and the stock
//! ledger telling the same story.

use std::{collections::HashMap, time::Duration};

use http::StatusCode;
use mart_platform::test_util::within;
use serde_json::{Value, json};
use svc_payment::stripe_fake::FakeStripe;

use crate::support::{ADMIN_EMAIL, Payments, Settings, TestShop};

/// The minor units of a Money in JSON; absent is 0.
fn minor(money: &Value) -> i64 {
    money["amountMinor"].as_str().map_or(0, |s| s.parse().expect("amountMinor is an integer"))
}

/// What becomes of each order in the story.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// Cancelled by the customer before paying.
    Abandoned,
    /// Paid, then cancelled by the customer: refunded.
    Regretted,
    /// Paid, part refunded by an admin, shipped.
    PartlyRefunded,
    /// Paid (a stale decline arriving after the success), shipped.
    PaidOutOfOrder,
    /// Paid (the webhook twice), shipped.
    Shipped,
}

fn fate(i: usize) -> Fate {
    match i {
        0 => Fate::Abandoned,
        1 | 2 => Fate::Regretted,
        4 => Fate::PartlyRefunded,
        3 | 5 => Fate::PaidOutOfOrder,
        _ => Fate::Shipped,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stripe_checkout_survives_a_misbehaving_stripe() {
    let stripe = FakeStripe::start().await;
    let settings = Settings {
        // Stripe's outages here last seconds, not hours: retry every second at most.
        vars: vec![("MART_PAYMENT_RETRY_MAX_INTERVAL", "1s")],
        ..Settings::new(Payments::stripe(&stripe))
    };
    let mut shop = TestShop::start_with(settings).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let (cups, pots) = (shop.product(&admin, "CUP-1", 700, 40).await, shop.product(&admin, "POT-1", 1300, 40).await);

    // Stripe is down for PaymentIntents as the customers check out, and loses a reply.
    stripe.fail_for("/v1/payment_intents", Duration::from_secs(3));
    stripe.lose_replies(1);
    let mut orders = Vec::new();
    for i in 0..12 {
        let (customer, address) = shop.customer(&format!("chaos{i}@example.com")).await;
        let units = 1 + (i % 3);
        let mut lines = vec![(cups.as_str(), units)];
        if i % 2 == 0 {
            lines.push((pots.as_str(), 1));
        }
        let order_id = shop.order(&customer, &address, &lines).await;
        orders.push((order_id, customer, lines.iter().map(|(p, q)| ((*p).to_owned(), *q)).collect::<Vec<_>>()));
    }

    // Each order becomes payable once Stripe answers; then the customers act.
    let mut intents = HashMap::new();
    for (order_id, customer, _) in &orders {
        within(Duration::from_secs(30), "the order to await payment", || async {
            let order = shop.http.get(&format!("/v1/orders/{order_id}"), Some(customer)).await;
            (order.json["order"]["status"] == "ORDER_STATUS_AWAITING_PAYMENT").then_some(())
        })
        .await;
        let payment = shop.http.get(&format!("/v1/orders/{order_id}/payment"), Some(customer)).await;
        assert_eq!(payment.status, StatusCode::OK, "{}", payment.json);
        intents.insert(order_id.clone(), payment.json["payment"]["providerReference"].as_str().unwrap().to_owned());
    }
    for (i, (order_id, customer, _)) in orders.iter().enumerate() {
        let intent = &intents[order_id];
        match fate(i) {
            Fate::Abandoned => {
                let cancel =
                    shop.http.send("POST", &format!("/v1/orders/{order_id}:cancel"), Some(customer), json!({})).await;
                assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.json);
            }
            Fate::PaidOutOfOrder => {
                let declined = stripe.decline(intent, "card_declined");
                let succeeded = stripe.succeed(intent);
                assert_eq!(shop.deliver(&succeeded).await.status, StatusCode::OK);
                assert_eq!(shop.deliver(&declined).await.status, StatusCode::OK, "a stale decline, after the success");
            }
            Fate::Regretted | Fate::PartlyRefunded | Fate::Shipped => {
                let succeeded = stripe.succeed(intent);
                assert_eq!(shop.deliver(&succeeded).await.status, StatusCode::OK);
                assert_eq!(shop.deliver(&succeeded).await.status, StatusCode::OK, "Stripe delivers twice");
            }
        }
    }
    for (i, (order_id, customer, _)) in orders.iter().enumerate() {
        if fate(i) != Fate::Abandoned {
            shop.order_reaches(order_id, customer, "ORDER_STATUS_PAID").await;
        }
    }

    // Refunds now take Stripe 5 s, and for a while it answers them with 503s; meanwhile two
    // customers cancel what they paid for and an admin gives back part of one order.
    stripe.stall_for("/v1/refunds", Duration::from_secs(5), Duration::from_secs(15));
    stripe.fail_for("/v1/refunds", Duration::from_secs(4));
    for (i, (order_id, customer, _)) in orders.iter().enumerate() {
        match fate(i) {
            Fate::Regretted => {
                let path = format!("/v1/orders/{order_id}:cancel");
                let cancel = shop.http.send("POST", &path, Some(customer), json!({})).await;
                assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.json);
            }
            Fate::PartlyRefunded => {
                let path = format!("/v1/orders/{order_id}/payment:refund");
                let body = json!({"reason": "one cup chipped", "amount": {"amountMinor": "700", "currency": "USD"},
                                  "lines": [{"productId": cups, "quantity": 1}]});
                let refund = shop.http.send("POST", &path, Some(&admin), body).await;
                assert_eq!(
                    refund.status,
                    StatusCode::OK,
                    "the refund is taken, even with Stripe down: {}",
                    refund.json
                );
            }
            _ => {}
        }
    }

    // The shop restarts while those refunds are owed (relays and the call worker with it).
    shop = shop.restart().await;
    for (i, (order_id, _, _)) in orders.iter().enumerate() {
        if matches!(fate(i), Fate::PartlyRefunded | Fate::PaidOutOfOrder | Fate::Shipped) {
            let path = format!("/v1/orders/{order_id}:ship");
            let shipped =
                shop.http.send("POST", &path, Some(&admin), json!({"carrier": "DHL", "trackingNumber": "JD1"})).await;
            assert_eq!(shipped.status, StatusCode::OK, "{}", shipped.json);
        }
    }

    // Everything settles by itself: no operator action.
    let settled = within(Duration::from_secs(60), "every order final and no refund owed", || async {
        let mut settled = Vec::new();
        for (order_id, _, _) in &orders {
            let order = shop.http.get(&format!("/v1/orders/{order_id}"), Some(&admin)).await.json["order"].clone();
            let payment =
                shop.http.get(&format!("/v1/orders/{order_id}/payment"), Some(&admin)).await.json["payment"].clone();
            let final_order = ["ORDER_STATUS_SHIPPED", "ORDER_STATUS_CANCELLED"].contains(&order["status"].as_str()?);
            let owed = payment["refunds"].as_array()?.iter().any(|r| r["status"] == "REFUND_STATUS_PENDING");
            let refunded_as_said = minor(&order["refunded"]) == minor(&payment["refunded"]);
            if !final_order || owed || !refunded_as_said {
                return None;
            }
            settled.push((order, payment));
        }
        Some(settled)
    })
    .await;

    // What the owner sees, computed from the shop and from Stripe, not from the script.
    let at_stripe = stripe.intents();
    let given_back = stripe.refunds();
    let (mut shipped, mut cancelled, mut refunds, mut partial, mut captured_all, mut refunded_all) = (0, 0, 0, 0, 0, 0);
    let mut units_shipped: HashMap<String, i32> = HashMap::new();
    for ((order_id, _, lines), (order, payment)) in orders.iter().zip(&settled) {
        let intent = &intents[order_id];
        let mine: Vec<_> = at_stripe.iter().filter(|i| i.metadata.get("order_id") == Some(order_id)).collect();
        assert_eq!(mine.len(), 1, "one PaymentIntent per order: {mine:?}");
        let captured = if mine[0].status == "succeeded" { mine[0].amount } else { 0 };
        let refunded: i64 = given_back.iter().filter(|r| &r.payment_intent == intent).map(|r| r.amount).sum();
        assert!(refunded <= captured, "order {order_id}: Stripe gave back {refunded} of {captured}");
        let total = minor(&order["total"]);
        match order["status"].as_str().unwrap() {
            "ORDER_STATUS_SHIPPED" => {
                shipped += 1;
                assert_eq!(captured, total, "a shipped order was paid in full: {order}");
                for (product, units) in lines {
                    *units_shipped.entry(product.clone()).or_default() += units;
                }
            }
            _ => {
                cancelled += 1;
                assert_eq!(refunded, captured, "a cancelled order keeps no money: {order} {payment}");
            }
        }
        assert_eq!(minor(&order["refunded"]), refunded, "the order says what Stripe gave back: {order}");
        assert_eq!(minor(&payment["refunded"]), refunded, "so does the payment: {payment}");
        let succeeded_refunds =
            payment["refunds"].as_array().unwrap().iter().filter(|r| r["status"] == "REFUND_STATUS_SUCCEEDED");
        let succeeded_refunds: Vec<_> = succeeded_refunds.collect();
        refunds += succeeded_refunds.len();
        partial += succeeded_refunds.iter().filter(|r| minor(&r["amount"]) < captured).count();
        let expected_payment = match (captured, refunded) {
            (0, _) => "PAYMENT_STATUS_CANCELLED",
            (c, r) if r == c => "PAYMENT_STATUS_REFUNDED",
            _ => "PAYMENT_STATUS_SUCCEEDED",
        };
        assert_eq!(payment["status"], expected_payment, "{payment}");
        captured_all += captured;
        refunded_all += refunded;
    }
    assert_eq!((shipped, cancelled), (9, 3), "as the customers and the admin decided");

    // The ledger agrees: what is gone from the shelf is what was shipped, nothing held.
    for product in [&cups, &pots] {
        let sold = units_shipped.get(product.as_str()).copied().unwrap_or_default();
        shop.stock_is(product, &admin, 40 - sold, 0).await;
    }
    let dead_letters = shop.dead_letters().await;
    assert_eq!(dead_letters, 0, "no event was given up on (a money mismatch would be one)");
    eprintln!(
        "chaos summary: orders={} shipped={shipped} cancelled={cancelled} refunds={refunds} (partial {partial}) \
         captured_minor={captured_all} refunded_minor={refunded_all} intents={} stripe_503s={} mismatches=0 \
         dead_letters={dead_letters}",
        orders.len(),
        at_stripe.len(),
        stripe.refused_calls(),
    );
    shop.stop().await;
}
