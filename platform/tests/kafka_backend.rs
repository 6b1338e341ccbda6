//! The Kafka backend against a real Kafka protocol endpoint: librdkafka's mock cluster,
//! started by each test, or the cluster `KAFKA_BROKERS` names (topics are then created
//! through the admin API). Topic and group names are unique per test either way.
//!
//! Each story publishes encoded envelopes through `KafkaBus::publish` and watches what a
//! subscribed handler (inbox in a SQLite database) makes of them.

use std::{
    collections::{BTreeSet, HashSet},
    sync::Arc,
    time::Duration,
};

use futures::future::BoxFuture;
use mart_platform::{
    bus::{
        Event, EventBus, Handler, HandlerError, Record, RetryPolicy, Subscription, dlq_topic, headers, inbox,
        kafka::{DEFAULT_MESSAGE_TIMEOUT, KafkaBus, KafkaSettings, MockKafka, TopicCreation},
    },
    events::envelope,
    test_util::{TestDb, eventually},
};
use mart_proto::events::{UserUpdated, envelope::Payload};
use prost::Message as _;
use rdkafka::{
    ClientConfig, Message as _, Offset, TopicPartitionList,
    consumer::{Consumer as _, StreamConsumer},
    message::{Headers as _, OwnedMessage},
};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use tokio::{
    sync::{Mutex, watch},
    task::JoinHandle,
};

/// Partitions of every topic the tests create.
const PARTITIONS: u32 = 4;

// === the stories ===

/// Several customers' events, published in interleaved batches, reach the handler once
/// each and, per customer, in the order they were published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_arrive_once_each_and_in_order_per_key() {
    let kafka = Kafka::start().await;
    let topic = unique("mart.user.events");
    let bus = kafka.bus(&topic, DEFAULT_MESSAGE_TIMEOUT).await;
    let service = Service::start(&bus, &topic, Recorder::default()).await;

    let keys: Vec<String> = (0..8).map(|n| format!("user-{n}")).collect();
    let published: Vec<Record> = (0..20)
        .flat_map(|seq| keys.iter().map(move |key| (key.clone(), seq)))
        .map(|(key, seq)| update(&topic, &key, seq))
        .collect();
    for batch in published.chunks(40) {
        bus.publish(batch).await.expect("the brokers acknowledge the batch");
    }

    let handled = service.handled_count(published.len()).await;
    let ids: HashSet<&str> = handled.iter().map(|seen| seen.event_id.as_str()).collect();
    assert_eq!(ids.len(), published.len(), "every event was handled exactly once");
    for key in &keys {
        let mine: Vec<&Seen> = handled.iter().filter(|seen| seen.key == *key).collect();
        let order: Vec<u32> = mine.iter().map(|seen| seen.seq).collect();
        assert_eq!(order, (0..20).collect::<Vec<_>>(), "{key}'s events in publish order");
        let partitions: BTreeSet<i32> = mine.iter().map(|seen| seen.partition).collect();
        assert_eq!(partitions.len(), 1, "{key} stays in one partition");
    }
    let used: BTreeSet<i32> = handled.iter().map(|seen| seen.partition).collect();
    assert!(used.len() > 1, "the keys spread over the partitions: {used:?}");

    service.stop().await;
}

