//! The event bus contract, one suite for every backend: order per key, at-least-once with
//! no loss across a crash, one effect per event however often it is delivered, dead
//! letters that do not block what follows, no loss across an outage, consumer groups, and
//! a relay that crashed between sending and marking sent.
//!
//! Backends: the embedded log on SQLite and on PostgreSQL, and Kafka — librdkafka's mock
//! cluster (the real wire protocol over TCP), or the brokers in `KAFKA_BROKERS` when set.
//! The service side (outbox, inbox, the handler's effects) is a SQLite database of the
//! test's own. Keys and groups carry a per-test prefix, so tests sharing a real broker's
//! `mart.user.events` never see each other's events.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures::future::BoxFuture;
use mart_platform::{
    bus::{
        self, DatabaseTransaction, EventBus, Handler, HandlerError, Metrics, Outcome, Record, RetryPolicy,
        Subscription,
        embedded::{EmbeddedBus, Timing},
        headers,
        kafka::{KafkaBus, KafkaSettings, MockKafka, TopicCreation},
    },
    events::envelope,
    outbox::{
        self,
        relay::{Relay, RelayConfig, RelayWaker, publish_without_marking},
    },
    test_util::{TestDb, eventually},
};
use mart_proto::events::{UserUpdated, envelope::Payload};
use prost::Message;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use tokio::{
    io::copy_bidirectional,
    net::{TcpListener, TcpStream},
    sync::{Notify, watch},
    task::JoinHandle,
};

/// The topic the outbox puts `UserUpdated` on, so the relay's records and the test's meet.
const TOPIC: &str = "mart.user.events";

/// Where the bus keeps its log, for one test.
#[derive(Clone, Copy, Debug)]
enum Backend {
    EmbeddedSqlite,
    EmbeddedPostgres,
    Kafka,
}

/// How a test makes the bus unreachable, where it can.
enum Outage {
    /// A proxy in front of the log database, cut and restored.
    Proxy(Proxy),
    /// The mock cluster's broker, taken down and up.
    Broker(MockKafka),
}

impl Outage {
    async fn begin(&self) {
        match self {
            Outage::Proxy(proxy) => proxy.cut(),
            Outage::Broker(mock) => mock.broker_down(1).await.unwrap(),
        }
    }

    async fn end(&self) {
        match self {
            Outage::Proxy(proxy) => proxy.restore(),
            Outage::Broker(mock) => mock.broker_up(1).await.unwrap(),
        }
    }
}

/// A bus for one test, and what it needs kept alive.
struct TestBus {
    bus: EventBus,
    /// Cuts the way to the bus, where the backend can be cut off.
    outage: Option<Outage>,
    /// Unique to this test: prefixes keys and group names.
    run: String,
    _log: Option<TestDb>,
}

impl TestBus {
    async fn start(backend: Backend, partitions: u32) -> Self {
        let timing = Timing {
            heartbeat: Duration::from_millis(100),
            lease_ttl: Duration::from_secs(1),
            poll: Duration::from_millis(50),
        };
        match backend {
            Backend::EmbeddedSqlite => {
                let log = TestDb::sqlite().await;
                let bus = EmbeddedBus::open_with(&log.url, partitions, timing).await.unwrap();
                TestBus { bus: EventBus::Embedded(bus), outage: None, run: run(), _log: Some(log) }
            }
            Backend::Kafka => {
                let topics = vec![TOPIC.to_owned()];
                let (brokers, creation, outage) = match std::env::var("KAFKA_BROKERS") {
                    Ok(brokers) => (brokers, TopicCreation::Admin, None),
                    Err(_) => {
                        let mock = MockKafka::start(1).await.unwrap();
                        let brokers = mock.bootstrap_servers().to_owned();
                        (brokers, TopicCreation::Mock(mock.clone()), Some(Outage::Broker(mock)))
                    }
                };
                let mut settings = KafkaSettings::new(brokers, partitions, topics, creation);
                // Fail fast while a broker is down, and hand a crashed consumer's partitions
                // on soon (6 s is the least brokers accept).
                settings.message_timeout = Duration::from_secs(3);
                settings.session_timeout = Duration::from_secs(6);
                let bus = KafkaBus::connect(settings).await.unwrap();
                TestBus { bus: EventBus::Kafka(bus), outage, run: run(), _log: None }
            }
            Backend::EmbeddedPostgres => {
                let log = TestDb::postgres().await;
                let (authority, rest) = log.url.split_once('@').unwrap();
                let (hostport, database) = rest.split_once('/').unwrap();
                let proxy = Proxy::start(hostport).await;
                let url = format!("{authority}@{}/{database}", proxy.addr);
                let bus = EmbeddedBus::open_with(&url, partitions, timing).await.unwrap();
                TestBus {
                    bus: EventBus::Embedded(bus),
                    outage: Some(Outage::Proxy(proxy)),
                    run: run(),
                    _log: Some(log),
                }
            }
        }
    }
}

