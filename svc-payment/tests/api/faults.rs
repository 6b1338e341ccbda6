//! The money path when Stripe misbehaves, and refunds beyond the simple full one: a
//! Stripe that answers 503 for a while, one that takes 9 s per refund, partial refunds
//! (never more than was captured), a refund made in Stripe's dashboard, and the payment
//! deadline that comes from the order.

use std::time::{Duration, Instant};

use mart_platform::{
    db_tests,
    test_util::{TestDb, reason, within},
};
use mart_proto::{events::envelope::Payload, payment as pb};
use tonic::Code;

use crate::support::{Provider, TestApp, count, failed, order_id, refunded};

db_tests!(
    a_refund_stripe_refuses_for_20_s_is_made_once_it_recovers,
    a_stripe_that_takes_9_s_per_refund_holds_up_nothing_else,
    partial_refunds_never_exceed_what_was_captured,
    a_refund_made_in_stripes_dashboard_is_recorded_once,
    the_payment_expires_at_the_orders_deadline,
    an_order_cancelled_while_its_payment_opens_leaves_nothing_payable,
);

/// svc-payment with Stripe, retrying unavailable calls at most every `interval`.
async fn stripe_retrying_every(db: TestDb, interval: Duration) -> TestApp {
    TestApp::spawn_configured(db, Provider::Stripe, |own| own.retry_max_interval = interval).await
}

/// `order` of `user` for `amount` USD, paid with Stripe; its PaymentIntent id.
async fn paid(app: &TestApp, order: &str, user: &str, amount: i64) -> String {
    app.awaits_payment(order, user, amount).await;
    let intent = app.wait_for_payment(order).await.provider_reference;
    app.deliver(&app.fake().succeed(&intent)).await.unwrap();
    app.wait_for_status(order, pb::PaymentStatus::Succeeded).await;
    intent
}

/// The PaymentRefunded events about `order` among `events`.
fn refunds_announced(events: &[mart_proto::events::Envelope], order: &str) -> Vec<mart_proto::events::PaymentRefunded> {
    events
        .iter()
        .filter(|e| e.aggregate_id == order)
        .filter_map(|e| match &e.payload {
            Some(Payload::PaymentRefunded(refunded)) => Some(refunded.clone()),
            _ => None,
        })
        .collect()
}

async fn a_refund_stripe_refuses_for_20_s_is_made_once_it_recovers(db: TestDb) {
    let app = stripe_retrying_every(db, Duration::from_secs(2)).await;
    let order = order_id();
    paid(&app, &order, "alice", 2500).await;

    // Stripe's refunds answer 503 for 20 s, far longer than the bus's retries of an event.
    app.fake().fail_for("/v1/refunds", Duration::from_secs(20));
    app.cancelled(&order, "alice", true).await;

    // Meanwhile the rest of the shop goes on: another order's payment opens at once.
    let other = order_id();
    app.awaits_payment(&other, "bob", 1000).await;
    within(Duration::from_secs(5), "another order's payment to open while refunds fail", || async {
        let payment = app.payment_as(&app.admin(), &other).await.ok()?;
        (payment.status() == pb::PaymentStatus::Pending && !payment.client_secret.is_empty()).then_some(())
    })
    .await;
    let during = app.payment(&order).await;
    assert_eq!(during.status(), pb::PaymentStatus::Succeeded, "not refunded yet: {during:?}");
    assert_eq!(during.refunds.len(), 1, "the refund is recorded, pending: {during:?}");
    assert_eq!(during.refunds[0].status(), pb::RefundStatus::Pending);

    // Once Stripe answers again the refund is made, with no operator action.
    let after = within(Duration::from_secs(40), "the refund once Stripe recovers", || async {
        let payment = app.payment(&order).await;
        (payment.status() == pb::PaymentStatus::Refunded).then_some(payment)
    })
    .await;
    assert!(app.fake().refused_calls() >= 3, "Stripe really refused: {} calls", app.fake().refused_calls());
    assert_eq!(after.refunded.as_ref().map(|m| m.amount_minor), Some(2500));
    assert_eq!(after.refunds[0].status(), pb::RefundStatus::Succeeded);
    let refunds = app.fake().refunds();
    assert_eq!(refunds.len(), 1, "refunded once: {refunds:?}");
    let events = app.settle(&order).await;
    assert_eq!(count(&events, &order, refunded), 1);
    app.stop().await;
}