/// A poison event is tried `max_attempts` times, lands in `<topic>.dlq` with the why and
/// where in its headers, and the events behind it (same key, same partition) still flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_goes_to_the_dlq_and_the_rest_flow() {
    let kafka = Kafka::start().await;
    let topic = unique("mart.order.events");
    let bus = kafka.bus(&topic, DEFAULT_MESSAGE_TIMEOUT).await;
    let before = update(&topic, "order-1", 0);
    let poison = update(&topic, "order-1", 1);
    let after = update(&topic, "order-1", 2);
    let elsewhere = update(&topic, "order-2", 0);
    let recorder = Recorder { poison: HashSet::from([event_id(&poison)]), ..Recorder::default() };
    let service = Service::start(&bus, &topic, recorder).await;

    bus.publish(&[before.clone(), poison.clone(), after.clone(), elsewhere.clone()]).await.expect("published");

    let handled = service.handled_count(3).await;
    let order_1: Vec<String> =
        handled.iter().filter(|seen| seen.key == "order-1").map(|seen| seen.event_id.clone()).collect();
    assert_eq!(order_1, [event_id(&before), event_id(&after)], "the event behind the poison one was handled");
    let attempts = service.recorder.poison_attempts.lock().await.clone();
    assert_eq!(attempts.len(), 3, "max_attempts tries, no more");
    let source = &attempts[0];

    let dead = read_topic(&kafka.brokers, &dlq_topic(&topic), 1).await;
    let dead = &dead[0];
    assert_eq!(dead.key(), Some(b"order-1".as_slice()), "the DLQ record keeps its key");
    assert_eq!(dead.payload(), Some(poison.payload.as_slice()), "and its envelope");
    let header = |name: &str| -> Option<String> {
        dead.headers()?
            .iter()
            .find(|h| h.key == name)
            .and_then(|h| h.value)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(header(headers::EVENT_ID), Some(event_id(&poison)), "the original headers travel along");
    assert_eq!(header(headers::DLQ_ATTEMPTS).as_deref(), Some("3"));
    assert_eq!(header(headers::DLQ_GROUP), Some(service.group.clone()));
    assert_eq!(header(headers::DLQ_TOPIC), Some(topic.clone()));
    assert_eq!(header(headers::DLQ_PARTITION), Some(source.partition.to_string()));
    assert_eq!(header(headers::DLQ_OFFSET), Some(source.offset.to_string()));
    assert!(
        header(headers::DLQ_ERROR).is_some_and(|e| e.contains("cannot handle order 1")),
        "the handler's error: {:?}",
        header(headers::DLQ_ERROR)
    );

    let letters = bus.read_all(&dlq_topic(&topic), 10).await.expect("the DLQ reads");
    assert_eq!(letters.len(), 1, "what an operator lists: the one dead letter");
    assert_eq!(letters[0].record.header(headers::EVENT_ID), Some(event_id(&poison).as_str()));
    assert_eq!(letters[0].record.key, "order-1");

    service.stop().await;
}

/// With the only broker down, publishing fails within the message timeout (the relay
/// keeps the rows and retries); once the broker is back, publishing again delivers
/// everything, once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_fails_while_the_broker_is_down_and_delivers_once_it_is_back() {
    let kafka = Kafka::start().await;
    let Some(mock) = kafka.mock.clone() else {
        // A real cluster's brokers cannot be stopped from here.
        eprintln!("skipped: needs the mock cluster (KAFKA_BROKERS is set)");
        return;
    };
    let topic = unique("mart.payment.events");
    let bus = kafka.bus(&topic, Duration::from_secs(2)).await;
    let service = Service::start(&bus, &topic, Recorder::default()).await;
    let first = update(&topic, "payment-1", 0);
    bus.publish(std::slice::from_ref(&first)).await.expect("published while the broker is up");
    service.handled_count(1).await;

    mock.broker_down(1).await.expect("broker 1 stops");
    let pending = [update(&topic, "payment-1", 1), update(&topic, "payment-1", 2)];
    let error = bus.publish(&pending).await.expect_err("no broker, no acknowledgement");
    assert!(error.to_string().contains("timed out"), "the message timeout fired: {error}");

    mock.broker_up(1).await.expect("broker 1 is back");
    // What the relay does: publish the unsent rows again until the broker takes them.
    eventually("the broker to take the records again", || {
        let bus = bus.clone();
        let pending = pending.clone();
        async move { bus.publish(&pending).await.ok() }
    })
    .await;

    let handled = service.handled_count(3).await;
    let ids: Vec<String> = handled.iter().map(|seen| seen.event_id.clone()).collect();
    assert_eq!(ids, [event_id(&first), event_id(&pending[0]), event_id(&pending[1])], "each once, in order");

    service.stop().await;
}