fn run() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

impl TestBus {
    /// This test's name for aggregate `name`.
    fn key(&self, name: impl std::fmt::Display) -> String {
        format!("{}-{name}", self.run)
    }

    /// This test's name for group `name`.
    fn group(&self, name: &str) -> String {
        format!("{}-{name}", self.run)
    }

    /// The event number `n` about this test's aggregate `name`.
    fn event(&self, name: impl std::fmt::Display, n: impl ToString) -> Record {
        event(TOPIC, &self.key(name), n)
    }

    /// A consumer of this test, on `topic`, in this test's group `group`.
    fn subscribe(&self, service: &Service, group: &str, topic: &str, mut handler: Recorder) -> Consumer {
        handler.prefix = self.run.clone();
        service.subscribe(&self.bus, &self.group(group), topic, handler)
    }
}

/// The service side: a database with an outbox, an inbox, and a table of effects.
struct Service {
    db: DatabaseConnection,
    _file: TestDb,
}

struct ServiceMigrator;

impl MigratorTrait for ServiceMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(outbox::Migration), Box::new(bus::inbox::Migration)]
    }
}

impl Service {
    async fn start() -> Self {
        let file = TestDb::sqlite().await;
        let db = mart_platform::db::connect_and_migrate::<ServiceMigrator>(&file.url).await.unwrap();
        db.execute_unprepared(
            "CREATE TABLE effects (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT, aggregate TEXT, n TEXT, consumer TEXT)",
        )
        .await
        .unwrap();
        Self { db, _file: file }
    }

    /// Every effect, in the order handlers committed them: (aggregate, n, consumer).
    async fn effects(&self) -> Vec<(String, String, String)> {
        self.db
            .query_all(Statement::from_string(
                self.db.get_database_backend(),
                "SELECT aggregate, n, consumer FROM effects ORDER BY id",
            ))
            .await
            .unwrap()
            .into_iter()
            .map(|row| {
                (
                    row.try_get("", "aggregate").unwrap(),
                    row.try_get("", "n").unwrap(),
                    row.try_get("", "consumer").unwrap(),
                )
            })
            .collect()
    }

    fn subscribe(&self, bus: &EventBus, group: &str, topic: &str, handler: Recorder) -> Consumer {
        let (stop, shutdown) = watch::channel(false);
        let metrics = Arc::new(Counting::default());
        let task = bus.subscribe(
            Subscription {
                group: group.into(),
                topics: vec![topic.into()],
                db: self.db.clone(),
                handler: Arc::new(handler),
                retry: RetryPolicy {
                    max_attempts: 3,
                    window: Duration::from_secs(3600),
                    backoff: mart_platform::retry::Backoff::new(Duration::from_millis(10), Duration::from_millis(40)),
                },
                metrics: Some(metrics.clone()),
                wake_relay: None,
            },
            shutdown,
        );
        Consumer { stop, task, metrics }
    }
}

struct Consumer {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    /// What the consumer reported through the metrics hook.
    metrics: Arc<Counting>,
}

/// A metrics hook that counts.
#[derive(Default)]
struct Counting {
    handled: AtomicUsize,
    duplicates: AtomicUsize,
    dead_lettered: AtomicUsize,
    failed_attempts: AtomicUsize,
}

impl Metrics for Counting {
    fn event_finished(&self, _group: &str, _topic: &str, outcome: Outcome, since_written: Duration) {
        assert!(since_written < Duration::from_secs(60), "an implausible lag: {since_written:?}");
        let counter = match outcome {
            Outcome::Handled => &self.handled,
            Outcome::Duplicate => &self.duplicates,
            Outcome::DeadLettered => &self.dead_lettered,
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }

    fn handler_failed(&self, _group: &str, _topic: &str) {
        self.failed_attempts.fetch_add(1, Ordering::SeqCst);
    }
}

impl Consumer {
    async fn stop(self) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap();
    }
}

