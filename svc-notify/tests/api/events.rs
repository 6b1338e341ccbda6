//! The admin console's events page (GetEventsStatus): every consumer group's backlog per
//! topic and the dead letters of every topic, for admins only.

use mart_platform::{
    bus::Record,
    db_tests,
    test_util::{TestDb, eventually},
};
use mart_proto::notify as pb;
use tonic::{Code, Request};

use crate::support::{TestApp, authed, bad_fields};

db_tests!(an_admin_sees_the_backlog_and_the_dead_letters);

async fn an_admin_sees_the_backlog_and_the_dead_letters(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let admin = app.tokens.admin("admin-1");
    let status = |limit: i32| {
        let request = authed(&admin, pb::GetEventsStatusRequest { dead_letter_limit: limit });
        let mut client = app.client();
        async move { client.get_events_status(request).await }
    };

    // A quiet shop: every group on every topic it reads, nothing waiting, no dead letters.
    let quiet = status(0).await.unwrap().into_inner();
    let groups: Vec<(&str, &str)> = quiet.lag.iter().map(|l| (l.group.as_str(), l.topic.as_str())).collect();
    assert!(groups.contains(&("notify", "mart.order.events")), "{groups:?}");
    assert!(groups.contains(&("inventory", "mart.product.events")), "{groups:?}");
    assert!(quiet.dead_letters.is_empty());
    assert_eq!(quiet.dead_letter_counts.get("mart.user.events"), Some(&0));

    // Something no handler can read goes to the dead letters at once, and the page says so.
    let garbage = Record {
        topic: "mart.user.events".into(),
        key: "someone".into(),
        payload: b"not an envelope".to_vec(),
        headers: vec![],
    };
    app.bus.publish(&[garbage]).await.unwrap();
    let seen = eventually("the dead letter on the page", || async {
        let seen = status(5).await.unwrap().into_inner();
        (!seen.dead_letters.is_empty()).then_some(seen)
    })
    .await;
    let letter = &seen.dead_letters[0];
    assert_eq!((letter.topic.as_str(), letter.group.as_str()), ("mart.user.events", "notify"));
    assert!(!letter.error.is_empty(), "{letter:?}");
    assert_eq!(seen.dead_letter_counts.get("mart.user.events"), Some(&1));
    // Other groups never read that topic, so nothing waits for them there.
    assert!(seen.lag.iter().all(|l| l.topic != "mart.user.events" || l.group == "notify"));

    // Bad limits are named; customers and strangers see nothing.
    assert_eq!(bad_fields(&status(101).await.unwrap_err()), ["dead_letter_limit"]);
    let customer = authed(&app.tokens.user("ada"), pb::GetEventsStatusRequest::default());
    assert_eq!(app.client().get_events_status(customer).await.unwrap_err().code(), Code::PermissionDenied);
    let anonymous = Request::new(pb::GetEventsStatusRequest::default());
    assert_eq!(app.client().get_events_status(anonymous).await.unwrap_err().code(), Code::Unauthenticated);
}
