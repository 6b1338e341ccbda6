//! Refunds reach the order: every PaymentRefunded is recorded on it (`refunded`, and a
//! history entry with the amount, the reason and the lines). A refund in full before the
//! order ships cancels it (source REFUNDED) and its stock goes back; after shipping, or in
//! part, it is recorded only. The same refund told twice, or refunds told out of order,
//! never lower what is recorded; a refund that is not the order's money goes to the DLQ.

use mart_platform::{
    db_tests,
    test_util::{TestDb, eventually, publish, publish_envelope},
};
use mart_proto::{
    events::{self as ev, PaymentRefunded, envelope::Payload},
    order as pb,
};
use pb::OrderStatus as S;

use crate::support::{Customer, Refund, Shop, authed, eur, kinds};

db_tests!(
    a_full_refund_of_a_paid_order_cancels_it_and_restocks,
    a_full_refund_after_shipping_or_cancelling_is_recorded_only,
    a_partial_refund_is_recorded_once_and_never_moves_the_order,
    a_refund_that_is_not_the_order_s_money_is_refused,
);

/// Ada's order of two SENCHA (25.98 EUR), paid; the product, with five in stock before.
async fn paid_order(shop: &Shop, ada: &Customer) -> (pb::Order, String) {
    let sencha = shop.product("SENCHA", 1299, 5).await;
    shop.add(ada, &sencha, 2).await.unwrap();
    let placed = shop.place(ada).await.unwrap();
    let awaiting = shop.awaiting_payment(ada, &placed.id).await;
    shop.pay(&awaiting, "pay-1").await;
    (shop.wait_for(ada, &placed.id, S::Paid).await, sencha)
}

/// Waits until `who`'s order `order_id` says `refunded` minor units went back; the order.
async fn refunded(shop: &Shop, who: &Customer, order_id: &str, refunded: i64) -> pb::Order {
    eventually(&format!("{refunded} to be refunded"), || async {
        shop.get(&who.token, order_id).await.ok().filter(|order| order.refunded == Some(eur(refunded)))
    })
    .await
}

async fn a_full_refund_of_a_paid_order_cancels_it_and_restocks(db: TestDb) {
    let shop = Shop::open(db).await;
    let announcements = shop.announcements().await;
    let ada = shop.customer("ada@mart.test").await;
    let (paid, sencha) = paid_order(&shop, &ada).await;
    assert_eq!(paid.refunded, Some(eur(0)), "nothing given back yet");
    eventually("the sale to be committed", || async { (shop.available(&sencha).await == Some(3)).then_some(()) }).await;

    let full = Refund { id: "re-1", amount: 2598, so_far: 2598, full: true, reason: "", lines: &[] };
    shop.refund(&paid, full).await;
    let cancelled = shop.wait_for(&ada, &paid.id, S::Cancelled).await;
    assert_eq!(cancelled.cancellation_source(), pb::CancellationSource::Refunded);
    assert_eq!(cancelled.cancellation_reason, "refunded in full");
    assert_eq!(cancelled.refunded, Some(eur(2598)));
    assert!(cancelled.closed_at.is_some());
    eventually("the stock to go back", || async { (shop.available(&sencha).await == Some(5)).then_some(()) }).await;

    let events =
        announcements.wait_for("OrderCancelled", |e| kinds(e, &paid.id).contains(&"OrderCancelled".to_owned())).await;
    let Some(Payload::OrderCancelled(event)) = &events.iter().rfind(|e| e.aggregate_id == paid.id).unwrap().payload
    else {
        panic!("{events:?}")
    };
    assert_eq!(event.source(), ev::CancellationSource::Refunded);
    assert!(event.was_paid, "svc-inventory puts a sold order's stock back");
    assert_eq!(event.total, Some(eur(2598)));

    let history = shop.history(&paid.id).await;
    let steps: Vec<_> =
        history.iter().rev().take(2).map(|h| (h.from_status.as_deref(), h.to_status.as_str())).collect();
    assert_eq!(steps, [(Some("PAID"), "CANCELLED"), (Some("PAID"), "PAID")], "the refund, then the cancellation");
    let note = &history[history.len() - 2].note;
    assert!(note.contains("refund re-1 of 25.98 EUR") && note.contains("in full"), "{note}");
}

