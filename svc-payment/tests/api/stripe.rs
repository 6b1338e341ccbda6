//! The Stripe provider through the fake Stripe: a PaymentIntent per order, paid by the
//! customer with Stripe.js, confirmed by Stripe's webhook; cancelled and refunded when the
//! order is — never two PaymentIntents or two refunds for one order.

use mart_platform::{
    db_tests,
    test_util::{TestDb, authed, publish_envelope, reason},
};
use mart_proto::{events::envelope::Payload, payment as pb};
use svc_payment::stripe_fake::Intent;
use tonic::Code;

use crate::support::{Provider, TestApp, count, created, order_id, refunded, succeeded};

db_tests!(
    a_customer_pays_with_stripe,
    a_redelivered_order_gets_one_payment_intent,
    a_lost_reply_from_stripe_makes_no_second_payment_intent,
    a_retried_refund_refunds_once,
    cancelling_a_paid_order_refunds_it_once,
    cancelling_an_unpaid_order_cancels_its_payment_intent,
    money_that_beats_the_cancel_is_given_back,
    refunding_twice_refunds_once,
    a_payment_asked_for_after_the_cancel_opens_nothing,
    a_free_order_opens_no_payment_and_no_dead_letter,
    the_browser_gets_the_publishable_key_with_the_client_secret,
);

/// The storefront mounts Stripe's Payment Element with the payment's client secret and the
/// shop's publishable key: GetPayment hands both to the order's owner; a manual payment
/// gets no key.
async fn the_browser_gets_the_publishable_key_with_the_client_secret(db: TestDb) {
    let app = TestApp::spawn_configured(db, Provider::Stripe, |settings| {
        settings.stripe_publishable_key = Some("pk_test_mart".to_owned());
    })
    .await;
    let order = order_id();
    let intent = awaiting(&app, &order, "alice", 2500).await;
    let request = authed(&app.user("alice"), pb::GetPaymentRequest { order_id: order.clone() });
    let answer = app.client().get_payment(request).await.unwrap().into_inner();
    assert_eq!(answer.publishable_key, "pk_test_mart");
    assert_eq!(answer.payment.unwrap().client_secret, intent.client_secret);

    let manual = TestApp::spawn_configured(TestDb::sqlite().await, Provider::Manual, |settings| {
        settings.stripe_publishable_key = Some("pk_test_mart".to_owned());
    })
    .await;
    let order = order_id();
    manual.awaits_payment(&order, "bob", 1000).await;
    manual.wait_for_payment(&order).await;
    let request = authed(&manual.user("bob"), pb::GetPaymentRequest { order_id: order });
    assert_eq!(manual.client().get_payment(request).await.unwrap().into_inner().publishable_key, "");
}

/// An order of nothing (svc-order pays it itself): no PaymentIntent, no payment, and not
/// the dead letter a total "nobody can pay" used to be.
async fn a_free_order_opens_no_payment_and_no_dead_letter(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Stripe).await;
    let order = order_id();
    app.awaits_payment(&order, "alice", 0).await;
    app.settle(&order).await;
    assert!(intents_of(&app, &order).is_empty());
    assert_eq!(app.payment_as(&app.admin(), &order).await.unwrap_err().code(), Code::NotFound);
    let mart_platform::bus::EventBus::Embedded(log) = &app.bus else { panic!("the tests run on the embedded bus") };
    let letters = log.read(&mart_platform::bus::dlq_topic("mart.order.events"), None, 0, 10).await.unwrap();
    assert!(letters.is_empty(), "{} dead letters", letters.len());
}

/// An order cancelled before its payment opened: the OrderAwaitingPayment that arrives
/// after (late, redelivered, or replayed from the DLQ by an operator) opens no intent
/// anyone could pay, and no payment shows.
async fn a_payment_asked_for_after_the_cancel_opens_nothing(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Stripe).await;
    let order = order_id();
    app.cancelled(&order, "alice", false).await;
    let awaiting = app.awaits_payment(&order, "alice", 2500).await;
    app.settle(&order).await;
    // The same event once more, as `events dlq replay` would hand it back.
    publish_envelope(&app.bus, &awaiting).await;
    app.settle(&order).await;

    assert!(intents_of(&app, &order).is_empty(), "no PaymentIntent for a cancelled order");
    let missing = app.payment_as(&app.admin(), &order).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    // Another order still gets its payment.
    let other = order_id();
    awaiting_payment(&app, &other).await;
}

async fn awaiting_payment(app: &TestApp, order: &str) {
    awaiting(app, order, "bob", 1000).await;
}

/// The PaymentIntents of `order` at the fake.
fn intents_of(app: &TestApp, order: &str) -> Vec<Intent> {
    app.fake().intents().into_iter().filter(|i| i.metadata.get("order_id").map(String::as_str) == Some(order)).collect()
}