/// A handler that records each event as an effect, in the handler's transaction. Events
/// numbered "poison" always fail; the one numbered `hold_at` blocks forever (to be killed).
struct Recorder {
    name: &'static str,
    /// Only events about aggregates with this prefix are this test's.
    prefix: String,
    /// Whether "poison" events fail (not for a consumer of the DLQ, nor once "fixed").
    poison_fails: Arc<AtomicBool>,
    hold_at: Option<String>,
    entered_hold: Arc<Notify>,
    fail_first: Arc<AtomicBool>,
}

impl Recorder {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            prefix: String::new(),
            poison_fails: Arc::new(AtomicBool::new(true)),
            hold_at: None,
            entered_hold: Arc::new(Notify::new()),
            fail_first: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Handler for Recorder {
    fn handle<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        event: &'a bus::Event,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let Some(Payload::UserUpdated(update)) = &event.envelope.payload else {
                return Err(HandlerError::transient("unexpected payload"));
            };
            if !update.user_id.starts_with(&self.prefix) {
                return Ok(());
            }
            // The effect first: whatever fails after it must roll it back.
            txn.execute(Statement::from_sql_and_values(
                txn.get_database_backend(),
                "INSERT INTO effects (event_id, aggregate, n, consumer) VALUES (?, ?, ?, ?)",
                [
                    event.envelope.id.clone().into(),
                    update.user_id.clone().into(),
                    update.first_name.clone().into(),
                    self.name.into(),
                ],
            ))
            .await?;
            if self.poison_fails.load(Ordering::SeqCst) && update.first_name == "poison" {
                return Err(HandlerError::transient("this event always fails"));
            }
            if update.first_name == "forged" {
                return Err(HandlerError::permanent("this event can never be handled"));
            }
            if self.fail_first.swap(false, Ordering::SeqCst) {
                return Err(HandlerError::transient("a passing failure"));
            }
            if self.hold_at.as_deref() == Some(update.first_name.as_str()) {
                self.entered_hold.notify_one();
                std::future::pending::<()>().await;
            }
            Ok(())
        })
    }
}

/// The event number `n` about `aggregate`.
fn event(topic: &str, aggregate: &str, n: impl ToString) -> Record {
    let envelope = envelope(
        aggregate,
        Payload::UserUpdated(UserUpdated {
            user_id: aggregate.into(),
            first_name: n.to_string(),
            ..Default::default()
        }),
    );
    Record {
        topic: topic.into(),
        key: aggregate.into(),
        headers: vec![(headers::EVENT_ID.into(), envelope.id.clone())],
        payload: envelope.encode_to_vec(),
    }
}

async fn effect_count(service: &Service, expected: usize, what: &str) -> Vec<(String, String, String)> {
    eventually(what, || async {
        let effects = service.effects().await;
        (effects.len() >= expected).then_some(effects)
    })
    .await
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod embedded_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name(super::Backend::EmbeddedSqlite).await }
            )*
        }
        mod kafka {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name(super::Backend::Kafka).await }
            )*
        }
        mod embedded_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name(super::Backend::EmbeddedPostgres).await }
            )*
        }
    };
}

contract!(
    order_is_kept_per_key_across_partitions,
    a_consumer_killed_mid_handler_loses_nothing,
    a_duplicate_delivery_has_one_effect,
    a_poison_event_goes_to_the_dlq_and_the_rest_flows,
    a_permanent_failure_goes_to_the_dlq_at_once,
    a_passing_failure_is_retried,
    a_dead_letter_is_listed_and_replayed_once_fixed,
    events_published_during_an_outage_arrive_after_it,
    every_group_gets_everything_and_members_share_the_work,
    a_relay_crash_after_sending_duplicates_but_never_loses,
    misrouted_and_foreign_events_go_to_the_dlq,
);