async fn a_full_refund_after_shipping_or_cancelling_is_recorded_only(db: TestDb) {
    let shop = Shop::open(db).await;
    let announcements = shop.announcements().await;
    let ada = shop.customer("ada@mart.test").await;
    let (paid, sencha) = paid_order(&shop, &ada).await;
    let ship = pb::ShipOrderRequest { order_id: paid.id.clone(), carrier: "DHL".into(), ..Default::default() };
    shop.orders().ship_order(authed(&shop.admin, ship)).await.unwrap();

    let reason = "lost in transit";
    shop.refund(&paid, Refund { id: "re-1", amount: 2598, so_far: 2598, full: true, reason, lines: &[] }).await;
    let shipped = refunded(&shop, &ada, &paid.id, 2598).await;
    assert_eq!(shipped.status(), S::Shipped, "what shipped stays shipped; refunded = total says the rest");
    assert_eq!(shipped.cancellation_source(), pb::CancellationSource::Unspecified);
    let last = shop.history(&paid.id).await.pop().unwrap();
    assert_eq!((last.from_status.as_deref(), last.to_status.as_str()), (Some("SHIPPED"), "SHIPPED"));
    assert!(last.note.contains(reason), "{}", last.note);
    // Its events end as they did: nothing was cancelled (one later event shows the end).
    let deliver = pb::DeliverOrderRequest { order_id: paid.id.clone() };
    shop.orders().deliver_order(authed(&shop.admin, deliver)).await.unwrap();
    let events =
        announcements.wait_for("OrderDelivered", |e| kinds(e, &paid.id).contains(&"OrderDelivered".to_owned())).await;
    assert_eq!(
        kinds(&events, &paid.id),
        ["OrderPlaced", "OrderAwaitingPayment", "OrderPaid", "OrderShipped", "OrderDelivered"]
    );
    assert_eq!(shop.available(&sencha).await, Some(3), "shipped stock does not come back");

    // A paid order the customer cancelled is refunded by svc-payment: recorded on it.
    shop.add(&ada, &sencha, 1).await.unwrap();
    let placed = shop.place(&ada).await.unwrap();
    let awaiting = shop.awaiting_payment(&ada, &placed.id).await;
    shop.pay(&awaiting, "pay-2").await;
    shop.wait_for(&ada, &placed.id, S::Paid).await;
    let cancel = pb::CancelOrderRequest { order_id: placed.id.clone(), reason: "changed my mind".into() };
    shop.orders().cancel_order(authed(&ada.token, cancel)).await.unwrap();
    let reason = "order cancelled";
    shop.refund(&awaiting, Refund { id: "re-2", amount: 1299, so_far: 1299, full: true, reason, lines: &[] }).await;
    let cancelled = refunded(&shop, &ada, &placed.id, 1299).await;
    assert_eq!(cancelled.cancellation_source(), pb::CancellationSource::User, "cancelled once, by Ada");
}

async fn a_partial_refund_is_recorded_once_and_never_moves_the_order(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let (paid, sencha) = paid_order(&shop, &ada).await;

    let broken = [(sencha.as_str(), 1)];
    let reason = "one cup broke";
    let part = Refund { id: "re-1", amount: 500, so_far: 500, full: false, reason, lines: &broken };
    let first = shop.refund(&paid, part).await;
    let order = refunded(&shop, &ada, &paid.id, 500).await;
    assert_eq!(order.status(), S::Paid);
    let last = shop.history(&paid.id).await.pop().unwrap();
    assert_eq!((last.from_status.as_deref(), last.to_status.as_str()), (Some("PAID"), "PAID"));
    for part in ["5.00 EUR", "in part", reason, &format!("1 × product {sencha}")] {
        assert!(last.note.contains(part), "{part:?} in {:?}", last.note);
    }

    // The same event again, a later refund, then the first one told anew: the total only grows.
    publish_envelope(&shop.bus, &first).await;
    let second = Refund { id: "re-2", amount: 300, so_far: 800, full: false, reason: "", lines: &[] };
    shop.refund(&paid, second).await;
    let retold = Refund { id: "re-1", amount: 500, so_far: 500, full: false, reason, lines: &broken };
    let retold = shop.refund(&paid, retold).await;
    shop.wait_for_handled(&paid.id, &retold).await;
    let order = shop.get(&ada.token, &paid.id).await.unwrap();
    assert_eq!((order.status(), order.refunded), (S::Paid, Some(eur(800))));
    let history = shop.history(&paid.id).await;
    let of_first = history.iter().filter(|h| h.event_id.as_deref() == Some(first.id.as_str())).count();
    assert_eq!(of_first, 1, "a delivery twice is handled once");
    let out_of_paid = history.iter().filter(|h| h.from_status.as_deref() == Some("PAID") && h.to_status != "PAID");
    assert_eq!(out_of_paid.count(), 0, "no partial refund moves the order");
}

async fn a_refund_that_is_not_the_order_s_money_is_refused(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let (paid, _) = paid_order(&shop, &ada).await;

    let forged = |refund_id: &str, user_id: &str, so_far: i64, currency: &str| PaymentRefunded {
        payment_id: "pay-1".into(),
        order_id: paid.id.clone(),
        user_id: user_id.into(),
        amount: Some(mart_proto::common::Money { amount_minor: 100, currency: currency.into() }),
        refund_id: refund_id.into(),
        full: true,
        refunded_total: Some(mart_proto::common::Money { amount_minor: so_far, currency: currency.into() }),
        ..Default::default()
    };
    for refund in [
        forged("re-more", &paid.user_id, 2599, "EUR"),
        forged("re-dollars", &paid.user_id, 2598, "USD"),
        forged("re-someone-else", "mallory", 2598, "EUR"),
    ] {
        publish(&shop.bus, &paid.id, Payload::PaymentRefunded(refund)).await;
    }
    let reasons = eventually("three refusals", || async {
        let reasons = shop.refused_payment_events().await;
        (reasons.len() >= 3).then_some(reasons)
    })
    .await;
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons.iter().all(|r| r.starts_with("PaymentRefunded pay-1")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("the refunds so far 2599 EUR")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("100 USD")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("not mallory's")), "{reasons:?}");
    let order = shop.get(&ada.token, &paid.id).await.unwrap();
    assert_eq!((order.status(), order.refunded), (S::Paid, Some(eur(0))), "none of it was recorded");
}
