//! Email as the customer receives it, through a real SMTP server: once per event however
//! often the bus delivers it, after retries when the mail server refuses for a while, late
//! rather than never when the order overtakes the account, and not at all without SMTP.

use mart_platform::{
    bus::{Event, Handler},
    db_tests,
    events::envelope,
    test_util::{TestDb, publish_envelope},
    wake::Waker,
};
use mart_proto::{
    events::{OrderPlaced, OrderShipped, UserDeleted, envelope::Payload},
    notify as pb,
};
use sea_orm::TransactionTrait;
use svc_notify::{domain::DeliveryStatus, provider::Channels, reactions::Reactions};

use crate::support::{TestApp, eur, eventually, with_subject};

db_tests!(
    a_redelivered_event_notifies_and_emails_once,
    replicas_share_the_queue_and_send_each_email_once,
    the_handler_itself_is_idempotent,
    a_refusing_mail_server_gets_the_email_after_retries,
    a_mail_server_that_is_down_gets_the_email_once_it_is_back,
    an_order_that_overtakes_the_account_is_emailed_once_the_account_is_known,
    without_smtp_the_inbox_is_all,
    a_deleted_account_is_not_written_to,
);

fn placed(order_id: &str, user_id: &str) -> Payload {
    Payload::OrderPlaced(OrderPlaced {
        order_id: order_id.into(),
        user_id: user_id.into(),
        lines: vec![],
        total: eur(1000),
    })
}

fn shipped(order_id: &str, user_id: &str) -> Payload {
    Payload::OrderShipped(OrderShipped {
        order_id: order_id.into(),
        user_id: user_id.into(),
        carrier: "DHL".into(),
        tracking_number: String::new(),
    })
}

async fn a_redelivered_event_notifies_and_emails_once(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let ada = app.register("ada@example.com", "Ada", None).await;

    let order = app.publish("o1", placed("o1", &ada)).await;
    publish_envelope(&app.bus, &order).await; // the same envelope again
    publish_envelope(&app.bus, &order).await;
    // Keyed like the order, so handled after both copies.
    app.publish("o1", shipped("o1", &ada)).await;

    let inbox = app.wait_inbox(&ada, 3).await;
    let mails = app.smtp.wait_for("welcome, placed and shipped", |mails| mails.len() >= 3).await;
    let placed = inbox.iter().filter(|n| n.kind() == pb::NotificationKind::OrderPlaced).count();
    assert_eq!(placed, 1, "{inbox:?}");
    assert_eq!(inbox.len(), 3);
    let notification = app.notification_of(&order.id).await.expect("the order's notification");
    let deliveries = app.deliveries(&notification.id).await;
    assert_eq!(deliveries.len(), 1, "one email queued");
    let sent = eventually("the email to be recorded sent", || async {
        let row = app.deliveries(&notification.id).await.pop()?;
        (row.status() == Some(DeliveryStatus::Sent)).then_some(row)
    })
    .await;
    assert_eq!((sent.attempts, sent.recipient.as_deref()), (1, Some("ada@example.com")));
    assert_eq!(with_subject(&mails, "We received your order").len(), 1);
}

async fn replicas_share_the_queue_and_send_each_email_once(db: TestDb) {
    let mut app = TestApp::spawn(db).await;
    app.add_replica().await;
    app.add_replica().await;
    let ada = app.register("ada@example.com", "Ada", None).await;
    app.wait_inbox(&ada, 1).await;
    let orders: Vec<String> = (0..20).map(|n| format!("order-{n:02}")).collect();
    for order in &orders {
        app.publish(order, shipped(order, &ada)).await;
    }

    let inbox = app.wait_inbox(&ada, 21).await;
    assert_eq!(inbox.len(), 21);
    for notification in &inbox {
        let sent = eventually("every email recorded sent", || async {
            let row = app.deliveries(&notification.id).await.pop()?;
            (row.status() == Some(DeliveryStatus::Sent)).then_some(row)
        })
        .await;
        assert_eq!(sent.attempts, 1, "claimed by one sender only: {sent:?}");
    }
    let mails = app.smtp.mails();
    assert_eq!(mails.len(), 21, "one email per event across three senders");
    let mut texts: Vec<_> = mails.iter().filter_map(|mail| mail.text()).collect();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), 21);
    app.stop().await;
}