/// A domain topic takes only its own payloads, from its owner's outbox: a PaymentSucceeded
/// written to the user topic, or a user event stamped by another service, is refused (to
/// the DLQ, counted) however many times it is tried, and the genuine event flows.
async fn misrouted_and_foreign_events_go_to_the_dlq(backend: Backend) {
    let bus = TestBus::start(backend, 2).await;
    let service = Service::start().await;
    let consumer = bus.subscribe(&service, "g", TOPIC, Recorder::new("c"));
    let stamped = |mut record: Record, producer: &str| {
        record.headers.push((headers::PRODUCER.to_owned(), producer.to_owned()));
        record
    };
    let genuine = stamped(bus.event("a", "genuine"), "svc-user");
    let foreign = stamped(bus.event("a", "foreign"), "svc-notify");
    let payment = envelope(
        bus.key("a"),
        Payload::PaymentSucceeded(mart_proto::events::PaymentSucceeded {
            order_id: bus.key("a"),
            ..Default::default()
        }),
    );
    let misrouted = Record {
        topic: TOPIC.into(),
        key: bus.key("a"),
        headers: vec![(headers::EVENT_ID.into(), payment.id.clone()), (headers::PRODUCER.into(), "svc-user".into())],
        payload: payment.encode_to_vec(),
    };
    bus.bus.publish(&[foreign, misrouted, genuine]).await.unwrap();

    let effects = effect_count(&service, 1, "the genuine event").await;
    assert_eq!(effects.iter().map(|(_, n, _)| n.as_str()).collect::<Vec<_>>(), ["genuine"]);
    let seen = &consumer.metrics;
    eventually("both refused", || async { (seen.dead_lettered.load(Ordering::SeqCst) == 2).then_some(()) }).await;
    assert_eq!(seen.failed_attempts.load(Ordering::SeqCst), 0, "refused at once, not retried");
    if let EventBus::Embedded(log) = &bus.bus {
        let letters = log.read(&bus::dlq_topic(TOPIC), None, 0, 10).await.unwrap();
        let reasons: Vec<_> = letters.iter().filter_map(|l| l.record.header(headers::DLQ_ERROR)).collect();
        assert!(reasons.iter().any(|r| r.contains("produced by svc-notify")), "{reasons:?}");
        assert!(reasons.iter().any(|r| r.contains("belongs on mart.payment.events")), "{reasons:?}");
    }
    consumer.stop().await;
}

async fn order_is_kept_per_key_across_partitions(backend: Backend) {
    let bus = TestBus::start(backend, 4).await;
    let service = Service::start().await;
    let consumer = bus.subscribe(&service, "orders", TOPIC, Recorder::new("c1"));
    let keys: Vec<String> = (0..12).map(|k| format!("aggregate-{k}")).collect();
    // Interleaved across keys, in several batches.
    for round in 0..20 {
        let batch: Vec<_> = keys.iter().map(|key| bus.event(key, round)).collect();
        bus.bus.publish(&batch).await.unwrap();
    }
    let effects = effect_count(&service, 240, "240 effects").await;
    assert_eq!(effects.len(), 240);
    for key in &keys {
        let seen: Vec<String> =
            effects.iter().filter(|(k, _, _)| *k == bus.key(key)).map(|(_, n, _)| n.clone()).collect();
        let expected: Vec<String> = (0..20).map(|n| n.to_string()).collect();
        assert_eq!(seen, expected, "{key} out of order");
    }
    consumer.stop().await;
}

