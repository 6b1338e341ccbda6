//! What svc-user tells the rest of the shop reaches the rest of the shop: every account
//! change as an event on `mart.user.events`, in order, through the outbox and the bus.

use std::{sync::Arc, time::Duration};

use futures::future::BoxFuture;
use mart_platform::{
    bus::{
        self, DatabaseTransaction, EventBus, Handler, HandlerError, RetryPolicy, Subscription,
        kafka::{KafkaBus, KafkaSettings, MockKafka, TopicCreation},
    },
    db_tests,
    test_util::TestDb,
};
use mart_proto::{
    events::{Envelope, envelope::Payload},
    user as pb,
};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use tokio::sync::{mpsc, watch};

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

/// A consumer elsewhere in the shop: hands every envelope to the test.
struct Forward(mpsc::UnboundedSender<Envelope>);

impl Handler for Forward {
    fn handle<'a>(
        &'a self,
        _txn: &'a DatabaseTransaction,
        event: &'a bus::Event,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            self.0.send(event.envelope.clone()).map_err(|_| HandlerError("the test stopped listening".into()))
        })
    }
}

async fn next(received: &mut mpsc::UnboundedReceiver<Envelope>) -> Envelope {
    tokio::time::timeout(Duration::from_secs(10), received.recv()).await.expect("an event within 10 s").unwrap()
}

struct InboxOnly;

impl MigratorTrait for InboxOnly {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(bus::inbox::Migration)]
    }
}

async fn account_changes_reach_a_consumer_in_order(db: TestDb) {
    changes_reach_a_consumer(TestApp::spawn(db).await).await;
}

async fn changes_reach_a_consumer(app: TestApp) {
    let consumer_db = TestDb::sqlite().await;
    let inbox = mart_platform::db::connect_and_migrate::<InboxOnly>(&consumer_db.url).await.unwrap();
    let (events, mut received) = mpsc::unbounded_channel();
    let (stop, shutdown) = watch::channel(false);
    let consumer = app.bus.subscribe(
        Subscription {
            group: "test-consumer".into(),
            topics: vec!["mart.user.events".into()],
            db: inbox,
            handler: Arc::new(Forward(events)),
            retry: RetryPolicy::new(3),
            metrics: None,
            wake_relay: None,
        },
        shutdown,
    );

    let user = app.register("ada@example.com").await;
    let token = app.login("ada@example.com", PASSWORD).await.unwrap().access_token;
    app.client()
        .update_me(authed(&token, pb::UpdateMeRequest { last_name: Some("King".into()), ..Default::default() }))
        .await
        .unwrap();
    app.client().delete_me(authed(&token, pb::DeleteMeRequest {})).await.unwrap();

    let registered = next(&mut received).await;
    assert_eq!(registered.aggregate_id, user.id);
    let Some(Payload::UserRegistered(payload)) = registered.payload else { panic!("{registered:?}") };
    assert_eq!((payload.email.as_str(), payload.first_name.as_str()), ("ada@example.com", "Ada"));

    let updated = next(&mut received).await;
    let Some(Payload::UserUpdated(payload)) = updated.payload else { panic!("{updated:?}") };
    assert_eq!((payload.user_id.as_str(), payload.last_name.as_str()), (user.id.as_str(), "King"));

    let deleted = next(&mut received).await;
    assert!(matches!(deleted.payload, Some(Payload::UserDeleted(ref d)) if d.user_id == user.id), "{deleted:?}");
    assert_eq!(deleted.r#type, "mart.events.v1.UserDeleted");

    stop.send(true).unwrap();
    consumer.await.unwrap();
    app.stop().await;
}