async fn the_handler_itself_is_idempotent(db: TestDb) {
    // Even past the bus's own inbox (a second event id is not the point here: the same
    // event handled twice in two transactions, as after a crash between commit and offset).
    let app = TestApp::spawn(db).await;
    let ada = app.register("ada@example.com", "Ada", None).await;
    app.wait_inbox(&ada, 1).await;
    let database = app.database().await;
    let channels = Channels::from_config(&svc_notify::config::Settings {
        smtp_url: Some(app.smtp.url()),
        mail_from: "shop@mart.test".into(),
    })
    .unwrap();
    let reactions = Reactions::new(std::sync::Arc::new(channels), Waker::new());
    let event = Event {
        envelope: envelope("o1", placed("o1", &ada)),
        topic: "mart.order.events".into(),
        partition: 0,
        offset: 0,
        traceparent: None,
        headers: vec![],
    };
    for _ in 0..2 {
        let txn = database.begin().await.unwrap();
        reactions.handle(&txn, &event).await.unwrap();
        txn.commit().await.unwrap();
    }
    let notification = app.notification_of(&event.envelope.id).await.unwrap();
    assert_eq!(app.deliveries(&notification.id).await.len(), 1);
    let inbox = app.inbox(&ada).await;
    assert_eq!(inbox.iter().filter(|n| n.kind() == pb::NotificationKind::OrderPlaced).count(), 1);
    app.smtp.wait_for("the order's email", |mails| !with_subject(mails, "We received your order").is_empty()).await;
}

async fn a_refusing_mail_server_gets_the_email_after_retries(db: TestDb) {
    let app = TestApp::spawn(db).await;
    app.smtp.reject(true);
    let registered = {
        let user_id = uuid::Uuid::now_v7().to_string();
        app.register_as(&user_id, "ada@example.com", "Ada", None).await
    };
    let ada = registered.aggregate_id.clone();
    let welcome = app.wait_inbox(&ada, 1).await.remove(0);
    eventually("two refusals", || async { (app.smtp.rejected() >= 2).then_some(()) }).await;
    let waiting = app.deliveries(&welcome.id).await.remove(0);
    assert!(waiting.attempts >= 1);
    assert_ne!(waiting.status(), Some(DeliveryStatus::Sent));
    assert!(app.smtp.mails().is_empty());

    app.smtp.reject(false);
    let mails = app.smtp.wait_for("the welcome email", |mails| !mails.is_empty()).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject().as_deref(), Some("Welcome to Online Mart"));
    let sent = eventually("the delivery recorded", || async {
        let row = app.deliveries(&welcome.id).await.pop()?;
        (row.status() == Some(DeliveryStatus::Sent)).then_some(row)
    })
    .await;
    assert!(sent.attempts >= 3, "two refusals, then success: {sent:?}");
    assert_eq!(sent.attempts as usize, app.smtp.rejected() + 1);
    let error = sent.last_error.unwrap_or_default();
    assert!(error.contains("451"), "the last refusal is on record: {error}");
    assert!(sent.sent_at.is_some());
}