/// A consumer stopped cleanly commits what it handled and leaves; a new one in the same
/// group picks up exactly where it stopped: nothing handled twice, nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_consumer_resumes_where_the_stopped_one_left_off() {
    let kafka = Kafka::start().await;
    let topic = unique("mart.inventory.events");
    let bus = kafka.bus(&topic, DEFAULT_MESSAGE_TIMEOUT).await;
    let db = TestDb::sqlite().await;
    let recorder = Arc::new(Recorder::default());
    let group = unique("svc-order");

    let first: Vec<Record> = (0..10).map(|seq| update(&topic, &format!("product-{}", seq % 3), seq)).collect();
    let service = Service::start_with(&bus, &topic, &db, &group, recorder.clone()).await;
    bus.publish(&first).await.expect("published");
    service.handled_count(first.len()).await;
    service.stop().await;

    // Committed offsets, against the log ends.
    let lag = bus.lag(&group, std::slice::from_ref(&topic)).await.expect("the lag reads");
    assert_eq!(lag.len(), PARTITIONS as usize);
    assert!(
        lag.iter().all(|partition| partition.waiting == 0),
        "the stopped consumer committed all it handled: {lag:?}"
    );

    let second: Vec<Record> = (10..20).map(|seq| update(&topic, &format!("product-{}", seq % 3), seq)).collect();
    bus.publish(&second).await.expect("published while no consumer runs");
    let lag = bus.lag(&group, std::slice::from_ref(&topic)).await.expect("the lag reads");
    assert_eq!(lag.iter().map(|partition| partition.waiting).sum::<u64>(), 10, "the new events wait: {lag:?}");
    let service = Service::start_with(&bus, &topic, &db, &group, recorder.clone()).await;
    let handled = service.handled_count(first.len() + second.len()).await;
    service.stop().await;

    let mut expected: Vec<String> = first.iter().chain(&second).map(event_id).collect();
    let mut ids: Vec<String> = handled.iter().map(|seen| seen.event_id.clone()).collect();
    expected.sort();
    ids.sort();
    assert_eq!(ids, expected, "every event handled exactly once across the restart");
}

// === the cluster ===

/// Where the tests' brokers are.
struct Kafka {
    /// `bootstrap.servers`.
    brokers: String,
    /// The mock cluster, unless `KAFKA_BROKERS` named a real one.
    mock: Option<MockKafka>,
}

impl Kafka {
    /// `KAFKA_BROKERS` if set, else a fresh one-broker mock cluster.
    async fn start() -> Self {
        match std::env::var("KAFKA_BROKERS") {
            Ok(brokers) if !brokers.trim().is_empty() => Self { brokers, mock: None },
            _ => {
                let mock = MockKafka::start(1).await.expect("the mock cluster starts");
                Self { brokers: mock.bootstrap_servers().to_owned(), mock: Some(mock) }
            }
        }
    }

    /// A bus whose `topic` (and its DLQ) exist with [`PARTITIONS`] partitions.
    async fn bus(&self, topic: &str, message_timeout: Duration) -> Arc<KafkaBus> {
        let topic_creation = match &self.mock {
            Some(mock) => TopicCreation::Mock(mock.clone()),
            None => TopicCreation::Admin,
        };
        let settings = KafkaSettings {
            message_timeout,
            // The shortest brokers accept. The mock cluster, unlike Kafka, keeps a group
            // that its last member left rebalancing for a session timeout before a new
            // member gets partitions: a restart would otherwise wait 44 s.
            session_timeout: Duration::from_secs(6),
            ..KafkaSettings::new(&self.brokers, PARTITIONS, vec![topic.to_owned()], topic_creation)
        };
        KafkaBus::connect(settings).await.expect("the kafka bus connects")
    }
}

/// `name` with a random suffix, so tests sharing a real cluster never meet.
fn unique(name: &str) -> String {
    format!("{name}.{}", uuid::Uuid::new_v4().simple())
}

