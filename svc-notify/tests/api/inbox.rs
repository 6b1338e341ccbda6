//! The inbox as a customer sees it: welcomed on registration, told about each step of an
//! order, unread ones filtered, marked read, never anyone else's.

use mart_platform::db_tests;
use mart_proto::{
    events::{
        OrderCancelled, OrderLine, OrderPlaced, OrderRejected, OrderShipped, PaymentRefunded, PaymentSucceeded,
        ShortLine, envelope::Payload,
    },
    notify as pb,
};
use tonic::Code;

use crate::support::{TestApp, authed, bad_fields, eur, kinds, with_subject};
use mart_platform::test_util::TestDb;

db_tests!(
    a_new_customer_is_welcomed_in_the_inbox_and_by_email,
    every_step_of_an_order_reaches_the_customer,
    unread_ones_can_be_filtered_paged_and_marked_read,
    nobody_sees_or_marks_another_users_notifications,
    a_page_token_only_continues_the_query_it_came_from,
);

async fn a_new_customer_is_welcomed_in_the_inbox_and_by_email(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let ada = app.register("ada@example.com", "Ada", None).await;

    let inbox = app.wait_inbox(&ada, 1).await;
    let welcome = &inbox[0];
    assert_eq!(welcome.kind(), pb::NotificationKind::Welcome);
    assert_eq!(welcome.subject, "Welcome to Online Mart");
    assert!(welcome.body.contains("Welcome, Ada!"), "{}", welcome.body);
    assert_eq!(welcome.user_id, ada);
    assert_eq!(
        welcome.channels().collect::<Vec<_>>(),
        [pb::NotificationChannel::Inbox, pb::NotificationChannel::Email]
    );
    assert!(!welcome.read && welcome.read_at.is_none());
    let page = app.page(&ada, pb::ListNotificationsRequest::default()).await;
    assert_eq!(page.unread_count, 1);

    let mails = app.smtp.wait_for("the welcome email", |mails| !mails.is_empty()).await;
    let mail = &mails[0];
    assert_eq!(mail.to, ["ada@example.com"]);
    assert_eq!(mail.from, "shop@mart.test");
    assert_eq!(mail.subject().as_deref(), Some("Welcome to Online Mart"));
    assert_eq!(mail.header("To").as_deref(), Some("\"Ada Lovelace\" <ada@example.com>"));
    assert_eq!(mail.header("From").as_deref(), Some("\"Online Mart\" <shop@mart.test>"));
    let text = mail.text().expect("a plain text part");
    assert!(text.starts_with("Hello Ada,") && text.contains("Welcome, Ada!"), "{text}");
    let html = mail.html().expect("an HTML part");
    assert!(html.contains("<p>Hello Ada,</p>") && html.contains("<strong>Ada</strong>"), "{html}");

    // A name is data, never markup.
    let eve = app.register("eve@example.com", "<b>Eve</b>", None).await;
    app.wait_inbox(&eve, 1).await;
    let mails = app.smtp.wait_for("Eve's welcome", |mails| mails.len() == 2).await;
    let html = mails[1].html().unwrap();
    assert!(html.contains("&lt;b&gt;Eve&lt;/b&gt;") && !html.contains("<b>Eve"), "{html}");
    assert!(mails[1].text().unwrap().contains("Welcome, <b>Eve</b>!"));
}