/// `order` of `user`, awaiting `amount` with its PaymentIntent created; the intent.
async fn awaiting(app: &TestApp, order: &str, user: &str, amount: i64) -> Intent {
    app.awaits_payment(order, user, amount).await;
    app.wait_for_payment(order).await;
    let intents = intents_of(app, order);
    assert_eq!(intents.len(), 1, "{intents:?}");
    intents[0].clone()
}

async fn a_customer_pays_with_stripe(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Stripe).await;
    let order = order_id();
    let intent = awaiting(&app, &order, "alice", 4999).await;

    // The PaymentIntent Stripe got: the total in minor units, the order in its metadata,
    // an idempotency key only this order has.
    assert_eq!(
        (intent.amount, intent.currency.as_str(), intent.status.as_str()),
        (4999, "usd", "requires_payment_method")
    );
    assert_eq!(intent.metadata.get("order_id"), Some(&order));
    assert_eq!(intent.metadata.get("user_id").map(String::as_str), Some("alice"));
    assert_eq!(intent.idempotency_key, Some(format!("mart-order-{order}-intent")));

    let events = app.wait_for_event(&order, created).await;
    let Some(Payload::PaymentCreated(announced)) = &events[0].payload else { panic!("{events:?}") };
    assert_eq!(announced.provider(), mart_proto::events::PaymentProvider::Stripe);

    // Alice's checkout page gets what Stripe.js needs.
    let pending = app.payment_as(&app.user("alice"), &order).await.unwrap();
    assert_eq!(pending.provider(), pb::PaymentProvider::Stripe);
    assert_eq!(pending.status(), pb::PaymentStatus::Pending);
    assert_eq!(pending.client_secret, intent.client_secret);
    assert_eq!(pending.provider_reference, intent.id);

    // Stripe's manual confirmation is for the manual provider only.
    let manual = app.confirm(&app.admin(), &order, "cash").await.unwrap_err();
    assert_eq!((manual.code(), reason(&manual).as_str()), (Code::FailedPrecondition, "NOT_MANUAL_PAYMENT"));

    // She pays; Stripe says so.
    app.deliver(&app.fake().succeed(&intent.id)).await.unwrap();
    let paid = app.payment_as(&app.user("alice"), &order).await.unwrap();
    assert_eq!(paid.status(), pb::PaymentStatus::Succeeded);
    assert!(paid.client_secret.is_empty(), "no secret once there is nothing left to pay");
    let events = app.wait_for_event(&order, succeeded).await;
    let Some(Payload::PaymentSucceeded(success)) = &events[1].payload else { panic!("{events:?}") };
    assert_eq!(
        (success.order_id.as_str(), success.amount.as_ref().map(|m| m.amount_minor)),
        (order.as_str(), Some(4999))
    );
}

async fn a_redelivered_order_gets_one_payment_intent(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Stripe).await;
    let order = order_id();
    let first = app.awaits_payment(&order, "alice", 1000).await;
    publish_envelope(&app.bus, &first).await; // the same event again
    app.awaits_payment(&order, "alice", 1000).await; // a second event about the same order
    let events = app.settle(&order).await;

    assert_eq!(intents_of(&app, &order).len(), 1);
    assert_eq!(count(&events, &order, created), 1);
}

async fn a_lost_reply_from_stripe_makes_no_second_payment_intent(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Stripe).await;
    let order = order_id();
    // Stripe creates the intent, but its answer never arrives: the reaction fails and the
    // bus retries it, asking Stripe again with the same idempotency key.
    app.fake().lose_replies(1);
    app.awaits_payment(&order, "alice", 1000).await;
    let payment = app.wait_for_payment(&order).await;

    let intents = intents_of(&app, &order);
    assert_eq!(intents.len(), 1, "{intents:?}");
    assert_eq!(payment.provider_reference, intents[0].id);
    assert_eq!(payment.client_secret, intents[0].client_secret);
    let events = app.settle(&order).await;
    assert_eq!(count(&events, &order, created), 1);
}

async fn a_retried_refund_refunds_once(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Stripe).await;
    let order = order_id();
    let intent = awaiting(&app, &order, "alice", 2000).await;
    app.deliver(&app.fake().succeed(&intent.id)).await.unwrap();

    // Stripe refunds, but its answer to the admin's call is lost: the refund is recorded
    // as pending and asked again shortly, with the same idempotency key.
    app.fake().lose_replies(1);
    let answer = app.refund_part(&order, "damaged", None, &[]).await.unwrap();
    let refund = answer.refund.expect("the refund");
    assert_eq!(refund.status(), pb::RefundStatus::Pending, "{refund:?}");
    assert_eq!(answer.payment.unwrap().status(), pb::PaymentStatus::Succeeded, "not refunded until it is");
    let again = app.refund(&order, "damaged").await.unwrap_err();
    assert_eq!(
        (again.code(), reason(&again).as_str()),
        (Code::FailedPrecondition, "REFUND_EXCEEDS_CAPTURED"),
        "a pending refund's money is promised: a second one does not fit"
    );

    app.wait_for_status(&order, pb::PaymentStatus::Refunded).await;
    let refunds = app.fake().refunds();
    assert_eq!(refunds.len(), 1, "the retry got the first refund back: {refunds:?}");
    assert_eq!(refunds[0].idempotency_key, Some(format!("mart-refund-{}", refund.id)));
    let events = app.settle(&order).await;
    assert_eq!(count(&events, &order, refunded), 1);
}

