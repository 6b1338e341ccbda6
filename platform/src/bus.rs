//! The event bus: one API, two backends.
//!
//! Services never publish directly: they append to their outbox (the `outbox` module) in the
//! transaction that makes a change, and the outbox relay publishes what
//! committed. Consumers [`EventBus::subscribe`] with a [`Handler`] that runs in a database
//! transaction together with an inbox row keyed by (group, event id), so a redelivered
//! event commits nothing twice. Offsets move only after that transaction commits. A failing
//! handler is retried with exponential backoff, then the event goes to `<topic>.dlq` and
//! the consumer moves on. Order is kept per key (the aggregate id): one key, one partition,
//! one consumer at a time, in log order.
//!
//! Backends: [`embedded`] (a durable log in a SQL database, for one host) and [`kafka`].
//! Both are driven by the same [`Processor`], so their semantics cannot drift apart.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use mart_proto::events::Envelope;
use prost::Message as _;
pub use sea_orm::DatabaseTransaction;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::watch;
use tracing::Instrument as _;

use crate::{
    config::{EventBusKind, EventsConfig},
    retry::Backoff,
    telemetry,
    wake::Waker,
};

pub mod embedded;
pub mod inbox;
pub mod kafka;
pub mod ops;

/// Header names the bus sets. Kafka carries them as record headers, the embedded log as
/// a JSON column.
pub mod headers {
    /// The envelope id, for operators reading raw records.
    pub const EVENT_ID: &str = "mart-event-id";
    /// The envelope type.
    pub const EVENT_TYPE: &str = "mart-event-type";
    /// The service whose outbox the event came from (`svc-payment`): consumers refuse an
    /// event on a domain topic from anyone but the topic's owner.
    pub const PRODUCER: &str = "mart-producer";
    /// W3C trace context of the transaction that wrote the event.
    pub const TRACEPARENT: &str = "traceparent";
    /// W3C trace state.
    pub const TRACESTATE: &str = "tracestate";
    /// Dead letters: the last error.
    pub const DLQ_ERROR: &str = "mart-dlq-error";
    /// Dead letters: how many attempts were made.
    pub const DLQ_ATTEMPTS: &str = "mart-dlq-attempts";
    /// Dead letters: the consumer group that gave up.
    pub const DLQ_GROUP: &str = "mart-dlq-group";
    /// Dead letters: where the event was read from.
    pub const DLQ_TOPIC: &str = "mart-dlq-topic";
    /// Dead letters: its partition there.
    pub const DLQ_PARTITION: &str = "mart-dlq-partition";
    /// Dead letters: its offset there.
    pub const DLQ_OFFSET: &str = "mart-dlq-offset";
}

/// Why `event` does not belong where it arrived, if it does not: on a domain topic
/// (`mart.<service>.events`) only that topic's payloads, written by that service's outbox.
/// A record without a producer header (published before the relay stamped it, or by a
/// test) is judged by its payload alone.
fn misrouted(event: &Event) -> Option<String> {
    let owner = event.topic.strip_prefix("mart.")?.strip_suffix(".events")?;
    let Some(payload) = &event.envelope.payload else {
        return Some("an envelope without a payload".to_owned());
    };
    let belongs = crate::events::topic_of(payload);
    if belongs != event.topic {
        return Some(format!("a {} event belongs on {belongs}, not {}", event.envelope.r#type, event.topic));
    }
    let producer = event.headers.iter().find(|(name, _)| name == headers::PRODUCER).map(|(_, value)| value.as_str());
    match producer {
        Some(producer) if producer != format!("svc-{owner}") => {
            Some(format!("{} is svc-{owner}'s topic; this event was produced by {producer}", event.topic))
        }
        _ => None,
    }
}

/// The dead-letter topic of `topic`.
pub fn dlq_topic(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// A record to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// `mart.user.events`, …
    pub topic: String,
    /// The aggregate id: records with one key stay in order.
    pub key: String,
    /// The encoded envelope.
    pub payload: Vec<u8>,
    /// Trace context and bookkeeping.
    pub headers: Vec<(String, String)>,
}

impl Record {
    /// The value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A record as delivered: with where it sits in the log.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The record.
    pub record: Record,
    /// Its partition.
    pub partition: i32,
    /// Its offset in the partition.
    pub offset: i64,
}

/// An event handed to a [`Handler`].
#[derive(Clone, Debug)]
pub struct Event {
    /// The decoded envelope.
    pub envelope: Envelope,
    /// Where it came from.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Trace context of the transaction that wrote it.
    pub traceparent: Option<String>,
    /// Every header of the record (dead letters carry their `mart-dlq-*` story here).
    pub headers: Vec<(String, String)>,
}

/// Why a handler failed; the message ends up in logs and in the DLQ header.
///
/// A **transient** failure (the database is busy or down, a peer did not answer) is tried
/// again, with backoff, for the subscription's retry window (`MART_EVENT_RETRY_WINDOW`,
/// default 24 h); a **permanent** one (the event can never be handled: a payload that does
/// not match what it names, a total nobody can pay) goes to the DLQ at once. Handlers
/// never wait on the outside world inside their transaction: a reaction that needs a slow
/// or unreliable call records it and makes it after the commit (svc-payment's provider
/// calls), so what is left to retry here is the service's own database, whose trouble
/// holds up every key alike.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct HandlerError {
    /// What went wrong.
    pub message: String,
    /// Whether no retry can help.
    pub permanent: bool,
}

impl HandlerError {
    /// A failure a retry may cure.
    pub fn transient(message: impl Into<String>) -> Self {
        Self { message: message.into(), permanent: false }
    }

    /// A failure no retry can cure: the event goes to the DLQ at once.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { message: message.into(), permanent: true }
    }
}