async fn every_step_of_an_order_reaches_the_customer(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let ada = app.register("ada@example.com", "Ada", None).await;
    app.wait_inbox(&ada, 1).await;

    let line = OrderLine {
        product_id: "p1".into(),
        sku: "TEA-1".into(),
        name: "Green tea".into(),
        quantity: 2,
        unit_price: eur(1250),
        line_total: eur(2500),
        ..Default::default()
    };
    // A variant's line says which one.
    let tee = OrderLine {
        product_id: "p2".into(),
        variant_id: "v2".into(),
        sku: "TEE-RED-S".into(),
        name: "Tee".into(),
        option_values: vec![
            mart_proto::common::OptionValue { name: "Size".into(), value: "S".into() },
            mart_proto::common::OptionValue { name: "Colour".into(), value: "Red".into() },
        ],
        quantity: 1,
        unit_price: eur(0),
        line_total: eur(0),
    };
    let placed = OrderPlaced { order_id: "o1".into(), user_id: ada.clone(), lines: vec![line, tee], total: eur(2500) };
    app.publish("o1", Payload::OrderPlaced(placed)).await;
    let paid = PaymentSucceeded {
        payment_id: "pay1".into(),
        order_id: "o1".into(),
        user_id: ada.clone(),
        amount: eur(2500),
        ..Default::default()
    };
    app.publish("o1", Payload::PaymentSucceeded(paid)).await;
    let shipped = OrderShipped {
        order_id: "o1".into(),
        user_id: ada.clone(),
        carrier: "DHL".into(),
        tracking_number: "JD0123".into(),
    };
    app.publish("o1", Payload::OrderShipped(shipped)).await;
    let cancelled = OrderCancelled {
        order_id: "o2".into(),
        user_id: ada.clone(),
        reason: "changed my mind".into(),
        was_paid: true,
        total: eur(990),
        ..Default::default()
    };
    app.publish("o2", Payload::OrderCancelled(cancelled)).await;
    let refunded = PaymentRefunded {
        payment_id: "pay2".into(),
        order_id: "o2".into(),
        user_id: ada.clone(),
        amount: eur(990),
        ..Default::default()
    };
    app.publish("o2", Payload::PaymentRefunded(refunded)).await;
    let short = ShortLine { product_id: "p9".into(), requested: 3, available: 1, ..Default::default() };
    let rejected = OrderRejected { order_id: "o3".into(), user_id: ada.clone(), short_lines: vec![short] };
    app.publish("o3", Payload::OrderRejected(rejected)).await;

    let inbox = app.wait_inbox(&ada, 7).await;
    assert_eq!(inbox.len(), 7);
    let ids: Vec<_> = inbox.iter().map(|n| n.id.clone()).collect();
    let mut newest_first = ids.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, newest_first, "newest first");
    let mut seen = kinds(&inbox);
    seen.sort_by_key(|kind| *kind as i32);
    use pb::NotificationKind as K;
    assert_eq!(
        seen,
        [
            K::Welcome,
            K::OrderPlaced,
            K::OrderRejected,
            K::PaymentSucceeded,
            K::OrderShipped,
            K::OrderCancelled,
            K::PaymentRefunded
        ]
    );
    let about = |kind: K| inbox.iter().find(|n| n.kind() == kind).unwrap();
    let placed = about(K::OrderPlaced);
    assert_eq!((placed.order_id.as_str(), placed.subject.as_str()), ("o1", "We received your order"));
    assert!(placed.body.contains("2 x Green tea  25.00 EUR") && placed.body.contains("Total: 25.00 EUR"));
    assert!(placed.body.contains("1 x Tee (Size: S, Colour: Red)"), "{}", placed.body);
    assert!(about(K::PaymentSucceeded).body.contains("25.00 EUR"));
    let shipped = about(K::OrderShipped);
    assert!(shipped.body.contains("DHL") && shipped.body.contains("JD0123"), "{}", shipped.body);
    let cancelled = about(K::OrderCancelled);
    assert!(cancelled.body.contains("changed my mind") && cancelled.body.contains("refunding"));
    assert_eq!(about(K::PaymentRefunded).order_id, "o2");
    assert!(about(K::OrderRejected).body.contains("you asked for 3, we have 1"));

    // Each one was emailed too.
    let mails = app.smtp.wait_for("seven emails", |mails| mails.len() == 7).await;
    assert!(mails.iter().all(|mail| mail.to == ["ada@example.com"]));
    let shipped = with_subject(&mails, "Your order has shipped");
    assert_eq!(shipped.len(), 1);
    let html = shipped[0].html().unwrap();
    assert!(html.contains("<strong>DHL</strong>") && html.contains("<code>JD0123</code>"), "{html}");
    assert!(with_subject(&mails, "We received your order")[0].html().unwrap().contains("<li>2 × Green tea"));
}

