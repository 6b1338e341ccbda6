//! The checkout saga through the real event path: place, reserve (svc-inventory), pay
//! (svc-payment's events, published by the test), ship, deliver — and every way out of it.

use std::time::Duration;

use mart_platform::{
    db_tests,
    test_util::{TestDb, eventually, publish_envelope, reason},
};
use mart_proto::{events::envelope::Payload, order as pb};
use pb::OrderStatus as S;
use tonic::Code;

use crate::support::{Options, Shop, authed, eur, kinds};

db_tests!(
    an_order_is_reserved_paid_shipped_and_delivered,
    an_order_short_of_stock_is_rejected_with_the_short_lines,
    a_failed_payment_cancels_the_order_and_releases_the_stock,
    an_unpaid_order_expires_even_across_a_restart,
    a_paid_order_can_be_cancelled_until_it_ships,
    late_and_repeated_events_change_nothing,
    a_payment_that_is_not_the_order_s_money_does_not_pay_it,
    a_free_order_is_paid_without_a_payment,
);

/// An order that costs nothing (a free sample) skips payment: once its stock is reserved
/// it is PAID, never seen awaiting money, and announced as paid so its stock is committed —
/// with no OrderAwaitingPayment, since there is no payment to open.
async fn a_free_order_is_paid_without_a_payment(db: TestDb) {
    let shop = Shop::open(db).await;
    let announcements = shop.announcements().await;
    let ada = shop.customer("ada@mart.test").await;
    let sample = shop.product("SAMPLE", 0, 10).await;
    shop.add(&ada, &sample, 1).await.unwrap();
    let placed = shop.place(&ada).await.unwrap();
    assert_eq!(placed.total.as_ref().map(|m| m.amount_minor), Some(0));

    let paid = shop.wait_for(&ada, &placed.id, S::Paid).await;
    assert_eq!(paid.status(), S::Paid);
    let events =
        announcements.wait_for("OrderPaid", |events| kinds(events, &placed.id).iter().any(|k| k == "OrderPaid")).await;
    assert_eq!(kinds(&events, &placed.id), ["OrderPlaced", "OrderPaid"]);
    let history = shop.history(&placed.id).await;
    let paid_entry = history.iter().find(|h| h.to_status == "PAID").expect("a PAID entry");
    assert_eq!(paid_entry.from_status.as_deref(), Some("RESERVED"));
    assert!(paid_entry.note.contains("free order"), "{}", paid_entry.note);
}

/// Whoever can write to the payment topic cannot ship an order for less, or on another
/// customer's payment: a PaymentSucceeded whose amount, currency or customer is not the
/// order's goes to the DLQ with the reason, and the order waits for its real payment.
async fn a_payment_that_is_not_the_order_s_money_does_not_pay_it(db: TestDb) {
    use mart_proto::events::PaymentSucceeded;

    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 10).await;
    shop.add(&ada, &sencha, 2).await.unwrap();
    let placed = shop.place(&ada).await.unwrap();
    let order = shop.awaiting_payment(&ada, &placed.id).await;

    let forged = |payment_id: &str, user_id: &str, amount_minor: i64, currency: &str| PaymentSucceeded {
        payment_id: payment_id.into(),
        order_id: order.id.clone(),
        user_id: user_id.into(),
        amount: Some(mart_proto::common::Money { amount_minor, currency: currency.into() }),
        ..Default::default()
    };
    for paid in [
        forged("pay-cheap", &order.user_id, 1, "EUR"),
        forged("pay-dollars", &order.user_id, 2598, "USD"),
        forged("pay-someone-else", "mallory", 2598, "EUR"),
    ] {
        mart_platform::test_util::publish(&shop.bus, &order.id, Payload::PaymentSucceeded(paid)).await;
    }
    let genuine = shop.pay(&order, "pay-genuine").await;

    shop.wait_for(&ada, &order.id, S::Paid).await;
    let history = shop.history(&order.id).await;
    let paid_by: Vec<_> = history.iter().filter(|h| h.to_status == "PAID").map(|h| h.event_id.clone()).collect();
    assert_eq!(paid_by, [Some(genuine.id.clone())], "only the order's own money paid it");
    let reasons = shop.refused_payment_events().await;
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("the payment 1 EUR")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("2598 USD")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("not mallory's")), "{reasons:?}");
}

