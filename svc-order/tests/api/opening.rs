//! Between the reservation and the payment: a reserved order (RESERVED) has its payment
//! deadline, which svc-order announces to svc-payment; it awaits payment (AWAITING_PAYMENT:
//! pay now) only once svc-payment tells it the payment exists — for the order's own money.
//! At the deadline svc-order cancels a RESERVED order itself, and an AWAITING_PAYMENT one
//! only `MART_ORDER_EXPIRY_GRACE` later: svc-payment expires that payment at the deadline,
//! and svc-order's sweep is the backstop.

use std::time::Duration;

use mart_platform::{
    db_tests,
    test_util::{TestDb, eventually, publish},
};
use mart_proto::{
    events::{PaymentCreated, envelope::Payload},
    order as pb,
};
use pb::OrderStatus as S;

use crate::support::{Options, Shop, eur, kinds};

db_tests!(
    a_reserved_order_awaits_payment_once_its_payment_is_opened,
    a_payment_opened_for_other_money_is_refused_and_the_order_stays_reserved,
    the_deadline_cancels_a_reserved_order_at_once_and_an_awaiting_one_after_the_grace,
);

async fn a_reserved_order_awaits_payment_once_its_payment_is_opened(db: TestDb) {
    let shop = Shop::open(db).await;
    let announcements = shop.announcements().await;
    let ada = shop.customer("ada@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 10).await;
    shop.add(&ada, &sencha, 2).await.unwrap();
    let placed = shop.place(&ada).await.unwrap();
    assert_eq!(placed.payment_due_by, None, "no deadline before the stock is reserved");

    let reserved = shop.wait_for(&ada, &placed.id, S::Reserved).await;
    assert_eq!(shop.available(&sencha).await, Some(8), "the stock is held");
    let due_by = reserved.payment_due_by.expect("a reserved order shows its deadline");
    let reserved_at = reserved.updated_at.unwrap();
    assert!((due_by.seconds - reserved_at.seconds - 30 * 60).abs() <= 1, "MART_PAYMENT_TIMEOUT after it: {due_by:?}");
    // svc-payment is told the order's own deadline, to the instant.
    let events = announcements
        .wait_for("OrderAwaitingPayment", |e| kinds(e, &placed.id).contains(&"OrderAwaitingPayment".to_owned()))
        .await;
    let told = events.iter().find_map(|e| match &e.payload {
        Some(Payload::OrderAwaitingPayment(told)) if told.order_id == placed.id => Some(told.clone()),
        _ => None,
    });
    let told = told.expect("an OrderAwaitingPayment");
    assert_eq!((told.payment_due_by, told.total.clone()), (Some(due_by), Some(eur(2598))));

    let opened = shop.open_payment(&reserved, "pay-1").await;
    let awaiting = shop.wait_for(&ada, &placed.id, S::AwaitingPayment).await;
    assert_eq!(awaiting.payment_due_by, Some(due_by), "the same deadline");
    let history = shop.history(&placed.id).await;
    let last = history.last().unwrap();
    assert_eq!((last.from_status.as_deref(), last.to_status.as_str()), (Some("RESERVED"), "AWAITING_PAYMENT"));
    assert_eq!((last.actor.as_str(), last.event_id.as_deref()), ("svc-payment", Some(opened.id.as_str())));
    assert!(last.note.contains("pay-1"), "{}", last.note);

    shop.pay(&awaiting, "pay-1").await;
    let paid = shop.wait_for(&ada, &placed.id, S::Paid).await;
    assert_eq!(paid.payment_due_by, None, "a paid order has no deadline");
    // The opening itself is svc-payment's news: svc-order announces nothing for it.
    let events = announcements.wait_for("OrderPaid", |e| kinds(e, &placed.id).len() == 3).await;
    assert_eq!(kinds(&events, &placed.id), ["OrderPlaced", "OrderAwaitingPayment", "OrderPaid"]);
}

/// Whoever can write to the payment topic cannot have a customer asked to pay another
/// amount: a PaymentCreated that is not the order's money goes to the DLQ with the reason,
/// and the order stays RESERVED until its real payment opens.
async fn a_payment_opened_for_other_money_is_refused_and_the_order_stays_reserved(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 10).await;
    shop.add(&ada, &sencha, 2).await.unwrap();
    let placed = shop.place(&ada).await.unwrap();
    let reserved = shop.wait_for(&ada, &placed.id, S::Reserved).await;

    let cheap = PaymentCreated {
        payment_id: "pay-cheap".into(),
        order_id: reserved.id.clone(),
        user_id: reserved.user_id.clone(),
        amount: Some(eur(1)),
        ..Default::default()
    };
    publish(&shop.bus, &reserved.id, Payload::PaymentCreated(cheap)).await;
    let reasons = eventually("the refusal", || async {
        let reasons = shop.refused_payment_events().await;
        (!reasons.is_empty()).then_some(reasons)
    })
    .await;
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].contains("PaymentCreated pay-cheap"), "{reasons:?}");
    assert!(reasons[0].contains("the order is 2598 EUR, the payment 1 EUR"), "{reasons:?}");
    assert_eq!(shop.get(&ada.token, &placed.id).await.unwrap().status(), S::Reserved);
    assert!(shop.history(&placed.id).await.iter().all(|h| h.to_status != "AWAITING_PAYMENT"));

    shop.open_payment(&reserved, "pay-genuine").await;
    shop.wait_for(&ada, &placed.id, S::AwaitingPayment).await;
}