async fn a_consumer_killed_mid_handler_loses_nothing(backend: Backend) {
    let bus = TestBus::start(backend, 1).await;
    let service = Service::start().await;
    let mut doomed = Recorder::new("doomed");
    doomed.hold_at = Some("5".into());
    let entered = doomed.entered_hold.clone();
    let first = bus.subscribe(&service, "g", TOPIC, doomed);
    let batch: Vec<_> = (0..10).map(|n| bus.event("a", n)).collect();
    bus.bus.publish(&batch).await.unwrap();

    entered.notified().await;
    // The process dies mid-handler: no clean shutdown, no commit, no offset.
    first.task.abort();
    let _ = first.task.await;
    let before = service.effects().await;
    assert_eq!(before.len(), 5, "events 0..4 committed, 5 was rolled back: {before:?}");

    let second = bus.subscribe(&service, "g", TOPIC, Recorder::new("survivor"));
    let effects = effect_count(&service, 10, "all 10 effects after the restart").await;
    let numbers: Vec<_> = effects.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(numbers, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    second.stop().await;
}

async fn a_duplicate_delivery_has_one_effect(backend: Backend) {
    let bus = TestBus::start(backend, 2).await;
    let service = Service::start().await;
    let consumer = bus.subscribe(&service, "g", TOPIC, Recorder::new("c"));
    let once = bus.event("a", "once");
    bus.bus.publish(&[once.clone(), once.clone()]).await.unwrap();
    bus.bus.publish(&[once, bus.event("a", "after")]).await.unwrap();
    let effects = effect_count(&service, 2, "the effect of `after`").await;
    assert_eq!(effects.iter().map(|(_, n, _)| n.as_str()).collect::<Vec<_>>(), ["once", "after"]);
    consumer.stop().await;
}

/// A failure the handler calls permanent is not retried: one attempt, then the DLQ.
async fn a_permanent_failure_goes_to_the_dlq_at_once(backend: Backend) {
    let bus = TestBus::start(backend, 2).await;
    let service = Service::start().await;
    let consumer = bus.subscribe(&service, "g", TOPIC, Recorder::new("c"));
    bus.bus.publish(&[bus.event("a", "forged"), bus.event("a", "after")]).await.unwrap();
    let effects = effect_count(&service, 1, "the event after the forged one").await;
    assert_eq!(effects[0].1, "after");
    let seen = &consumer.metrics;
    eventually("the forged event to be dead-lettered", || async {
        (seen.dead_lettered.load(Ordering::SeqCst) == 1).then_some(())
    })
    .await;
    assert_eq!(seen.failed_attempts.load(Ordering::SeqCst), 0, "no retry of what cannot succeed");
    if let EventBus::Embedded(log) = &bus.bus {
        let letters = log.read(&bus::dlq_topic(TOPIC), None, 0, 10).await.unwrap();
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].record.header(headers::DLQ_ATTEMPTS), Some("1"));
    }
    consumer.stop().await;
}

async fn a_poison_event_goes_to_the_dlq_and_the_rest_flows(backend: Backend) {
    let bus = TestBus::start(backend, 2).await;
    let service = Service::start().await;
    let consumer = bus.subscribe(&service, "g", TOPIC, Recorder::new("c"));
    let poison = bus.event("a", "poison");
    let poison_id = poison.header(headers::EVENT_ID).unwrap().to_owned();
    bus.bus.publish(&[bus.event("a", 1), poison, bus.event("a", 2), bus.event("b", 3)]).await.unwrap();

    let effects = effect_count(&service, 3, "the events around the poison").await;
    let numbers: Vec<_> = effects.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(numbers.iter().filter(|n| **n == "poison").count(), 0, "a failed attempt left an effect");
    assert!(numbers.contains(&"1") && numbers.contains(&"2") && numbers.contains(&"3"), "{numbers:?}");

    // The DLQ has it, with its story.
    let dlq = Service::start().await;
    let reader = Recorder::new("dlq");
    reader.poison_fails.store(false, Ordering::SeqCst);
    let watcher = bus.subscribe(&dlq, "dlq-watch", &bus::dlq_topic(TOPIC), reader);
    let dead = effect_count(&dlq, 1, "the dead letter").await;
    assert_eq!(dead[0].1, "poison");
    watcher.stop().await;
    if let EventBus::Embedded(log) = &bus.bus {
        let letters = log.read(&bus::dlq_topic(TOPIC), None, 0, 10).await.unwrap();
        assert_eq!(letters.len(), 1);
        let record = &letters[0].record;
        assert_eq!(record.header(headers::EVENT_ID), Some(poison_id.as_str()));
        assert_eq!(record.header(headers::DLQ_ATTEMPTS), Some("3"));
        assert_eq!(record.header(headers::DLQ_TOPIC), Some(TOPIC));
        assert_eq!(record.header(headers::DLQ_GROUP), Some(bus.group("g").as_str()));
        assert!(record.header(headers::DLQ_ERROR).unwrap().contains("always fails"));
        assert!(record.header(headers::DLQ_OFFSET).is_some() && record.header(headers::DLQ_PARTITION).is_some());
    }
    // What the metrics hook saw: three handled, one given up after two retried failures.
    let seen = &consumer.metrics;
    eventually("the metrics to add up", || async {
        (seen.handled.load(Ordering::SeqCst) == 3 && seen.dead_lettered.load(Ordering::SeqCst) == 1).then_some(())
    })
    .await;
    assert_eq!(seen.failed_attempts.load(Ordering::SeqCst), 2);
    assert_eq!(seen.duplicates.load(Ordering::SeqCst), 0);
    consumer.stop().await;
}