async fn a_stripe_that_takes_9_s_per_refund_holds_up_nothing_else(db: TestDb) {
    let app = stripe_retrying_every(db, Duration::from_secs(2)).await;
    let orders: Vec<String> = (0..20).map(|_| order_id()).collect();
    for order in &orders {
        paid(&app, order, "alice", 1200).await;
    }
    let bystander = order_id();
    app.awaits_payment(&bystander, "bob", 800).await;
    let bystander_intent = app.wait_for_payment(&bystander).await.provider_reference;

    // Every refund now takes Stripe 9 s. Ten paid orders are cancelled (their refunds are
    // reactions to events) and ten are refunded by admins at once, whose calls wait for
    // Stripe: twenty slow flows, more than the database pool has connections (16 on
    // PostgreSQL), and on SQLite, one writer.
    app.fake().stall_for("/v1/refunds", Duration::from_secs(9), Duration::from_secs(60));
    let (cancelled, by_admins) = orders.split_at(10);
    for order in cancelled {
        app.cancelled(order, "alice", true).await;
    }
    let admins = futures::future::join_all(by_admins.iter().map(|order| app.refund_part(order, "damaged", None, &[])));
    let meanwhile = async {
        within(Duration::from_secs(5), "the twenty refunds to be asked for", || async {
            let mut asked = 0;
            for order in &orders {
                asked += app.payment(order).await.refunds.len();
            }
            (asked == orders.len()).then_some(())
        })
        .await;
        // No lock or connection is held while Stripe thinks: reads answer at once, and so
        // does a webhook that writes (the bystander pays).
        for _ in 0..5 {
            let started = Instant::now();
            app.payment_as(&app.user("bob"), &bystander).await.unwrap();
            let took = started.elapsed();
            assert!(took < Duration::from_millis(200), "GetPayment took {took:?} while refunds stall");
        }
        let started = Instant::now();
        app.deliver(&app.fake().succeed(&bystander_intent)).await.unwrap();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(1), "a webhook took {took:?} while refunds stall");
        assert_eq!(app.payment(&bystander).await.status(), pb::PaymentStatus::Succeeded);
    };
    let (answers, ()) = tokio::join!(admins, meanwhile);
    for answer in answers {
        let refund = answer.expect("an admin's refund is taken").refund.unwrap();
        // Stripe answered within the call (9 s), or the worker finishes it.
        assert!(matches!(refund.status(), pb::RefundStatus::Succeeded | pb::RefundStatus::Pending), "{refund:?}");
    }

    // The refunds themselves go through, several at once.
    within(Duration::from_secs(45), "every stalled refund to be made", || async {
        for order in &orders {
            if app.payment(order).await.status() != pb::PaymentStatus::Refunded {
                return None;
            }
        }
        Some(())
    })
    .await;
    assert_eq!(app.fake().refunds().len(), orders.len(), "one refund each");
    app.stop().await;
}

async fn partial_refunds_never_exceed_what_was_captured(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Stripe).await;
    let order = order_id();
    paid(&app, &order, "alice", 1000).await;

    // One broken cup out of a set: 300 of 1000, for one line.
    let cup = app.refund_part(&order, "one cup broke", Some(300), &[("cup", 1)]).await.unwrap();
    let refund = cup.refund.unwrap();
    assert_eq!((refund.status(), refund.reason.as_str()), (pb::RefundStatus::Succeeded, "one cup broke"));
    assert_eq!(refund.lines, [pb::RefundLine { product_id: "cup".into(), quantity: 1 }]);
    let payment = cup.payment.unwrap();
    assert_eq!(payment.status(), pb::PaymentStatus::Succeeded, "partly refunded is still paid");
    assert_eq!(payment.refunded.as_ref().map(|m| m.amount_minor), Some(300));

    // Bad amounts are named; too much is refused with what is left.
    let in_euros = pb::RefundPaymentRequest {
        order_id: order.clone(),
        amount: Some(mart_proto::common::Money { amount_minor: 100, currency: "EUR".into() }),
        ..Default::default()
    };
    let mut client = app.client();
    let euros = client.refund_payment(mart_platform::test_util::authed(&app.admin(), in_euros)).await.unwrap_err();
    assert_eq!(euros.code(), Code::InvalidArgument);
    assert!(euros.message().contains("amount.currency"), "{}", euros.message());
    let zero = app.refund_part(&order, "", Some(0), &[]).await.unwrap_err();
    assert!(zero.code() == Code::InvalidArgument && zero.message().contains("amount"), "{zero:?}");
    let too_much = app.refund_part(&order, "", Some(701), &[]).await.unwrap_err();
    assert_eq!((too_much.code(), reason(&too_much).as_str()), (Code::FailedPrecondition, "REFUND_EXCEEDS_CAPTURED"));
    assert!(too_much.message().contains("7.00"), "names what is left: {}", too_much.message());

    // Seven concurrent refunds of 100 each fit exactly; an eighth of the same does not.
    let tries: Vec<_> = (0..8).map(|_| app.refund_part(&order, "", Some(100), &[])).collect();
    let outcomes = futures::future::join_all(tries).await;
    let made = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    assert_eq!(made, 7, "{outcomes:?}");
    for refused in outcomes.iter().filter_map(|outcome| outcome.as_ref().err()) {
        assert_eq!(reason(refused), "REFUND_EXCEEDS_CAPTURED", "{refused:?}");
    }
    let payment = app.wait_for_status(&order, pb::PaymentStatus::Refunded).await;
    assert_eq!(payment.refunded.as_ref().map(|m| m.amount_minor), Some(1000));
    let at_stripe: i64 = app.fake().refunds().iter().map(|r| r.amount).sum();
    assert_eq!(at_stripe, 1000, "Stripe gave back exactly what was captured");

    let events = app.settle(&order).await;
    let announced = refunds_announced(&events, &order);
    assert_eq!(announced.len(), 8, "one event per refund");
    assert_eq!(announced.iter().filter(|r| r.full).count(), 1, "only the last one empties the payment");
    let last = announced.iter().find(|r| r.full).unwrap();
    assert_eq!(last.refunded_total.as_ref().map(|m| m.amount_minor), Some(1000));
    assert_eq!(announced[0].lines.len(), 1, "the cup's line travels with its refund");
    app.stop().await;
}

