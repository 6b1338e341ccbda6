//! The manual provider: the shop's money arrives by bank transfer or cash, and an admin
//! says so. Who may see and do what.

use mart_platform::{
    db_tests,
    test_util::{TestDb, bad_fields, reason},
};
use mart_proto::{events::envelope::Payload, payment as pb};
use tonic::Code;

use crate::support::{Provider, TestApp, count, created, order_id, refunded, succeeded};

db_tests!(
    an_admin_confirms_a_manual_payment,
    users_see_only_their_own_payments,
    only_admins_confirm_and_refund,
    a_manual_payment_is_refunded_once,
    cancelling_an_unpaid_order_cancels_its_payment,
    bad_requests_name_the_field,
);

async fn an_admin_confirms_a_manual_payment(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Manual).await;
    let order = order_id();
    app.awaits_payment(&order, "alice", 2500).await;

    let events = app.wait_for_event(&order, created).await;
    let Some(Payload::PaymentCreated(announced)) = &events[0].payload else { panic!("{events:?}") };
    assert_eq!(announced.provider(), mart_proto::events::PaymentProvider::Manual);
    assert_eq!(announced.amount.as_ref().map(|m| (m.amount_minor, m.currency.as_str())), Some((2500, "USD")));

    // Alice sees her payment waiting; there is nothing for Stripe.js.
    let pending = app.payment_as(&app.user("alice"), &order).await.unwrap();
    assert_eq!(pending.status(), pb::PaymentStatus::Pending);
    assert_eq!(pending.provider(), pb::PaymentProvider::Manual);
    assert_eq!(pending.user_id, "alice");
    assert_eq!(pending.id, announced.payment_id);
    assert!(pending.client_secret.is_empty());
    assert!(pending.expires_at.is_some(), "an unpaid payment says when it expires");

    let paid = app.confirm(&app.admin(), &order, "bank transfer 4711").await.unwrap();
    assert_eq!(paid.status(), pb::PaymentStatus::Succeeded);
    assert_eq!(paid.provider_reference, "bank transfer 4711");
    assert!(paid.expires_at.is_none());

    let events = app.wait_for_event(&order, succeeded).await;
    let Some(Payload::PaymentSucceeded(success)) = &events[1].payload else { panic!("{events:?}") };
    assert_eq!((success.payment_id.as_str(), success.user_id.as_str()), (paid.id.as_str(), "alice"));
    assert_eq!(success.amount.as_ref().map(|m| m.amount_minor), Some(2500));

    // Confirming twice is refused: the money arrived once.
    let again = app.confirm(&app.admin(), &order, "").await.unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert_eq!(reason(&again), "PAYMENT_NOT_PENDING");
    assert_eq!(app.payment_as(&app.user("alice"), &order).await.unwrap().status(), pb::PaymentStatus::Succeeded);
}

async fn users_see_only_their_own_payments(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Manual).await;
    let order = order_id();
    app.awaits_payment(&order, "alice", 1000).await;
    app.wait_for_payment(&order).await;

    // Bob asks for Alice's order: the same answer as for an order that does not exist.
    let theirs = app.payment_as(&app.user("bob"), &order).await.unwrap_err();
    let missing = app.payment_as(&app.user("bob"), "no-such-order").await.unwrap_err();
    assert_eq!((theirs.code(), missing.code()), (Code::NotFound, Code::NotFound));
    assert_eq!(theirs.message(), missing.message());
    assert_eq!(app.payment_as(&app.user("alice"), &order).await.unwrap().order_id, order);
    assert_eq!(app.payment(&order).await.user_id, "alice", "admins see every payment");

    let anonymous = app.client().get_payment(pb::GetPaymentRequest { order_id: order.clone() }).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
}

async fn only_admins_confirm_and_refund(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Manual).await;
    let order = order_id();
    app.awaits_payment(&order, "alice", 1000).await;
    app.wait_for_payment(&order).await;

    let denied = app.confirm(&app.user("alice"), &order, "I paid, promise").await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let request = mart_platform::test_util::authed(
        &app.user("alice"),
        pb::RefundPaymentRequest { order_id: order.clone(), ..Default::default() },
    );
    assert_eq!(app.client().refund_payment(request).await.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(app.payment(&order).await.status(), pb::PaymentStatus::Pending, "nothing changed");

    let unknown = app.confirm(&app.admin(), "no-such-order", "").await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
}

async fn a_manual_payment_is_refunded_once(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Manual).await;
    let order = order_id();
    app.awaits_payment(&order, "alice", 1999).await;
    app.wait_for_payment(&order).await;

    let early = app.refund(&order, "").await.unwrap_err();
    assert_eq!((early.code(), reason(&early).as_str()), (Code::FailedPrecondition, "PAYMENT_NOT_SUCCEEDED"));

    app.confirm(&app.admin(), &order, "cash").await.unwrap();
    let refunded_payment = app.refund(&order, "damaged in transit").await.unwrap();
    assert_eq!(refunded_payment.status(), pb::PaymentStatus::Refunded);
    assert_eq!(refunded_payment.status_reason, "damaged in transit");
    let twice = app.refund(&order, "damaged in transit").await.unwrap_err();
    assert_eq!((twice.code(), reason(&twice).as_str()), (Code::FailedPrecondition, "REFUND_EXCEEDS_CAPTURED"));

    // The order is cancelled as well: the refund already happened, nothing more is given.
    app.cancelled(&order, "alice", true).await;
    let events = app.settle(&order).await;
    assert_eq!(count(&events, &order, refunded), 1);
    let Some(Payload::PaymentRefunded(announced)) =
        events.iter().find(|e| e.payload.as_ref().is_some_and(refunded)).and_then(|e| e.payload.clone())
    else {
        panic!("{events:?}")
    };
    assert_eq!(
        (announced.reason.as_str(), announced.amount.map(|m| m.amount_minor)),
        ("damaged in transit", Some(1999))
    );
}

async fn cancelling_an_unpaid_order_cancels_its_payment(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Manual).await;
    let order = order_id();
    let awaiting = app.awaits_payment(&order, "alice", 500).await;
    app.wait_for_payment(&order).await;

    app.cancelled(&order, "alice", false).await;
    let cancelled = app.wait_for_status(&order, pb::PaymentStatus::Cancelled).await;
    assert_eq!(cancelled.status_reason, "changed my mind");
    let late = app.confirm(&app.admin(), &order, "cash").await.unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition, "a cancelled order's payment cannot be confirmed");

    // The order's event again (a redelivery) opens nothing new.
    mart_platform::test_util::publish_envelope(&app.bus, &awaiting).await;
    app.awaits_payment(&order, "alice", 500).await;
    let events = app.settle(&order).await;
    assert_eq!(count(&events, &order, created), 1);
    assert_eq!(app.payment(&order).await.status(), pb::PaymentStatus::Cancelled);
    app.stop().await;
}

async fn bad_requests_name_the_field(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Manual).await;
    let status = app.confirm(&app.admin(), " ", &"x".repeat(201)).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["order_id", "reference"]);
    let status = app.refund("", &"x".repeat(501)).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["order_id", "reason"]);
    let status = app.payment_as(&app.user("alice"), "").await.unwrap_err();
    assert_eq!(bad_fields(&status), ["order_id"]);
}