impl From<DbErr> for HandlerError {
    fn from(error: DbErr) -> Self {
        HandlerError::transient(format!("database: {error}"))
    }
}

/// Reacts to events. Runs inside the transaction that also records the event in the inbox:
/// make every change through `txn`, and the reaction happens exactly once.
pub trait Handler: Send + Sync + 'static {
    /// Handles one event.
    fn handle<'a>(&'a self, txn: &'a DatabaseTransaction, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>>;

    /// Called once `event`'s transaction has committed (not for a duplicate, nor for an
    /// attempt that failed): for what must only be told about committed changes, such as
    /// waking the watchers of what the event changed ([`crate::changes`]). Must not block.
    fn committed(&self, _event: &Event) {}
}

/// Why publishing failed. The relay retries; nothing is marked sent.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The embedded log's database failed.
    #[error("event log: {0}")]
    Log(#[from] DbErr),
    /// Kafka refused or timed out.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// Anything else, described.
    #[error("{0}")]
    Other(String),
}

/// How hard a consumer tries an event whose handler fails transiently before it
/// dead-letters it (a permanent failure is dead-lettered at once).
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; `0`: no cap, only the window.
    pub max_attempts: u32,
    /// How long after the first failure the event is still tried.
    pub window: Duration,
    /// The waits between attempts.
    pub backoff: Backoff,
}

impl RetryPolicy {
    /// `max_attempts` attempts (`0`: as many as a day allows), waiting 100 ms, 200 ms, … up
    /// to 10 s in between.
    pub fn new(max_attempts: u32) -> Self {
        Self::within(max_attempts, Duration::from_secs(24 * 3600))
    }

    /// At most `max_attempts` attempts (`0`: no cap) for `window` after the first failure.
    pub fn within(max_attempts: u32, window: Duration) -> Self {
        Self { max_attempts, window, backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(10)) }
    }

    /// Whether a transient failure at attempt number `attempt`, `since` the first failure,
    /// is the last one tried.
    pub fn gives_up(&self, attempt: u32, since: Duration) -> bool {
        (self.max_attempts != 0 && attempt >= self.max_attempts) || since >= self.window
    }

    /// The wait after failed attempt number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.backoff.after(attempt)
    }
}

/// A consumer: which group, which topics, where its inbox lives, what it does.
#[derive(Clone)]
pub struct Subscription {
    /// The consumer group: each group receives every event once; members share the work.
    pub group: String,
    /// The topics to read.
    pub topics: Vec<String>,
    /// The service's database: the inbox and the handler's transaction.
    pub db: DatabaseConnection,
    /// The reaction.
    pub handler: Arc<dyn Handler>,
    /// Retries before the DLQ.
    pub retry: RetryPolicy,
    /// Where to report each finished event, if anywhere.
    pub metrics: Option<Arc<dyn Metrics>>,
    /// The service's relay, woken after each handled event: handlers write events too, and
    /// those should leave at once rather than at the relay's next poll.
    pub wake_relay: Option<Waker>,
}