async fn an_order_is_reserved_paid_shipped_and_delivered(db: TestDb) {
    let shop = Shop::open(db).await;
    let announcements = shop.announcements().await;
    let ada = shop.customer("ada@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 10).await;
    let matcha = shop.product("MATCHA", 2450, 5).await;
    shop.add(&ada, &sencha, 2).await.unwrap();
    shop.add(&ada, &matcha, 1).await.unwrap();

    let request = pb::PlaceOrderRequest {
        address_id: ada.address_id.clone(),
        note: Some("leave it with the neighbours".into()),
        ..Default::default()
    };
    let placed = shop.place_with(&ada, request, None).await.unwrap();
    assert_eq!(placed.status(), S::Pending);
    assert_eq!(placed.user_id, ada.user_id);
    let lines: Vec<_> =
        placed.lines.iter().map(|l| (l.sku.as_str(), l.quantity, l.line_total.clone().unwrap())).collect();
    assert_eq!(lines, [("SENCHA", 2, eur(2598)), ("MATCHA", 1, eur(2450))]);
    assert_eq!(placed.total, Some(eur(5048)));
    let address = placed.shipping_address.clone().unwrap();
    assert_eq!((address.address_id.as_str(), address.city.as_str()), (ada.address_id.as_str(), "London"));
    assert_eq!(placed.note.as_deref(), Some("leave it with the neighbours"));
    assert!(shop.cart(&ada).await.lines.is_empty(), "placing empties the cart");

    // Later catalog changes do not touch the snapshot.
    shop.reprice(&sencha, 1).await;
    let awaiting = shop.awaiting_payment(&ada, &placed.id).await;
    assert_eq!(awaiting.total, Some(eur(5048)));
    assert_eq!(shop.available(&sencha).await, Some(8), "inventory reserved the lines");
    assert_eq!(shop.available(&matcha).await, Some(4));

    shop.pay(&awaiting, "pay-1").await;
    let paid = shop.wait_for(&ada, &placed.id, S::Paid).await;
    assert!(paid.paid_at.is_some());

    let mut orders = shop.orders();
    let ship =
        pb::ShipOrderRequest { order_id: placed.id.clone(), carrier: "DHL".into(), tracking_number: "JD0001".into() };
    let shipped = orders.ship_order(authed(&shop.admin, ship)).await.unwrap().into_inner().order.unwrap();
    assert_eq!(shipped.status(), S::Shipped);
    let shipment = shipped.shipment.unwrap();
    assert_eq!((shipment.carrier.as_str(), shipment.tracking_number.as_str()), ("DHL", "JD0001"));
    assert!(shipment.shipped_at.is_some());
    let deliver = pb::DeliverOrderRequest { order_id: placed.id.clone() };
    let delivered = orders.deliver_order(authed(&shop.admin, deliver)).await.unwrap().into_inner().order.unwrap();
    assert_eq!(delivered.status(), S::Delivered);
    assert!(delivered.delivered_at.is_some());
    assert_eq!(shop.get(&ada.token, &placed.id).await.unwrap(), delivered, "the customer sees the same order");

    let events = announcements.wait_for("five order events", |e| kinds(e, &placed.id).len() == 5).await;
    assert_eq!(
        kinds(&events, &placed.id),
        ["OrderPlaced", "OrderAwaitingPayment", "OrderPaid", "OrderShipped", "OrderDelivered"]
    );
    let Some(Payload::OrderPaid(order_paid)) = &events[2].payload else { panic!("{events:?}") };
    assert_eq!((order_paid.payment_id.as_str(), order_paid.total.clone()), ("pay-1", Some(eur(5048))));

    let history = shop.history(&placed.id).await;
    let steps: Vec<_> = history.iter().map(|h| (h.from_status.as_deref(), h.to_status.as_str())).collect();
    assert_eq!(
        steps,
        [
            (None, "PENDING"),
            (Some("PENDING"), "RESERVED"),
            (Some("RESERVED"), "AWAITING_PAYMENT"),
            (Some("AWAITING_PAYMENT"), "PAID"),
            (Some("PAID"), "SHIPPED"),
            (Some("SHIPPED"), "DELIVERED"),
        ]
    );
    let actors: Vec<_> = history.iter().map(|h| h.actor.split(':').next().unwrap()).collect();
    assert_eq!(actors, ["user", "svc-inventory", "svc-payment", "svc-payment", "admin", "admin"]);
}

async fn an_order_short_of_stock_is_rejected_with_the_short_lines(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let plenty = shop.product("PLENTY", 100, 50).await;
    let scarce = shop.product("SCARCE", 100, 2).await;
    shop.add(&ada, &plenty, 3).await.unwrap();
    shop.add(&ada, &scarce, 5).await.unwrap();

    let placed = shop.place(&ada).await.unwrap();
    let rejected = shop.wait_for(&ada, &placed.id, S::Rejected).await;
    let short: Vec<_> =
        rejected.rejected_lines.iter().map(|l| (l.product_id.as_str(), l.requested, l.available)).collect();
    assert_eq!(short, [(scarce.as_str(), 5, 2)]);
    assert!(rejected.closed_at.is_some());
    assert_eq!(shop.available(&plenty).await, Some(50), "nothing stays reserved");

    // Rejected is final.
    let cancel = pb::CancelOrderRequest { order_id: placed.id.clone(), reason: String::new() };
    let refused = shop.orders().cancel_order(authed(&ada.token, cancel)).await.unwrap_err();
    assert_eq!((refused.code(), reason(&refused).as_str()), (Code::FailedPrecondition, "ILLEGAL_TRANSITION"));
}

async fn a_failed_payment_cancels_the_order_and_releases_the_stock(db: TestDb) {
    let shop = Shop::open(db).await;
    let announcements = shop.announcements().await;
    let ada = shop.customer("ada@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 3).await;
    shop.add(&ada, &sencha, 3).await.unwrap();
    let placed = shop.place(&ada).await.unwrap();
    let awaiting = shop.awaiting_payment(&ada, &placed.id).await;
    assert_eq!(shop.available(&sencha).await, Some(0));

    shop.fail_payment(&awaiting, "card_declined").await;
    let cancelled = shop.wait_for(&ada, &placed.id, S::Cancelled).await;
    assert_eq!(cancelled.cancellation_source(), pb::CancellationSource::PaymentFailed);
    assert_eq!(cancelled.cancellation_reason, "card_declined");
    eventually("the stock to come back", || async { (shop.available(&sencha).await == Some(3)).then_some(()) }).await;
    let events = announcements.wait_for("the cancellation", |e| kinds(e, &placed.id).len() == 3).await;
    let Some(Payload::OrderCancelled(event)) = &events[2].payload else { panic!("{events:?}") };
    assert!(!event.was_paid);
}

async fn an_unpaid_order_expires_even_across_a_restart(db: TestDb) {
    let options = Options { payment_timeout: Duration::from_secs(3), ..Options::default() };
    let mut shop = Shop::open_with(db, options).await;
    let ada = shop.customer("ada@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 4).await;

    // A running service cancels on time.
    shop.add(&ada, &sencha, 1).await.unwrap();
    let first = shop.place(&ada).await.unwrap();
    shop.wait_for(&ada, &first.id, S::Reserved).await;
    let expired = shop.wait_for(&ada, &first.id, S::Cancelled).await;
    assert_eq!(expired.cancellation_source(), pb::CancellationSource::PaymentExpired);

    // The deadline is stored with the order: svc-order is down when it passes, and comes
    // back configured with a timeout far away — the stored deadline still holds.
    shop.add(&ada, &sencha, 2).await.unwrap();
    let second = shop.place(&ada).await.unwrap();
    let awaiting = shop.wait_for(&ada, &second.id, S::Reserved).await;
    shop.stop_order().await;
    assert_eq!(shop.stored_status(&second.id).await, "RESERVED", "stopped before the deadline");
    shop.restart_order(|config| config.own.payment_timeout = Duration::from_secs(3600)).await;
    let expired = shop.wait_for(&ada, &second.id, S::Cancelled).await;
    assert_eq!(expired.cancellation_source(), pb::CancellationSource::PaymentExpired);
    // Not before the deadline (timestamps are compared in whole seconds).
    assert!(expired.closed_at.unwrap().seconds >= awaiting.updated_at.unwrap().seconds + 2);
    assert!(expired.closed_at.unwrap().seconds >= awaiting.payment_due_by.unwrap().seconds);
    eventually("the stock to come back", || async { (shop.available(&sencha).await == Some(4)).then_some(()) }).await;
}

async fn a_paid_order_can_be_cancelled_until_it_ships(db: TestDb) {
    let shop = Shop::open(db).await;
    let announcements = shop.announcements().await;
    let ada = shop.customer("ada@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 10).await;
    let mut orders = shop.orders();
    let cancel = |order_id: &str, token: &str| {
        authed(token, pb::CancelOrderRequest { order_id: order_id.into(), reason: "changed my mind".into() })
    };

    shop.add(&ada, &sencha, 1).await.unwrap();
    let first = shop.place(&ada).await.unwrap();
    let awaiting = shop.awaiting_payment(&ada, &first.id).await;
    shop.pay(&awaiting, "pay-1").await;
    shop.wait_for(&ada, &first.id, S::Paid).await;
    let cancelled = orders.cancel_order(cancel(&first.id, &ada.token)).await.unwrap().into_inner().order.unwrap();
    assert_eq!(cancelled.status(), S::Cancelled);
    assert_eq!(cancelled.cancellation_source(), pb::CancellationSource::User);
    assert_eq!(cancelled.cancellation_reason, "changed my mind");
    let events = announcements.wait_for("the cancellation", |e| kinds(e, &first.id).len() == 4).await;
    let Some(Payload::OrderCancelled(event)) = &events[3].payload else { panic!("{events:?}") };
    assert!(event.was_paid, "a refund is due");
    assert_eq!(event.total, Some(eur(1299)));
    let again = orders.cancel_order(cancel(&first.id, &ada.token)).await.unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);

    shop.add(&ada, &sencha, 1).await.unwrap();
    let second = shop.place(&ada).await.unwrap();
    let awaiting = shop.awaiting_payment(&ada, &second.id).await;
    let early = pb::DeliverOrderRequest { order_id: second.id.clone() };
    assert_eq!(orders.deliver_order(authed(&shop.admin, early)).await.unwrap_err().code(), Code::FailedPrecondition);
    let unpaid = pb::ShipOrderRequest { order_id: second.id.clone(), carrier: "DHL".into(), ..Default::default() };
    assert_eq!(orders.ship_order(authed(&shop.admin, unpaid)).await.unwrap_err().code(), Code::FailedPrecondition);
    shop.pay(&awaiting, "pay-2").await;
    shop.wait_for(&ada, &second.id, S::Paid).await;
    let ship = pb::ShipOrderRequest { order_id: second.id.clone(), carrier: "UPS".into(), ..Default::default() };
    orders.ship_order(authed(&shop.admin, ship)).await.unwrap();
    for token in [&ada.token, &shop.admin] {
        let refused = orders.cancel_order(cancel(&second.id, token)).await.unwrap_err();
        assert_eq!((refused.code(), reason(&refused).as_str()), (Code::FailedPrecondition, "ILLEGAL_TRANSITION"));
    }
    assert_eq!(shop.get(&ada.token, &second.id).await.unwrap().status(), S::Shipped);
}

async fn late_and_repeated_events_change_nothing(db: TestDb) {
    let shop = Shop::open(db).await;
    let announcements = shop.announcements().await;
    let ada = shop.customer("ada@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 10).await;

    // Paid twice (one event delivered twice, then a second event): one OrderPaid.
    shop.add(&ada, &sencha, 1).await.unwrap();
    let paid_twice = shop.place(&ada).await.unwrap();
    let awaiting = shop.awaiting_payment(&ada, &paid_twice.id).await;
    let payment = shop.pay(&awaiting, "pay-1").await;
    publish_envelope(&shop.bus, &payment).await;

    // A payment that succeeds after the customer cancelled: the order stays cancelled
    // (svc-payment refunds it), and the event is remembered.
    shop.add(&ada, &sencha, 1).await.unwrap();
    let too_late = shop.place(&ada).await.unwrap();
    let awaiting_late = shop.awaiting_payment(&ada, &too_late.id).await;
    let cancel = pb::CancelOrderRequest { order_id: too_late.id.clone(), reason: String::new() };
    shop.orders().cancel_order(authed(&ada.token, cancel)).await.unwrap();
    shop.pay(&awaiting_late, "pay-2").await;

    let late = shop.pay(&awaiting_late, "pay-2").await;

    eventually("the late payment to be remembered", || async {
        let history = shop.history(&too_late.id).await;
        history.iter().any(|h| h.event_id.as_deref() == Some(late.id.as_str())).then_some(())
    })
    .await;
    let history = shop.history(&too_late.id).await;
    let last = history.last().unwrap();
    assert_eq!((last.from_status.as_deref(), last.to_status.as_str()), (Some("CANCELLED"), "CANCELLED"));
    assert!(last.note.contains("PaymentSucceeded"), "{}", last.note);
    assert_eq!(shop.get(&ada.token, &too_late.id).await.unwrap().status(), S::Cancelled);

    // Events of one order are handled in order: once the second payment event is in the
    // history, the redelivered first one was handled before it — and changed nothing.
    let second = shop.pay(&awaiting, "pay-1").await;
    eventually("the second payment event to be handled", || async {
        let history = shop.history(&paid_twice.id).await;
        history.iter().any(|h| h.event_id.as_deref() == Some(second.id.as_str())).then_some(())
    })
    .await;
    let history = shop.history(&paid_twice.id).await;
    let about_payments: Vec<_> =
        history.iter().filter(|h| h.actor == "svc-payment").map(|h| h.to_status.as_str()).collect();
    assert_eq!(
        about_payments,
        ["AWAITING_PAYMENT", "PAID", "PAID"],
        "the opening, one transition, one remembered event, no duplicate"
    );
    let events = announcements.wait_for("the events of both orders", |e| kinds(e, &too_late.id).len() == 3).await;
    assert_eq!(kinds(&events, &paid_twice.id), ["OrderPlaced", "OrderAwaitingPayment", "OrderPaid"]);
    assert_eq!(kinds(&events, &too_late.id), ["OrderPlaced", "OrderAwaitingPayment", "OrderCancelled"]);
}
