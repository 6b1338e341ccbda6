//! Payments nobody pays fail once their time is up, so the order can be cancelled and
//! its stock released; money that arrived in time is kept.

use std::time::Duration;

use mart_platform::{db_tests, test_util::TestDb};
use mart_proto::{events::envelope::Payload, payment as pb};
use tonic::Code;

use crate::support::{Provider, TestApp, count, failed, order_id, succeeded};

db_tests!(an_unpaid_manual_payment_expires, an_unpaid_payment_intent_expires_and_is_cancelled);

/// Short enough for a test, long enough for an admin to confirm the paid one first even on
/// a busy machine.
const TIMEOUT: Duration = Duration::from_secs(2);

async fn an_unpaid_manual_payment_expires(db: TestDb) {
    let app = TestApp::spawn_with_timeout(db, Provider::Manual, TIMEOUT).await;
    let (unpaid, paid) = (order_id(), order_id());
    app.awaits_payment(&unpaid, "alice", 1000).await;
    app.awaits_payment(&paid, "bob", 1000).await;
    app.wait_for_payment(&unpaid).await;
    app.wait_for_payment(&paid).await;
    app.confirm(&app.admin(), &paid, "cash").await.unwrap();

    let expired = app.wait_for_status(&unpaid, pb::PaymentStatus::Failed).await;
    assert_eq!(expired.status_reason, "expired");
    assert!(expired.expires_at.is_none());
    let events = app.wait_for_event(&unpaid, failed).await;
    let Some(Payload::PaymentFailed(failure)) =
        events.iter().find(|e| e.payload.as_ref().is_some_and(failed)).and_then(|e| e.payload.clone())
    else {
        panic!("{events:?}")
    };
    assert!(failure.expired);
    assert_eq!(failure.reason, "expired");
    let late = app.confirm(&app.admin(), &unpaid, "cash").await.unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition);

    // The paid one stays paid, however long it waits.
    let events = app.settle(&paid).await;
    assert_eq!((count(&events, &paid, succeeded), count(&events, &paid, failed)), (1, 0));
    assert_eq!(app.payment(&paid).await.status(), pb::PaymentStatus::Succeeded);
    app.stop().await;
}

async fn an_unpaid_payment_intent_expires_and_is_cancelled(db: TestDb) {
    let app = TestApp::spawn_with_timeout(db, Provider::Stripe, TIMEOUT).await;
    let order = order_id();
    app.awaits_payment(&order, "alice", 1000).await;
    let intent = app.wait_for_payment(&order).await.provider_reference;

    app.wait_for_status(&order, pb::PaymentStatus::Failed).await;
    let at_stripe = app.fake().intents().into_iter().find(|i| i.id == intent).unwrap();
    assert_eq!(at_stripe.status, "canceled", "an expired payment cannot be paid at Stripe any more");
    let events = app.settle(&order).await;
    assert_eq!(count(&events, &order, failed), 1);
}
