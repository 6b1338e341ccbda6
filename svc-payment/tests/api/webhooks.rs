//! Stripe's webhook: only Stripe's signed word counts, each event counts once, and news
//! that arrives late never moves money backwards.

use mart_platform::{
    db_tests,
    test_util::{TestDb, bad_fields},
};
use mart_proto::payment as pb;
use svc_payment::provider::stripe::webhook::{TOLERANCE_SECONDS, sign};

use crate::support::{Provider, TestApp, count, failed, order_id, refunded, succeeded};

db_tests!(
    forged_stale_and_unsigned_webhooks_are_refused,
    a_redelivered_event_counts_once,
    a_stale_failure_does_not_undo_a_success,
    a_declined_card_fails_the_payment,
);

/// `order` of alice, awaiting payment; its PaymentIntent id.
async fn awaiting(app: &TestApp, order: &str) -> String {
    app.awaits_payment(order, "alice", 1200).await;
    app.wait_for_payment(order).await.provider_reference
}

async fn forged_stale_and_unsigned_webhooks_are_refused(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Stripe).await;
    let order = order_id();
    let intent = awaiting(&app, &order).await;
    let genuine = app.fake().succeed(&intent);
    let now = chrono::Utc::now().timestamp();

    let forged = sign("whsec_not_stripes", &genuine.body, now);
    let stale = sign(&app.fake().webhook_secret(), &genuine.body, now - TOLERANCE_SECONDS - 60);
    let mut tampered = genuine.body.clone();
    tampered.extend_from_slice(b" ");
    for (what, body, signature) in [
        ("forged", &genuine.body, Some(forged.as_str())),
        ("stale", &genuine.body, Some(stale.as_str())),
        ("unsigned", &genuine.body, None),
        ("tampered", &tampered, Some(genuine.signature.as_str())),
        ("garbled", &genuine.body, Some("t=abc,v2=zz")),
    ] {
        let refused = app.post_webhook(body, signature).await.expect_err(what);
        assert_eq!(bad_fields(&refused), ["stripe-signature"], "{what}");
    }
    assert_eq!(app.payment(&order).await.status(), pb::PaymentStatus::Pending, "nothing was believed");

    // A correctly signed body that is not an event is refused as such.
    let junk = b"{\"hello\":1}";
    let refused = app.post_webhook(junk, Some(&sign(&app.fake().webhook_secret(), junk, now))).await.unwrap_err();
    assert_eq!(bad_fields(&refused), ["body"]);

    // The genuine article still works afterwards: refusals left no trace.
    app.deliver(&genuine).await.unwrap();
    assert_eq!(app.payment(&order).await.status(), pb::PaymentStatus::Succeeded);
    let events = app.settle(&order).await;
    assert_eq!(count(&events, &order, succeeded), 1);
}

async fn a_redelivered_event_counts_once(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Stripe).await;
    let order = order_id();
    let intent = awaiting(&app, &order).await;
    let success = app.fake().succeed(&intent);

    app.deliver(&success).await.unwrap();
    app.deliver(&success).await.unwrap();
    // Stripe retries with a fresh signature over the same event.
    let resigned = sign(&app.fake().webhook_secret(), &success.body, chrono::Utc::now().timestamp());
    app.post_webhook(&success.body, Some(&resigned)).await.unwrap();

    let events = app.settle(&order).await;
    assert_eq!(count(&events, &order, succeeded), 1);
    assert_eq!(app.payment(&order).await.status(), pb::PaymentStatus::Succeeded);
}

async fn a_stale_failure_does_not_undo_a_success(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Stripe).await;
    let order = order_id();
    let intent = awaiting(&app, &order).await;

    // Alice's first card is declined, her second one works; Stripe's two webhooks arrive
    // the other way round.
    let declined = app.fake().decline(&intent, "insufficient_funds");
    let success = app.fake().succeed(&intent);
    app.deliver(&success).await.unwrap();
    app.deliver(&declined).await.unwrap();

    let payment = app.payment(&order).await;
    assert_eq!(payment.status(), pb::PaymentStatus::Succeeded);
    let events = app.settle(&order).await;
    assert_eq!((count(&events, &order, succeeded), count(&events, &order, failed)), (1, 0));
    assert!(app.fake().refunds().is_empty());
}

async fn a_declined_card_fails_the_payment(db: TestDb) {
    let app = TestApp::spawn(db, Provider::Stripe).await;
    let order = order_id();
    let intent = awaiting(&app, &order).await;

    app.deliver(&app.fake().decline(&intent, "card_declined")).await.unwrap();
    // Settled after the webhook was acknowledged: Stripe is asked where it stands first.
    let payment = app.wait_for_status(&order, pb::PaymentStatus::Failed).await;
    assert_eq!((payment.status(), payment.status_reason.as_str()), (pb::PaymentStatus::Failed, "card_declined"));
    let events = app.wait_for_event(&order, failed).await;
    let Some(mart_proto::events::envelope::Payload::PaymentFailed(failure)) =
        events.iter().find(|e| e.payload.as_ref().is_some_and(failed)).and_then(|e| e.payload.clone())
    else {
        panic!("{events:?}")
    };
    assert_eq!((failure.reason.as_str(), failure.expired), ("card_declined", false));
    // The order gives up on it, so Stripe must not take money for it any more.
    let at_stripe = app.fake().intents().into_iter().find(|i| i.id == intent).unwrap();
    assert_eq!(at_stripe.status, "canceled");

    // Should money arrive anyway, it goes straight back.
    app.deliver(&app.fake().succeed(&intent)).await.unwrap();
    app.wait_for_status(&order, pb::PaymentStatus::Refunded).await;
    let events = app.settle(&order).await;
    assert_eq!((count(&events, &order, succeeded), count(&events, &order, refunded)), (0, 1));
    assert_eq!(app.fake().refunds().len(), 1);
}

/// A Stripe key without the webhook secret would start and never see a card payment
/// succeed: the binary refuses to start, naming the variable, and does not echo the key.
#[tokio::test]
async fn stripe_without_a_webhook_secret_does_not_start() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_svc-payment"))
        .env("STRIPE_SECRET_KEY", "sk_test_secret_value")
        .env_remove("STRIPE_WEBHOOK_SECRET")
        .env_remove("MART_PAYMENT_PROVIDER")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("STRIPE_WEBHOOK_SECRET"), "{stderr}");
    assert!(!stderr.contains("sk_test_secret_value"), "{stderr}");
}