async fn a_dead_letter_is_listed_and_replayed_once_fixed(backend: Backend) {
    let bus = TestBus::start(backend, 1).await;
    let service = Service::start().await;
    let handler = Recorder::new("c");
    let fixed = handler.poison_fails.clone();
    let consumer = bus.subscribe(&service, "g", TOPIC, handler);
    let poison = bus.event("a", "poison");
    let poison_id = poison.header(headers::EVENT_ID).unwrap().to_owned();
    bus.bus.publish(&[poison, bus.event("a", "after")]).await.unwrap();
    effect_count(&service, 1, "the event after the poison").await;

    let letters = eventually("the dead letter to be listed", || async {
        let letters = bus.bus.dead_letters(TOPIC, 100).await.ok()?;
        let ours: Vec<_> = letters.into_iter().filter(|l| l.event_id == poison_id).collect();
        (!ours.is_empty()).then_some(ours)
    })
    .await;
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!((letter.group.as_str(), letter.attempts.as_str()), (bus.group("g").as_str(), "3"));
    assert!(letter.error.contains("always fails") && letter.origin.starts_with(TOPIC), "{letter:?}");

    // The cause is fixed; the operator replays it, and this time it is handled.
    fixed.store(false, Ordering::SeqCst);
    let replayed = bus.bus.replay_dead_letter(TOPIC, letter.partition, letter.offset).await.unwrap();
    assert_eq!(replayed.topic, TOPIC);
    let effects = effect_count(&service, 2, "the replayed event").await;
    assert_eq!(effects.iter().map(|(_, n, _)| n.as_str()).collect::<Vec<_>>(), ["after", "poison"]);
    let missing = bus.bus.replay_dead_letter(TOPIC, 0, 999_999).await;
    assert!(missing.is_err());
    consumer.stop().await;
}

async fn a_passing_failure_is_retried(backend: Backend) {
    let bus = TestBus::start(backend, 1).await;
    let service = Service::start().await;
    let flaky = Recorder::new("flaky");
    flaky.fail_first.store(true, Ordering::SeqCst);
    let consumer = bus.subscribe(&service, "g", TOPIC, flaky);
    bus.bus.publish(&[bus.event("a", 1), bus.event("a", 2)]).await.unwrap();
    let effects = effect_count(&service, 2, "both effects").await;
    assert_eq!(effects.iter().map(|(_, n, _)| n.as_str()).collect::<Vec<_>>(), ["1", "2"]);
    consumer.stop().await;
}

async fn events_published_during_an_outage_arrive_after_it(backend: Backend) {
    let bus = TestBus::start(backend, 2).await;
    let Some(outage) = &bus.outage else {
        // A SQLite file cannot become unreachable (the PostgreSQL log covers the embedded
        // backend), and a shared real broker is not ours to take down.
        return;
    };
    let service = Service::start().await;
    let waker = RelayWaker::new();
    let (stop, shutdown) = watch::channel(false);
    let relay =
        Relay::new(service.db.clone(), bus.bus.clone(), waker.clone(), RelayConfig::default()).spawn(shutdown.clone());
    let consumer = bus.subscribe(&service, "g", TOPIC, Recorder::new("c"));

    outage.begin().await;
    for n in 0..5 {
        let Record { payload, .. } = bus.event("a", n);
        let envelope = mart_proto::events::Envelope::decode(payload.as_slice()).unwrap();
        outbox::append(&service.db, &envelope).await.unwrap();
        waker.wake();
    }
    // Nothing can get through; the rows wait in the outbox.
    let lag = outbox::relay::lag(&service.db).await.unwrap();
    assert_eq!(lag.unsent, 5);

    outage.end().await;
    let effects = effect_count(&service, 5, "the events after the outage").await;
    assert_eq!(effects.iter().map(|(_, n, _)| n.as_str()).collect::<Vec<_>>(), ["0", "1", "2", "3", "4"]);
    eventually("the outbox to drain", || async {
        (outbox::relay::lag(&service.db).await.ok()?.unsent == 0).then_some(())
    })
    .await;
    stop.send(true).unwrap();
    relay.await.unwrap();
    consumer.stop().await;
}

