//! An admin writing to a customer (SendNotification): inbox and email, SMS on request, and
//! nobody else may.

use mart_platform::{
    db_tests,
    test_util::{TestDb, reason},
};
use mart_proto::notify as pb;
use svc_notify::domain::DeliveryStatus;
use tonic::Code;

use crate::support::{TestApp, authed, bad_fields, eventually};

db_tests!(an_admin_writes_to_a_customer, only_admins_write_and_only_sensible_messages);

fn message(user_id: &str, channels: Vec<pb::NotificationChannel>) -> pb::SendNotificationRequest {
    pb::SendNotificationRequest {
        user_id: user_id.to_owned(),
        subject: "About your parcel".into(),
        body: "It will be a day late.\nSorry <3".into(),
        channels: channels.into_iter().map(i32::from).collect(),
    }
}

async fn an_admin_writes_to_a_customer(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let ada = app.register("ada@example.com", "Ada", Some("+4915112345678")).await;
    app.wait_inbox(&ada, 1).await;
    app.smtp.wait_for("the welcome email", |mails| mails.len() == 1).await;
    let admin = app.tokens.admin("admin-1");
    let mut client = app.client();

    // No channels named: inbox and email.
    let sent = client.send_notification(authed(&admin, message(&ada, vec![]))).await.unwrap().into_inner();
    let sent = sent.notification.unwrap();
    assert_eq!(sent.kind(), pb::NotificationKind::AdminMessage);
    assert_eq!(sent.channels().collect::<Vec<_>>(), [pb::NotificationChannel::Inbox, pb::NotificationChannel::Email]);
    assert_eq!((sent.user_id.as_str(), sent.subject.as_str()), (ada.as_str(), "About your parcel"));

    let inbox = app.inbox(&ada).await;
    assert_eq!(inbox[0].id, sent.id, "newest first");
    assert_eq!(inbox[0].body, "It will be a day late.\nSorry <3");
    let mails = app.smtp.wait_for("the admin's email", |mails| mails.len() == 2).await;
    let mail = &mails[1];
    assert_eq!(mail.to, ["ada@example.com"]);
    assert_eq!(mail.subject().as_deref(), Some("About your parcel"));
    assert!(mail.text().unwrap().contains("It will be a day late.\nSorry <3"));
    let html = mail.html().unwrap();
    assert!(html.contains("Sorry &lt;3") && html.contains("<title>About your parcel</title>"), "{html}");

    // SMS only, on request: the user has a phone; the log provider takes it.
    let request = message(&ada, vec![pb::NotificationChannel::Inbox, pb::NotificationChannel::Sms]);
    let texted = client.send_notification(authed(&admin, request)).await.unwrap().into_inner().notification.unwrap();
    assert_eq!(texted.channels().collect::<Vec<_>>(), [pb::NotificationChannel::Inbox, pb::NotificationChannel::Sms]);
    let sms = eventually("the SMS to be sent", || async {
        let row = app.deliveries(&texted.id).await.pop()?;
        (row.status() == Some(DeliveryStatus::Sent)).then_some(row)
    })
    .await;
    assert_eq!((sms.channel.as_str(), sms.recipient.as_deref()), ("sms", Some("+4915112345678")));

    // A user without a phone: SMS is skipped silently.
    let bob = app.register("bob@example.com", "Bob", None).await;
    app.wait_inbox(&bob, 1).await;
    let request = message(&bob, vec![pb::NotificationChannel::Sms]);
    let skipped = client.send_notification(authed(&admin, request)).await.unwrap().into_inner().notification.unwrap();
    assert_eq!(skipped.channels().collect::<Vec<_>>(), [pb::NotificationChannel::Inbox]);
    assert_eq!(app.inbox(&bob).await.len(), 2);
}

async fn only_admins_write_and_only_sensible_messages(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let ada = app.register("ada@example.com", "Ada", None).await;
    app.wait_inbox(&ada, 1).await;
    let mut client = app.client();

    let customer = client.send_notification(authed(&app.tokens.user(&ada), message(&ada, vec![]))).await.unwrap_err();
    assert_eq!((customer.code(), reason(&customer).as_str()), (Code::PermissionDenied, "ADMIN_ONLY"));
    let anonymous = client.send_notification(message(&ada, vec![])).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    let admin = app.tokens.admin("admin-1");
    let bad = pb::SendNotificationRequest {
        user_id: " ".into(),
        subject: String::new(),
        body: "x".repeat(10_001),
        channels: vec![pb::NotificationChannel::Email.into(), 0],
    };
    let status = client.send_notification(authed(&admin, bad)).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["user_id", "subject", "body", "channels[1]"]);
    let too_long = pb::SendNotificationRequest { subject: "s".repeat(201), ..message(&ada, vec![]) };
    assert_eq!(bad_fields(&client.send_notification(authed(&admin, too_long)).await.unwrap_err()), ["subject"]);

    let unknown = client.send_notification(authed(&admin, message("nobody", vec![]))).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    assert_eq!(app.inbox(&ada).await.len(), 1, "nothing was sent");
}