/// A `UserUpdated` about `key`, numbered `seq` (carried in `first_name`), as the relay
/// would publish it.
fn update(topic: &str, key: &str, seq: u32) -> Record {
    let envelope = envelope(
        key,
        Payload::UserUpdated(UserUpdated {
            user_id: key.to_owned(),
            first_name: seq.to_string(),
            ..Default::default()
        }),
    );
    Record {
        topic: topic.to_owned(),
        key: key.to_owned(),
        headers: vec![
            (headers::EVENT_ID.to_owned(), envelope.id.clone()),
            (headers::EVENT_TYPE.to_owned(), envelope.r#type.clone()),
        ],
        payload: envelope.encode_to_vec(),
    }
}

/// The envelope id of a record built by [`update`].
fn event_id(record: &Record) -> String {
    record.header(headers::EVENT_ID).expect("update() sets the event id").to_owned()
}

/// The first `count` records of `topic`, read from the beginning of every partition by a
/// plain consumer outside any group.
async fn read_topic(brokers: &str, topic: &str, count: usize) -> Vec<OwnedMessage> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", unique("reader"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("a reader");
    let mut partitions = TopicPartitionList::new();
    for partition in 0..PARTITIONS as i32 {
        partitions.add_partition_offset(topic, partition, Offset::Beginning).expect("a valid partition");
    }
    consumer.assign(&partitions).expect("assigned");
    let mut records = Vec::new();
    while records.len() < count {
        let message = tokio::time::timeout(Duration::from_secs(10), consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out reading {topic} ({} of {count} records)", records.len()))
            .expect("a record");
        records.push(message.detach());
    }
    records
}

// === the consuming service ===

/// What the handler saw of one event.
#[derive(Clone, Debug)]
struct Seen {
    event_id: String,
    key: String,
    seq: u32,
    partition: i32,
    offset: i64,
}

impl Seen {
    fn of(event: &Event) -> Self {
        let seq = match &event.envelope.payload {
            Some(Payload::UserUpdated(update)) => update.first_name.parse().unwrap_or(u32::MAX),
            _ => u32::MAX,
        };
        Self {
            event_id: event.envelope.id.clone(),
            key: event.envelope.aggregate_id.clone(),
            seq,
            partition: event.partition,
            offset: event.offset,
        }
    }
}

/// A handler that remembers what it handled, and fails every time on the poison events.
#[derive(Default)]
struct Recorder {
    /// Events it handled, in the order it ran. Written just before the inbox transaction
    /// commits; SQLite in a temporary file does not fail that commit.
    handled: Mutex<Vec<Seen>>,
    /// Envelope ids it always fails on.
    poison: HashSet<String>,
    /// Each try on a poison event.
    poison_attempts: Mutex<Vec<Seen>>,
}

impl Handler for Recorder {
    fn handle<'a>(
        &'a self,
        _txn: &'a DatabaseTransaction,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let seen = Seen::of(event);
            if self.poison.contains(&seen.event_id) {
                let key = seen.key.replace('-', " ");
                self.poison_attempts.lock().await.push(seen);
                return Err(HandlerError::transient(format!("cannot handle {key}")));
            }
            self.handled.lock().await.push(seen);
            Ok(())
        })
    }
}

/// The inbox table, as a consuming service's migrator lists it.
struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(inbox::Migration)]
    }
}

/// A consumer subscribed through the bus, with its database and recorder.
struct Service {
    group: String,
    recorder: Arc<Recorder>,
    task: JoinHandle<()>,
    shutdown: watch::Sender<bool>,
    /// Keeps the database file while the consumer runs, when the service owns it.
    _db: Option<TestDb>,
}

impl Service {
    /// A new group reading `topic` into a fresh database.
    async fn start(bus: &Arc<KafkaBus>, topic: &str, recorder: Recorder) -> Self {
        let db = TestDb::sqlite().await;
        let mut service = Self::start_with(bus, topic, &db, &unique("svc-test"), Arc::new(recorder)).await;
        service._db = Some(db);
        service
    }

    /// A consumer in `group` reading `topic`, its inbox in `db`.
    async fn start_with(bus: &Arc<KafkaBus>, topic: &str, db: &TestDb, group: &str, recorder: Arc<Recorder>) -> Self {
        let connection: DatabaseConnection = mart_platform::db::connect(&db.url).await.expect("the service database");
        Migrator::up(&connection, None).await.expect("the inbox table");
        let (shutdown, stop) = watch::channel(false);
        let subscription = Subscription {
            group: group.to_owned(),
            topics: vec![topic.to_owned()],
            db: connection,
            handler: recorder.clone(),
            retry: RetryPolicy {
                max_attempts: 3,
                window: Duration::from_secs(3600),
                backoff: mart_platform::retry::Backoff::new(Duration::from_millis(10), Duration::from_millis(50)),
            },
            metrics: None,
            wake_relay: None,
        };
        let task = EventBus::Kafka(bus.clone()).subscribe(subscription, stop);
        Self { group: group.to_owned(), recorder, task, shutdown, _db: None }
    }

    /// Waits until the handler handled `count` events; what it handled by then.
    async fn handled_count(&self, count: usize) -> Vec<Seen> {
        let recorder = &self.recorder;
        eventually(&format!("{count} events handled"), || async move {
            let handled = recorder.handled.lock().await;
            (handled.len() >= count).then(|| handled.clone())
        })
        .await
    }

    /// Asks the consumer to stop and waits until it has committed and left the group.
    async fn stop(self) {
        let _ = self.shutdown.send(true);
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the consumer stops within 30 s")
            .expect("the consumer task ends without panicking");
    }
}