async fn a_refund_made_in_stripes_dashboard_is_recorded_once(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Stripe).await;
    let order = order_id();
    let intent = paid(&app, &order, "alice", 1000).await;

    // Someone gives 400 back in Stripe's dashboard; Stripe tells us (twice, as it may).
    let webhook = app.fake().refund_in_dashboard(&intent, 400);
    app.deliver(&webhook).await.unwrap();
    app.deliver(&webhook).await.unwrap();
    let payment = app.payment(&order).await;
    assert_eq!(payment.status(), pb::PaymentStatus::Succeeded);
    assert_eq!(payment.refunded.as_ref().map(|m| m.amount_minor), Some(400));
    assert_eq!(payment.refunds.len(), 1, "{payment:?}");
    assert!(payment.refunds[0].requested_by.starts_with("stripe:"), "{payment:?}");

    // Our own refund of the rest: its charge.refunded webhook is news to nobody.
    app.refund(&order, "the rest").await.unwrap();
    app.wait_for_status(&order, pb::PaymentStatus::Refunded).await;
    app.deliver(&app.fake().charge_refunded(&intent)).await.unwrap();
    let payment = app.payment(&order).await;
    assert_eq!(payment.refunded.as_ref().map(|m| m.amount_minor), Some(1000));
    assert_eq!(payment.refunds.len(), 2, "{payment:?}");
    let events = app.settle(&order).await;
    let announced = refunds_announced(&events, &order);
    let amounts: Vec<_> = announced.iter().map(|r| (r.amount.as_ref().unwrap().amount_minor, r.full)).collect();
    assert_eq!(amounts, [(400, false), (600, true)]);
    app.stop().await;
}

async fn the_payment_expires_at_the_orders_deadline(db: TestDb) {
    // svc-payment's own timeout is long; the order's deadline is what counts.
    let app = TestApp::spawn(db, Provider::Manual).await;
    let order = order_id();
    let due = chrono::Utc::now() + chrono::TimeDelta::milliseconds(1500);
    app.awaits_payment_until(&order, "alice", 1000, due).await;
    let payment = app.wait_for_payment(&order).await;
    let expires = payment.expires_at.expect("a deadline");
    assert_eq!(expires.seconds, due.timestamp(), "the order's deadline, not a second one");

    let failed_payment = within(Duration::from_secs(6), "the payment to expire at the order's deadline", || async {
        let payment = app.payment(&order).await;
        (payment.status() == pb::PaymentStatus::Failed).then_some(payment)
    })
    .await;
    assert_eq!(failed_payment.status_reason, "expired");
    assert!(chrono::Utc::now() >= due, "not before the deadline");
    let events = app.settle(&order).await;
    assert_eq!(count(&events, &order, failed), 1);
    app.stop().await;
}

async fn an_order_cancelled_while_its_payment_opens_leaves_nothing_payable(db: TestDb) {
    let app = stripe_retrying_every(db, Duration::from_secs(1)).await;
    let order = order_id();
    // Stripe takes its time creating the intent; the order is cancelled meanwhile.
    app.fake().stall_for("/v1/payment_intents", Duration::from_secs(2), Duration::from_secs(3));
    app.awaits_payment(&order, "alice", 1000).await;
    within(Duration::from_secs(5), "the payment to be opening", || async {
        app.payment_as(&app.admin(), &order).await.ok().filter(|p| p.status() == pb::PaymentStatus::Opening)
    })
    .await;
    app.cancelled(&order, "alice", false).await;

    let cancelled = app.wait_for_status(&order, pb::PaymentStatus::Cancelled).await;
    assert!(cancelled.client_secret.is_empty(), "nothing to pay with");
    within(Duration::from_secs(15), "the late intent to be cancelled at Stripe", || async {
        let intents = app.fake().intents();
        let mine: Vec<_> = intents.iter().filter(|i| i.metadata.get("order_id") == Some(&order)).collect();
        (mine.len() == 1 && mine[0].status == "canceled").then_some(())
    })
    .await;
    let events = app.settle(&order).await;
    assert_eq!(count(&events, &order, crate::support::created), 0, "never announced as payable");
    app.stop().await;
}