async fn the_deadline_cancels_a_reserved_order_at_once_and_an_awaiting_one_after_the_grace(db: TestDb) {
    let grace = Duration::from_secs(4);
    let options = Options { payment_timeout: Duration::from_secs(3), expiry_grace: grace, ..Options::default() };
    let shop = Shop::open_with(db, options).await;
    let ada = shop.customer("ada@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 10).await;
    shop.add(&ada, &sencha, 1).await.unwrap();
    let never_opened = shop.place(&ada).await.unwrap();
    shop.add(&ada, &sencha, 2).await.unwrap();
    let opened = shop.place(&ada).await.unwrap();
    let reserved = shop.wait_for(&ada, &never_opened.id, S::Reserved).await;
    let awaiting = shop.awaiting_payment(&ada, &opened.id).await;

    // No payment was opened: nothing can pay the order, so it goes at the deadline…
    let expired = shop.wait_for(&ada, &never_opened.id, S::Cancelled).await;
    assert_eq!(expired.cancellation_source(), pb::CancellationSource::PaymentExpired);
    let due_by = reserved.payment_due_by.unwrap();
    assert!(expired.closed_at.unwrap().seconds >= due_by.seconds, "not before the deadline");
    // …while the one whose payment exists is left to svc-payment's expiry for the grace.
    let still = shop.get(&ada.token, &opened.id).await.unwrap();
    assert_eq!(still.status(), S::AwaitingPayment, "svc-payment expires it first");

    // svc-payment never says (it is down): the sweep is the backstop, after the grace.
    let expired = shop.wait_for(&ada, &opened.id, S::Cancelled).await;
    assert_eq!(expired.cancellation_source(), pb::CancellationSource::PaymentExpired);
    let due_by = awaiting.payment_due_by.unwrap();
    let grace = i64::try_from(grace.as_secs()).unwrap();
    assert!(expired.closed_at.unwrap().seconds >= due_by.seconds + grace, "not before the grace ran out");
    let history = shop.history(&opened.id).await;
    let last = history.last().unwrap();
    assert_eq!((last.from_status.as_deref(), last.actor.as_str()), (Some("AWAITING_PAYMENT"), "payment-deadline"));
    eventually("the stock to come back", || async { (shop.available(&sencha).await == Some(10)).then_some(()) }).await;
}