async fn cancelling_a_paid_order_refunds_it_once(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Stripe).await;
    let order = order_id();
    let intent = awaiting(&app, &order, "alice", 2500).await;
    app.deliver(&app.fake().succeed(&intent.id)).await.unwrap();

    let cancelled = app.cancelled(&order, "alice", true).await;
    publish_envelope(&app.bus, &cancelled).await;
    app.cancelled(&order, "alice", true).await;
    let events = app.settle(&order).await;

    let refunds = app.fake().refunds();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!((refunds[0].payment_intent.as_str(), refunds[0].amount), (intent.id.as_str(), 2500));
    assert!(refunds[0].idempotency_key.as_deref().is_some_and(|key| key.starts_with("mart-refund-")), "{refunds:?}");
    assert_eq!(count(&events, &order, refunded), 1);
    let payment = app.payment_as(&app.user("alice"), &order).await.unwrap();
    assert_eq!((payment.status(), payment.status_reason.as_str()), (pb::PaymentStatus::Refunded, "changed my mind"));

    // Stripe reports the refund it made for us: already known, nothing more happens.
    app.deliver(&app.fake().charge_refunded(&intent.id)).await.unwrap();
    let events = app.settle(&order).await;
    assert_eq!(count(&events, &order, refunded), 1);
}

async fn cancelling_an_unpaid_order_cancels_its_payment_intent(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Stripe).await;
    let order = order_id();
    let intent = awaiting(&app, &order, "alice", 2500).await;

    app.cancelled(&order, "alice", false).await;
    let payment = app.wait_for_status(&order, pb::PaymentStatus::Cancelled).await;
    assert!(payment.client_secret.is_empty());
    // Cancelled at Stripe right after, outside the transaction that cancelled it here.
    app.settle(&order).await;
    let at_stripe = app.fake().intents().into_iter().find(|i| i.id == intent.id).unwrap();
    assert_eq!(at_stripe.status, "canceled", "no one can pay it at Stripe any more");
    assert!(app.fake().refunds().is_empty());
}

async fn money_that_beats_the_cancel_is_given_back(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Stripe).await;
    let order = order_id();
    let intent = awaiting(&app, &order, "alice", 1500).await;

    // Alice pays at the very moment the order is cancelled: Stripe has the money, its
    // webhook is still on the way when the cancel arrives.
    let success = app.fake().succeed(&intent.id);
    app.cancelled(&order, "alice", false).await;
    let payment = app.wait_for_status(&order, pb::PaymentStatus::Refunded).await;
    assert_eq!(payment.status_reason, "paid after the order stopped waiting for payment");
    assert_eq!(app.fake().refunds().len(), 1);

    // The late webhook changes nothing: the money is already on its way back.
    app.deliver(&success).await.unwrap();
    let events = app.settle(&order).await;
    assert_eq!((count(&events, &order, refunded), count(&events, &order, succeeded)), (1, 0));
    assert_eq!(app.fake().refunds().len(), 1);
}

async fn refunding_twice_refunds_once(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Stripe).await;
    let order = order_id();
    let intent = awaiting(&app, &order, "alice", 3000).await;
    app.deliver(&app.fake().succeed(&intent.id)).await.unwrap();

    let (first, second) = tokio::join!(app.refund(&order, "damaged"), app.refund(&order, "damaged"));
    let outcomes = [&first, &second];
    assert_eq!(outcomes.iter().filter(|r| r.is_ok()).count(), 1, "{first:?} {second:?}");
    let refused = outcomes.iter().find_map(|r| r.as_ref().err()).unwrap();
    // Whichever came second found the money promised (refund pending) or gone (refunded).
    assert_eq!((refused.code(), reason(refused).as_str()), (Code::FailedPrecondition, "REFUND_EXCEEDS_CAPTURED"));

    app.wait_for_status(&order, pb::PaymentStatus::Refunded).await;
    let again = app.refund(&order, "damaged").await.unwrap_err();
    assert_eq!((again.code(), reason(&again).as_str()), (Code::FailedPrecondition, "REFUND_EXCEEDS_CAPTURED"));
    assert_eq!(app.fake().refunds().len(), 1);
    let events = app.settle(&order).await;
    assert_eq!(count(&events, &order, refunded), 1);
}
