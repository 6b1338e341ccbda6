//! What svc-user tells the rest of the shop reaches the rest of the shop: every account
//! change as an event on `mart.user.events`, in order, through the outbox and the bus.

use mart_platform::{
    bus::{
        EventBus,
        kafka::{KafkaBus, KafkaSettings, MockKafka, TopicCreation},
    },
    db_tests,
    test_util::{Collector, TestDb},
};
use mart_proto::{
    events::{Envelope, envelope::Payload},
    user as pb,
};

use crate::support::{PASSWORD, TestApp, authed};

db_tests!(account_changes_reach_a_consumer_in_order);

/// The same story with Kafka as the bus (librdkafka's mock cluster, over real sockets).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_changes_reach_a_kafka_consumer_in_order() {
    let mock = MockKafka::start(1).await.unwrap();
    let settings = KafkaSettings::new(
        mock.bootstrap_servers(),
        2,
        vec!["mart.user.events".into()],
        TopicCreation::Mock(mock.clone()),
    );
    let bus = EventBus::Kafka(KafkaBus::connect(settings).await.unwrap());
    let app = TestApp::spawn_on(TestDb::sqlite().await, bus, None, |_| {}).await;
    changes_reach_a_consumer(app).await;
}

async fn account_changes_reach_a_consumer_in_order(db: TestDb) {
    changes_reach_a_consumer(TestApp::spawn(db).await).await;
}

async fn changes_reach_a_consumer(app: TestApp) {
    let consumer = Collector::start(&app.bus, &["mart.user.events"]).await;

    let user = app.register("ada@example.com").await;
    let token = app.login("ada@example.com", PASSWORD).await.unwrap().access_token;
    app.client()
        .update_me(authed(&token, pb::UpdateMeRequest { last_name: Some("King".into()), ..Default::default() }))
        .await
        .unwrap();
    app.client().delete_me(authed(&token, pb::DeleteMeRequest {})).await.unwrap();

    let events = consumer.wait_for("three events", |events| events.len() == 3).await;
    let [registered, updated, deleted] = <[Envelope; 3]>::try_from(events).unwrap();
    assert_eq!(registered.aggregate_id, user.id);
    let Some(Payload::UserRegistered(payload)) = registered.payload else { panic!("{registered:?}") };
    assert_eq!((payload.email.as_str(), payload.first_name.as_str()), ("ada@example.com", "Ada"));

    let Some(Payload::UserUpdated(payload)) = updated.payload else { panic!("{updated:?}") };
    assert_eq!((payload.user_id.as_str(), payload.last_name.as_str()), (user.id.as_str(), "King"));

    assert!(matches!(deleted.payload, Some(Payload::UserDeleted(ref d)) if d.user_id == user.id), "{deleted:?}");
    assert_eq!(deleted.r#type, "mart.events.v1.UserDeleted");

    consumer.stop().await;
    app.stop().await;
}