async fn unread_ones_can_be_filtered_paged_and_marked_read(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let ada = app.register("ada@example.com", "Ada", None).await;
    for n in 0..4 {
        let shipped = OrderShipped {
            order_id: format!("o{n}"),
            user_id: ada.clone(),
            carrier: "UPS".into(),
            ..Default::default()
        };
        app.publish(&format!("o{n}"), Payload::OrderShipped(shipped)).await;
    }
    let inbox = app.wait_inbox(&ada, 5).await;

    // Paging walks the whole inbox once, newest first.
    let mut walked = Vec::new();
    let mut token = String::new();
    loop {
        let page =
            app.page(&ada, pb::ListNotificationsRequest { page_size: 2, page_token: token, unread_only: false }).await;
        assert!(page.notifications.len() <= 2);
        walked.extend(page.notifications.into_iter().map(|n| n.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(walked, inbox.iter().map(|n| n.id.clone()).collect::<Vec<_>>());

    let mut client = app.client();
    let token = app.tokens.user(&ada);
    let mark = |id: &str| authed(&token, pb::MarkNotificationReadRequest { notification_id: id.to_owned() });
    let read = client.mark_notification_read(mark(&inbox[1].id)).await.unwrap().into_inner().notification.unwrap();
    assert!(read.read);
    let first_read_at = read.read_at.expect("read_at once read");
    // Marking again succeeds and keeps the first time.
    let again = client.mark_notification_read(mark(&inbox[1].id)).await.unwrap().into_inner().notification.unwrap();
    assert_eq!(again.read_at, Some(first_read_at));

    let unread = app.page(&ada, pb::ListNotificationsRequest { unread_only: true, ..Default::default() }).await;
    assert_eq!(unread.unread_count, 4);
    assert_eq!(unread.notifications.len(), 4);
    assert!(unread.notifications.iter().all(|n| !n.read && n.id != inbox[1].id));
    let all = app.inbox(&ada).await;
    assert_eq!(all.iter().filter(|n| n.read).map(|n| n.id.clone()).collect::<Vec<_>>(), [inbox[1].id.clone()]);
}

async fn nobody_sees_or_marks_another_users_notifications(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let ada = app.register("ada@example.com", "Ada", None).await;
    let bob = app.register("bob@example.com", "Bob", None).await;
    let adas = app.wait_inbox(&ada, 1).await;
    app.wait_inbox(&bob, 1).await;

    let bobs_view = app.inbox(&bob).await;
    assert_eq!(bobs_view.len(), 1);
    assert_eq!(bobs_view[0].user_id, bob);

    let mut client = app.client();
    let bob_token = app.tokens.user(&bob);
    let mark = |id: &str| authed(&bob_token, pb::MarkNotificationReadRequest { notification_id: id.to_owned() });
    let status = client.mark_notification_read(mark(&adas[0].id)).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let unknown = client.mark_notification_read(mark("no-such-id")).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    assert_eq!(unknown.message(), status.message(), "another user's looks like none at all");
    assert!(!app.inbox(&ada).await[0].read, "Ada's stays unread");

    // Even an admin's token marks only its own.
    let admin = app.tokens.admin("admin-1");
    let request = authed(&admin, pb::MarkNotificationReadRequest { notification_id: adas[0].id.clone() });
    assert_eq!(client.mark_notification_read(request).await.unwrap_err().code(), Code::NotFound);

    let empty = client.mark_notification_read(mark(" ")).await.unwrap_err();
    assert_eq!(bad_fields(&empty), ["notification_id"]);
    let bad_page = pb::ListNotificationsRequest { page_size: -1, page_token: "***".into(), unread_only: false };
    let status = client.list_notifications(authed(&bob_token, bad_page)).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["page_size", "page_token"]);
    let anonymous = client.list_notifications(pb::ListNotificationsRequest::default()).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
}

async fn a_page_token_only_continues_the_query_it_came_from(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let ada = app.register("ada@example.com", "Ada", None).await;
    let bob = app.register("bob@example.com", "Bob", None).await;
    for n in 0..4 {
        let shipped = OrderShipped { order_id: format!("o{n}"), user_id: ada.clone(), ..Default::default() };
        app.publish(&format!("o{n}"), Payload::OrderShipped(shipped)).await;
    }
    let inbox = app.wait_inbox(&ada, 5).await;
    app.wait_inbox(&bob, 1).await;
    let mut client = app.client();
    let ada_token = app.tokens.user(&ada);
    let read = authed(&ada_token, pb::MarkNotificationReadRequest { notification_id: inbox[2].id.clone() });
    client.mark_notification_read(read).await.unwrap();

    let first = app.page(&ada, pb::ListNotificationsRequest { page_size: 2, ..Default::default() }).await;
    let token = first.next_page_token;
    assert!(!token.is_empty(), "more pages follow");
    let next = |user_token: &str, page_token: &str, unread_only: bool| {
        let request = pb::ListNotificationsRequest { page_size: 2, page_token: page_token.to_owned(), unread_only };
        authed(user_token, request)
    };

    // The same token with another filter, or by another user: refused, naming the token.
    let other_filter = client.list_notifications(next(&ada_token, &token, true)).await.unwrap_err();
    assert_eq!(bad_fields(&other_filter), ["page_token"]);
    let other_user = client.list_notifications(next(&app.tokens.user(&bob), &token, false)).await.unwrap_err();
    assert_eq!(bad_fields(&other_user), ["page_token"]);

    // A forged token (an id in base64, as tokens used to be) and a garbled one: refused alike.
    let mut garbled: Vec<char> = token.chars().collect();
    let middle = garbled.len() / 2;
    garbled[middle] = if garbled[middle] == 'A' { 'B' } else { 'A' };
    let garbled: String = garbled.into_iter().collect();
    for forged in ["ZmZmZmZmZmYtZmZmZi03ZmZmLWJmZmYtZmZmZmZmZmZmZmZm", garbled.as_str()] {
        let status = client.list_notifications(next(&ada_token, forged, false)).await.unwrap_err();
        assert_eq!(bad_fields(&status), ["page_token"], "{forged}");
    }

    // With the filter kept, paging still walks every row once, newest first.
    let all: Vec<_> = inbox.iter().map(|n| n.id.clone()).collect();
    assert_eq!(app.walk_inbox(&ada, false, 2).await, all);
    let unread: Vec<_> = all.iter().filter(|id| **id != inbox[2].id).cloned().collect();
    assert_eq!(app.walk_inbox(&ada, true, 2).await, unread);
}