/// The hook a metrics system plugs into: the bus reports what it does as it does it.
/// Every method has a default that does nothing; implement the ones you record.
/// Point-in-time figures (consumer lag per partition, unsent outbox rows) are pulled
/// instead: [`EventBus::consumer_lag`], and the outbox relay's `lag`.
pub trait Metrics: Send + Sync + 'static {
    /// A consumer of `group` finished an event of `topic` with `outcome`,
    /// `since_written` after the transaction that wrote it (end-to-end lag).
    fn event_finished(&self, _group: &str, _topic: &str, _outcome: Outcome, _since_written: Duration) {}

    /// A handler attempt failed and will be retried (or dead-lettered).
    fn handler_failed(&self, _group: &str, _topic: &str) {}

    /// The relay shipped `count` events in one round.
    fn relay_shipped(&self, _count: usize) {}

    /// A relay round failed; it is retried with backoff.
    fn relay_failed(&self) {}
}

/// The bus a service publishes to and consumes from.
#[derive(Clone)]
pub enum EventBus {
    /// A durable log in a SQL database.
    Embedded(Arc<embedded::EmbeddedBus>),
    /// Kafka.
    Kafka(Arc<kafka::KafkaBus>),
}

impl EventBus {
    /// The bus `config` names: the embedded log, or Kafka with every domain topic (and its
    /// DLQ) created when missing (or checked to exist, when provisioned outside).
    pub async fn connect(config: &EventsConfig) -> Result<Self, BusError> {
        match config.bus {
            EventBusKind::Embedded => {
                Ok(EventBus::Embedded(embedded::EmbeddedBus::open(&config.log_url, config.partitions).await?))
            }
            EventBusKind::Kafka => {
                let topics = crate::events::TOPICS.iter().map(|t| (*t).to_owned()).collect();
                let settings = kafka::KafkaSettings {
                    session_timeout: config.kafka_session_timeout,
                    client: config.kafka_client.0.clone(),
                    ..kafka::KafkaSettings::new(
                        &config.kafka_brokers,
                        config.partitions,
                        topics,
                        config.kafka_topics.into(),
                    )
                };
                Ok(EventBus::Kafka(kafka::KafkaBus::connect(settings).await?))
            }
        }
    }

    /// Publishes `records`; returns once the bus has them durably (the log committed, or
    /// every broker ack arrived). On error some may have been stored: publishing again is
    /// safe because consumers deduplicate by event id.
    pub async fn publish(&self, records: &[Record]) -> Result<(), BusError> {
        match self {
            EventBus::Embedded(bus) => bus.append(records).await.map_err(BusError::from),
            EventBus::Kafka(bus) => bus.publish(records).await,
        }
    }

    /// Starts consuming until `shutdown` turns true; the task ends after the event in hand
    /// is finished and its offset stored.
    pub fn subscribe(
        &self,
        subscription: Subscription,
        shutdown: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        self.subscribe_as(None, subscription, shutdown)
    }

    /// [`EventBus::subscribe`] for `service` (`svc-order`): the service its consume spans
    /// belong to.
    pub fn subscribe_as(
        &self,
        service: Option<&'static str>,
        subscription: Subscription,
        shutdown: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let processor = Processor { bus: self.clone(), subscription, shutdown: shutdown.clone(), service };
        match self {
            EventBus::Embedded(bus) => tokio::spawn(embedded::consume(bus.clone(), processor, shutdown)),
            EventBus::Kafka(bus) => tokio::spawn(kafka::consume(bus.clone(), processor, shutdown)),
        }
    }
}

// === Processor ===

/// What became of a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The handler ran and committed.
    Handled,
    /// This group had already handled the event: nothing was done.
    Duplicate,
    /// The handler kept failing (or the record was unreadable): it went to the DLQ.
    DeadLettered,
}

/// The consumer stopped before finishing a delivery: its offset must not move.
#[derive(Debug)]
pub struct Stopped;

/// Takes one delivery to a final outcome. Shared by both backends.
pub struct Processor {
    bus: EventBus,
    subscription: Subscription,
    shutdown: watch::Receiver<bool>,
    /// The service whose consumer this is, for its spans.
    service: Option<&'static str>,
}