async fn every_group_gets_everything_and_members_share_the_work(backend: Backend) {
    let bus = TestBus::start(backend, 4).await;
    let billing = Service::start().await;
    let mail = Service::start().await;
    let b1 = bus.subscribe(&billing, "billing", TOPIC, Recorder::new("b1"));
    let b2 = bus.subscribe(&billing, "billing", TOPIC, Recorder::new("b2"));
    let m1 = bus.subscribe(&mail, "mail", TOPIC, Recorder::new("m1"));

    // Keep publishing until both billing members have done some of the work.
    let mut published = 0;
    eventually("both members of one group to get work", || {
        let publisher = bus.bus.clone();
        let billing = &billing;
        let batch: Vec<_> = (0..16).map(|k| bus.event(format!("key-{k}"), published + k)).collect();
        published += 16;
        async move {
            publisher.publish(&batch).await.ok()?;
            let effects = billing.effects().await;
            let by = |who: &str| effects.iter().filter(|(_, _, c)| c == who).count();
            (by("b1") > 0 && by("b2") > 0).then_some(())
        }
    })
    .await;
    let total = published as usize;
    let billed = effect_count(&billing, total, "billing to catch up").await;
    let mailed = effect_count(&mail, total, "mail to catch up").await;
    // Each group handled each event exactly once.
    assert_eq!(billed.len(), total);
    assert_eq!(mailed.len(), total);
    for consumer in [b1, b2, m1] {
        consumer.stop().await;
    }
}

async fn a_relay_crash_after_sending_duplicates_but_never_loses(backend: Backend) {
    let bus = TestBus::start(backend, 2).await;
    let service = Service::start().await;
    for n in 0..6 {
        let Record { payload, .. } = bus.event("a", n);
        outbox::append(&service.db, &mart_proto::events::Envelope::decode(payload.as_slice()).unwrap()).await.unwrap();
    }
    // Sent, but the relay died before marking the rows sent...
    assert_eq!(publish_without_marking(&service.db, &bus.bus, 100).await.unwrap(), 6);
    // ... so the restarted relay sends them all again.
    let relay = Relay::new(service.db.clone(), bus.bus.clone(), RelayWaker::new(), RelayConfig::default());
    assert_eq!(relay.relay_once().await.unwrap(), 6);
    assert_eq!(relay.lag().await.unwrap().unsent, 0);
    // Sent rows are pruned once past their retention; unsent ones never are.
    let unsent = bus.event("a", "unsent");
    outbox::append(&service.db, &mart_proto::events::Envelope::decode(unsent.payload.as_slice()).unwrap())
        .await
        .unwrap();
    assert_eq!(outbox::relay::prune(&service.db, Duration::from_secs(3600)).await.unwrap(), 0);
    assert_eq!(outbox::relay::prune(&service.db, Duration::ZERO).await.unwrap(), 6);
    assert_eq!(relay.lag().await.unwrap().unsent, 1);

    let consumer = bus.subscribe(&service, "g", TOPIC, Recorder::new("c"));
    let marker = bus.event("a", "end");
    bus.bus.publish(&[marker]).await.unwrap();
    let effects = effect_count(&service, 7, "the marker after the duplicates").await;
    assert_eq!(effects.iter().map(|(_, n, _)| n.as_str()).collect::<Vec<_>>(), ["0", "1", "2", "3", "4", "5", "end"]);
    assert_eq!(relay.relay_once().await.unwrap(), 1, "the row added after pruning still ships");
    consumer.stop().await;
}

// === a TCP proxy whose link can be cut ===

/// Forwards connections to a server until cut: then drops every live connection and
/// refuses new ones, as an unreachable broker would.
struct Proxy {
    addr: std::net::SocketAddr,
    cut: Arc<watch::Sender<bool>>,
}

impl Proxy {
    async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let target = target.to_owned();
        let (cut, _) = watch::channel(false);
        let cut = Arc::new(cut);
        let state = cut.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if *state.borrow() {
                    continue;
                }
                let target = target.clone();
                let mut cut = state.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Self { addr, cut }
    }

    fn cut(&self) {
        self.cut.send_replace(true);
    }

    fn restore(&self) {
        self.cut.send_replace(false);
    }
}