async fn a_mail_server_that_is_down_gets_the_email_once_it_is_back(db: TestDb) {
    let app = TestApp::spawn(db).await;
    app.smtp.down(true);
    let ada = app.register("ada@example.com", "Ada", None).await;
    let welcome = app.wait_inbox(&ada, 1).await.remove(0);
    let failing = eventually("two failed attempts on record", || async {
        let row = app.deliveries(&welcome.id).await.pop()?;
        (row.attempts >= 2).then_some(row)
    })
    .await;
    assert!(app.smtp.hung_up() >= 2);
    assert!(failing.last_error.is_some(), "{failing:?}");
    assert_ne!(failing.status(), Some(DeliveryStatus::Sent));

    app.smtp.down(false);
    let mails = app.smtp.wait_for("the welcome email", |mails| !mails.is_empty()).await;
    assert_eq!((mails.len(), mails[0].to.as_slice()), (1, ["ada@example.com".to_owned()].as_slice()));
    let sent = eventually("the delivery recorded", || async {
        let row = app.deliveries(&welcome.id).await.pop()?;
        (row.status() == Some(DeliveryStatus::Sent)).then_some(row)
    })
    .await;
    assert!(sent.attempts >= 3, "{sent:?}");
}

async fn an_order_that_overtakes_the_account_is_emailed_once_the_account_is_known(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let ada = uuid::Uuid::now_v7().to_string();
    app.publish("o1", placed("o1", &ada)).await;
    let inbox = app.wait_inbox(&ada, 1).await;
    assert_eq!(inbox[0].kind(), pb::NotificationKind::OrderPlaced);
    let queued = eventually("the email to wait for its address", || async {
        let row = app.deliveries(&inbox[0].id).await.pop()?;
        (row.status() == Some(DeliveryStatus::Waiting)).then_some(row)
    })
    .await;
    assert_eq!(queued.attempts, 0, "waiting for an address is no attempt");

    app.register_as(&ada, "ada@example.com", "Ada", None).await;
    let mails = app.smtp.wait_for("both emails", |mails| mails.len() == 2).await;
    let order_mail = with_subject(&mails, "We received your order");
    assert_eq!(order_mail.len(), 1);
    assert_eq!(order_mail[0].to, ["ada@example.com"]);
    assert!(order_mail[0].text().unwrap().starts_with("Hello Ada,"));
}

async fn without_smtp_the_inbox_is_all(db: TestDb) {
    let app = TestApp::spawn_without_mail(db).await;
    let ada = app.register("ada@example.com", "Ada", None).await;
    app.publish("o1", shipped("o1", &ada)).await;
    let inbox = app.wait_inbox(&ada, 2).await;
    for notification in &inbox {
        assert_eq!(notification.channels().collect::<Vec<_>>(), [pb::NotificationChannel::Inbox]);
        assert!(app.deliveries(&notification.id).await.is_empty(), "nothing queued");
    }
    assert!(app.smtp.mails().is_empty() && app.smtp.rejected() == 0);
    app.stop().await;
}

async fn a_deleted_account_is_not_written_to(db: TestDb) {
    let app = TestApp::spawn(db).await;
    app.smtp.reject(true); // hold the welcome email in the queue
    let ada = app.register("ada@example.com", "Ada", None).await;
    let bob = app.register("bob@example.com", "Bob", None).await;
    let welcome = app.wait_inbox(&ada, 1).await.remove(0);
    app.publish(&ada, Payload::UserDeleted(UserDeleted { user_id: ada.clone() })).await;
    let cancelled = eventually("the held email to be cancelled", || async {
        let email = app.deliveries(&welcome.id).await.pop()?;
        (email.status() == Some(DeliveryStatus::Cancelled)).then_some(email)
    })
    .await;
    assert_eq!(cancelled.last_error.as_deref(), Some("the account was deleted"));

    // Order news after the deletion: nothing for Ada. Bob's event, keyed like hers, is
    // handled after it and says when to look.
    app.publish("o1", shipped("o1", &ada)).await;
    app.publish("o1", shipped("o2", &bob)).await;
    app.wait_inbox(&bob, 2).await;
    assert_eq!(app.inbox(&ada).await.len(), 1, "no news after the deletion");
    app.smtp.reject(false);
    let mails = app.smtp.wait_for("Bob's two emails", |mails| mails.len() >= 2).await;
    assert!(mails.iter().all(|mail| mail.to == ["bob@example.com"]), "{mails:?}");
}