impl Processor {
    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.subscription.group
    }

    /// The topics.
    pub fn topics(&self) -> &[String] {
        &self.subscription.topics
    }

    /// Handles `delivery`, retrying with backoff; after the last attempt it publishes the
    /// record to the DLQ. `Err(Stopped)` only when shutdown came during a backoff.
    ///
    /// The work is one `event.consume` span, a child of the span that appended the event
    /// (its `traceparent` header), so the event's reaction joins the trace that caused it.
    pub async fn process(&self, delivery: &Delivery) -> Result<Outcome, Stopped> {
        let record = &delivery.record;
        let span = tracing::info_span!(
            "event.consume",
            otel.name = %format_args!("{} process", record.topic),
            otel.kind = "consumer",
            otel.status_code = tracing::field::Empty,
            messaging.system = self.messaging_system(),
            messaging.destination.name = %record.topic,
            messaging.destination.partition.id = delivery.partition,
            messaging.kafka.offset = delivery.offset,
            messaging.consumer.group.name = %self.subscription.group,
            messaging.message.id = record.header(headers::EVENT_ID).unwrap_or_default(),
            event.r#type = record.header(headers::EVENT_TYPE).unwrap_or_default(),
            event.outcome = tracing::field::Empty,
        );
        let parent = telemetry::remote_parent(record.header(headers::TRACEPARENT), record.header(headers::TRACESTATE));
        if let Some(service) = self.service {
            telemetry::adopt(&span, service, parent);
        } else {
            let _ = tracing_opentelemetry::OpenTelemetrySpanExt::set_parent(&span, parent);
        }
        let outcome = self.finish(delivery).instrument(span.clone()).await?;
        span.record("event.outcome", format!("{outcome:?}"));
        if outcome == Outcome::DeadLettered {
            span.record("otel.status_code", "ERROR");
        }
        if let Some(metrics) = &self.subscription.metrics {
            let written = Envelope::decode(delivery.record.payload.as_slice())
                .ok()
                .and_then(|envelope| envelope.occurred_at)
                .and_then(|at| std::time::SystemTime::try_from(at).ok());
            let since_written = written.and_then(|at| at.elapsed().ok()).unwrap_or_default();
            metrics.event_finished(&self.subscription.group, &delivery.record.topic, outcome, since_written);
        }
        Ok(outcome)
    }

    async fn finish(&self, delivery: &Delivery) -> Result<Outcome, Stopped> {
        let event = match Envelope::decode(delivery.record.payload.as_slice()) {
            Ok(envelope) => Event {
                envelope,
                topic: delivery.record.topic.clone(),
                partition: delivery.partition,
                offset: delivery.offset,
                traceparent: delivery.record.header(headers::TRACEPARENT).map(ToOwned::to_owned),
                headers: delivery.record.headers.clone(),
            },
            Err(error) => {
                // No retry can make these bytes decode.
                self.dead_letter(delivery, &format!("undecodable envelope: {error}"), 1).await?;
                return Ok(Outcome::DeadLettered);
            }
        };
        if let Some(refusal) = misrouted(&event) {
            // No retry can make it belong: an operator looks at it in the DLQ.
            tracing::error!(group = self.group(), event.id = %event.envelope.id, refusal, "refusing an event: to the DLQ");
            crate::metrics::event_refused(self.group(), &event.topic);
            self.dead_letter(delivery, &refusal, 1).await?;
            return Ok(Outcome::DeadLettered);
        }
        let policy = self.subscription.retry;
        let mut attempt = 1;
        let mut first_failure = None;
        loop {
            let error = match self.attempt(&event).await {
                Ok(outcome) => return Ok(outcome),
                Err(error) => error,
            };
            let failing_for = first_failure.get_or_insert_with(Instant::now).elapsed();
            if error.permanent || policy.gives_up(attempt, failing_for) {
                let why = if error.permanent { "cannot ever be handled" } else { "giving up" };
                tracing::error!(group = self.group(), event.id = %event.envelope.id, %error, attempt, "{why}: to the DLQ");
                self.dead_letter(delivery, &error.message, attempt).await?;
                return Ok(Outcome::DeadLettered);
            }
            if let Some(metrics) = &self.subscription.metrics {
                metrics.handler_failed(&self.subscription.group, &event.topic);
            }
            tracing::warn!(group = self.group(), event.id = %event.envelope.id, %error, attempt, "handler failed; retrying");
            self.pause(policy.backoff(attempt)).await?;
            attempt += 1;
        }
    }

    fn messaging_system(&self) -> &'static str {
        match self.bus {
            EventBus::Embedded(_) => "mart-embedded",
            EventBus::Kafka(_) => "kafka",
        }
    }

    /// One try: the inbox row and the handler's changes, in one transaction.
    async fn attempt(&self, event: &Event) -> Result<Outcome, HandlerError> {
        let span = tracing::info_span!(
            "event.handle",
            otel.name = %format_args!("handle {}", event.envelope.r#type.rsplit('.').next().unwrap_or_default()),
            otel.status_code = tracing::field::Empty,
        );
        let result = self.attempt_in_transaction(event).instrument(span.clone()).await;
        if result.is_err() {
            span.record("otel.status_code", "ERROR");
        }
        result
    }

    async fn attempt_in_transaction(&self, event: &Event) -> Result<Outcome, HandlerError> {
        let txn = crate::db::begin(&self.subscription.db).await?;
        if !inbox::record(&txn, &self.subscription.group, &event.envelope.id).await? {
            txn.rollback().await?;
            return Ok(Outcome::Duplicate);
        }
        self.subscription.handler.handle(&txn, event).await?;
        txn.commit().await?;
        self.subscription.handler.committed(event);
        if let Some(relay) = &self.subscription.wake_relay {
            relay.wake();
        }
        Ok(Outcome::Handled)
    }

    /// Publishes the record to `<topic>.dlq`, retrying until the bus takes it: the offset
    /// must not move past an event that is neither handled nor dead-lettered.
    async fn dead_letter(&self, delivery: &Delivery, error: &str, attempts: u32) -> Result<(), Stopped> {
        let mut record = delivery.record.clone();
        record.topic = dlq_topic(&delivery.record.topic);
        record.headers.retain(|(k, _)| !k.starts_with("mart-dlq-"));
        record.headers.extend([
            (headers::DLQ_ERROR.to_owned(), error.chars().take(1000).collect()),
            (headers::DLQ_ATTEMPTS.to_owned(), attempts.to_string()),
            (headers::DLQ_GROUP.to_owned(), self.subscription.group.clone()),
            (headers::DLQ_TOPIC.to_owned(), delivery.record.topic.clone()),
            (headers::DLQ_PARTITION.to_owned(), delivery.partition.to_string()),
            (headers::DLQ_OFFSET.to_owned(), delivery.offset.to_string()),
        ]);
        let mut failures = 0;
        loop {
            match self.bus.publish(std::slice::from_ref(&record)).await {
                Ok(()) => return Ok(()),
                Err(error) => {
                    failures += 1;
                    tracing::warn!(%error, "cannot publish to the DLQ yet");
                    self.pause(self.subscription.retry.backoff(failures)).await?;
                }
            }
        }
    }

    /// Sleeps, unless shutdown comes first.
    async fn pause(&self, duration: Duration) -> Result<(), Stopped> {
        let mut shutdown = self.shutdown.clone();
        if *shutdown.borrow() {
            return Err(Stopped);
        }
        tokio::select! {
            () = tokio::time::sleep(duration) => Ok(()),
            _ = shutdown.wait_for(|stop| *stop) => Err(Stopped),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy::new(10);
        let waits: Vec<_> = (1..=9).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000]);
    }

    #[test]
    fn transient_failures_are_tried_for_the_window() {
        let capped = RetryPolicy::within(3, Duration::from_secs(60));
        assert!(!capped.gives_up(2, Duration::from_secs(1)));
        assert!(capped.gives_up(3, Duration::from_secs(1)), "the cap");
        let window = RetryPolicy::within(0, Duration::from_secs(60));
        assert!(!window.gives_up(10_000, Duration::from_secs(59)), "no cap: only the window");
        assert!(window.gives_up(2, Duration::from_secs(60)));
        assert!(HandlerError::permanent("never").permanent && !HandlerError::transient("later").permanent);
        assert!(!HandlerError::from(DbErr::Custom("busy".into())).permanent, "the database's trouble passes");
    }
}
