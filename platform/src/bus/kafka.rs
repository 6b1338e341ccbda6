//! The Kafka backend (rdkafka).
//!
//! - Publishing: one idempotent producer (`enable.idempotence`, `acks=all`) per bus; a
//!   record's key is its aggregate id, so one aggregate's records share a partition and
//!   keep their order. [`KafkaBus::publish`] returns only once every record of the batch
//!   was acknowledged, and `message.timeout.ms` bounds the wait so an unreachable broker
//!   becomes an error the relay retries instead of a hang.
//! - Consuming: one `StreamConsumer` per subscription, in the subscription's group, with
//!   cooperative rebalancing. Messages are processed one after the other by the shared
//!   [`Processor`]; an offset is stored only after the processor finished the message
//!   (handled, duplicate or dead-lettered), and librdkafka's auto-commit writes stored
//!   offsets only. On shutdown the consumer finishes the message in hand, commits
//!   synchronously and leaves the group.
//! - Topics: created at start, each with its `<topic>.dlq`, through the admin API on real
//!   brokers, or through the mock cluster's own API in tests; or provisioned outside and
//!   only checked to exist ([`TopicCreation`]).

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use rdkafka::{
    ClientConfig, Offset, TopicPartitionList,
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    consumer::{BaseConsumer, CommitMode, Consumer as _, StreamConsumer},
    error::KafkaError,
    message::{Header, Headers as _, Message, OwnedHeaders},
    mocking::MockCluster,
    producer::{DefaultProducerContext, FutureProducer, FutureRecord, Producer as _, future_producer::DeliveryFuture},
    types::RDKafkaErrorCode,
};
use tokio::sync::{oneshot, watch};

use super::{BusError, Delivery, Processor, Record, dlq_topic, ops::PartitionLag};

/// How long a record may wait for its acknowledgement unless the settings say otherwise.
pub const DEFAULT_MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a silent consumer keeps its partitions unless the settings say otherwise
/// (librdkafka's default).
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(45);
/// The longest pause between attempts to reach a broker that is down (librdkafka's default
/// is 10 s; the Java client's, 1 s): once the broker is back, the backlog moves within a second.
const RECONNECT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// The longest dropping the bus waits for records still in flight.
const DROP_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the operator queries ([`KafkaBus::lag`], [`KafkaBus::read_all`]) wait for the
/// brokers.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait before polling again after the consumer reported an error, so a
/// persistent error cannot spin the task.
const CONSUMER_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// How topics come to exist: swapped, never skipped.
#[derive(Clone)]
pub enum TopicCreation {
    /// CreateTopics through the admin API (real brokers); "already exists" is fine.
    Admin,
    /// librdkafka's mock cluster, which has no CreateTopics: created through its own API.
    ///
    /// A [`MockKafka`] handle rather than the `MockCluster` itself: the cluster holds a raw
    /// pointer, so it is neither `Send` nor `Sync`, and the bus must be both.
    Mock(MockKafka),
    /// Provisioned outside this process (by operators, or by whoever made them in a mock
    /// cluster another process runs): only checked to exist, so a missing topic still stops
    /// start-up, naming it.
    External,
}

impl From<crate::config::KafkaTopics> for TopicCreation {
    /// `MART_KAFKA_TOPICS`.
    fn from(topics: crate::config::KafkaTopics) -> Self {
        match topics {
            crate::config::KafkaTopics::Create => TopicCreation::Admin,
            crate::config::KafkaTopics::External => TopicCreation::External,
        }
    }
}

/// What [`KafkaBus::connect`] needs.
#[derive(Clone)]
pub struct KafkaSettings {
    /// Bootstrap servers, `host:port,host:port`.
    pub brokers: String,
    /// Partitions of the topics this bus creates (existing topics are left as they are).
    pub partitions: u32,
    /// The topics to create when missing, each with its `<topic>.dlq`.
    pub topics: Vec<String>,
    /// How to create them.
    pub topic_creation: TopicCreation,
    /// How long a record may wait for its acknowledgement (`message.timeout.ms`) before
    /// publishing fails; [`DEFAULT_MESSAGE_TIMEOUT`] unless a test wants failures sooner.
    pub message_timeout: Duration,
    /// How long a consumer may go silent before the group gives its partitions to others
    /// (`session.timeout.ms`): how soon a crashed consumer's events move on. Brokers accept
    /// 6 s to 30 min by default.
    pub session_timeout: Duration,
    /// The longest a fetch waits for records (`fetch.wait.max.ms`). Real brokers answer as
    /// soon as records arrive, so the default (500 ms) costs no latency there; librdkafka's
    /// mock cluster always waits it out, so benchmarks on it set it low.
    pub fetch_wait_max: Duration,
    /// librdkafka properties for every client (producer, consumers, admin): how to reach a
    /// secured cluster (`security.protocol`, `sasl.*`, `ssl.ca.location`). The bus's own
    /// settings (idempotence, offsets) are applied after them and win.
    pub client: Vec<(String, String)>,
}

impl KafkaSettings {
    /// Settings with the default timeouts.
    pub fn new(
        brokers: impl Into<String>,
        partitions: u32,
        topics: Vec<String>,
        topic_creation: TopicCreation,
    ) -> Self {
        Self {
            brokers: brokers.into(),
            partitions,
            topics,
            topic_creation,
            message_timeout: DEFAULT_MESSAGE_TIMEOUT,
            session_timeout: DEFAULT_SESSION_TIMEOUT,
            fetch_wait_max: Duration::from_millis(500),
            client: Vec::new(),
        }
    }
}

/// How to reach the cluster: its brokers and the client properties every client gets.
#[derive(Clone)]
struct Cluster {
    brokers: String,
    client: Vec<(String, String)>,
}

impl Cluster {
    /// A client configuration for this cluster, to which each client adds its own.
    fn config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (key, value) in &self.client {
            config.set(key, value);
        }
        config.set("bootstrap.servers", &self.brokers);
        config
    }
}

/// The Kafka event bus: the producer, and what consumers need to join.
pub struct KafkaBus {
    /// Brokers and client properties, for the consumers [`consume`] creates.
    cluster: Cluster,
    /// Shared by every publish: one idempotent producer keeps per-partition order across
    /// batches and retries.
    producer: FutureProducer,
    /// Bounds waits for acknowledgements; also how long enqueueing waits on a full queue.
    message_timeout: Duration,
    /// The consumers' `session.timeout.ms`.
    session_timeout: Duration,
    /// The consumers' `fetch.wait.max.ms`.
    fetch_wait_max: Duration,
    /// Keeps the mock cluster alive for as long as the bus talks to it.
    _topic_creation: TopicCreation,
}

impl KafkaBus {
    /// Creates missing topics and their `<topic>.dlq` with `partitions` partitions (or, for
    /// [`TopicCreation::External`], checks they exist), then the producer. Fails when a
    /// topic can be neither created nor found to exist.
    pub async fn connect(settings: KafkaSettings) -> Result<Arc<Self>, BusError> {
        let partitions = i32::try_from(settings.partitions.max(1))
            .map_err(|_| BusError::Other(format!("{} partitions is more than Kafka allows", settings.partitions)))?;
        // librdkafka rejects 0 ms.
        let message_timeout = settings.message_timeout.max(Duration::from_millis(1));
        let topics: BTreeSet<String> =
            settings.topics.iter().flat_map(|topic| [topic.clone(), dlq_topic(topic)]).collect();
        let cluster = Cluster { brokers: settings.brokers.clone(), client: settings.client.clone() };
        match &settings.topic_creation {
            TopicCreation::Admin => create_topics(&cluster, &topics, partitions, message_timeout).await?,
            TopicCreation::Mock(mock) => {
                for topic in &topics {
                    mock.create_topic(topic, partitions).await?;
                }
            }
            TopicCreation::External => check_topics(&cluster, &topics).await?,
        }
        let producer: FutureProducer = cluster
            .config()
            // No duplicates or reordering from the producer's own retries.
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", millis(message_timeout))
            .set("reconnect.backoff.max.ms", millis(RECONNECT_BACKOFF_MAX))
            .create()?;
        tracing::info!(brokers = settings.brokers, topics = topics.len(), partitions, "kafka bus ready");
        Ok(Arc::new(Self {
            cluster,
            producer,
            message_timeout,
            session_timeout: settings.session_timeout,
            fetch_wait_max: settings.fetch_wait_max,
            _topic_creation: settings.topic_creation,
        }))
    }

    /// Publishes `records`; returns `Ok` only once every one was acknowledged by all
    /// in-sync replicas. On error some may have been stored: the caller publishes again and
    /// consumers deduplicate. Every record that was enqueued is waited for, even after a
    /// failure, so nothing of this batch is still in flight when this returns.
    pub async fn publish(&self, records: &[Record]) -> Result<(), BusError> {
        let mut deliveries = Vec::with_capacity(records.len());
        let mut failure = None;
        // Enqueued one after the other, in order: the producer keeps that order per partition.
        for record in records {
            match self.enqueue(record).await {
                Ok(delivery) => deliveries.push(delivery),
                Err(error) => {
                    failure = Some(BusError::Kafka(error));
                    break;
                }
            }
        }
        let mut unacknowledged = records.len() - deliveries.len();
        for delivery in deliveries {
            let error = match delivery.await {
                Ok(Ok(_)) => continue,
                Ok(Err((error, _))) => BusError::Kafka(error),
                Err(_canceled) => BusError::Other("the kafka producer went away before acknowledging".to_owned()),
            };
            unacknowledged += 1;
            failure.get_or_insert(error);
        }
        match failure {
            None => Ok(()),
            Some(error) => {
                // Once per batch: a broker outage fails every record of it the same way.
                tracing::warn!(unacknowledged, of = records.len(), %error, "kafka did not acknowledge records");
                Err(error)
            }
        }
    }

    /// Waits until every record handed to the producer is acknowledged or failed, for at
    /// most `timeout`. [`KafkaBus::publish`] already waits for its own records; this is for
    /// callers that dropped a publish midway and want nothing left in flight.
    pub async fn flush(&self, timeout: Duration) -> Result<(), BusError> {
        let producer = self.producer.clone();
        // librdkafka's flush blocks the calling thread.
        tokio::task::spawn_blocking(move || producer.flush(timeout))
            .await
            .map_err(|error| BusError::Other(format!("flushing the kafka producer: {error}")))??;
        Ok(())
    }

    /// How far `group` is behind on each partition of `topics`: its committed offset (the
    /// log start when it never committed, as `auto.offset.reset=earliest` would read) and
    /// how many records lie between that and the log end. Topics that do not exist have no
    /// partitions.
    pub async fn lag(&self, group: &str, topics: &[String]) -> Result<Vec<PartitionLag>, BusError> {
        let consumer = self.query_consumer(group)?;
        let topics = topics.to_vec();
        // librdkafka's queries block the calling thread.
        blocking(move || {
            let mut lags = Vec::new();
            for topic in &topics {
                let mut partitions = TopicPartitionList::new();
                for partition in partitions_of(&consumer, topic)? {
                    partitions.add_partition(topic, partition);
                }
                if partitions.count() == 0 {
                    continue;
                }
                let committed = consumer.committed_offsets(partitions, QUERY_TIMEOUT)?;
                for element in committed.elements() {
                    let (low, high) = consumer.fetch_watermarks(topic, element.partition(), QUERY_TIMEOUT)?;
                    let next_offset = match element.offset() {
                        Offset::Offset(offset) => offset.max(low),
                        _ => low,
                    };
                    lags.push(PartitionLag {
                        topic: topic.clone(),
                        partition: element.partition(),
                        next_offset,
                        waiting: u64::try_from(high - next_offset).unwrap_or(0),
                    });
                }
            }
            Ok(lags)
        })
        .await
    }

    /// Up to `limit` records of `topic`, oldest first (by timestamp across partitions): what
    /// is in it now, read outside any group. For operators reading dead letters.
    pub async fn read_all(&self, topic: &str, limit: u64) -> Result<Vec<Delivery>, BusError> {
        // librdkafka wants a group even to assign partitions by hand; this one never joins
        // or commits, so readers sharing the name do not meet.
        let consumer = self.query_consumer("mart-reader")?;
        let topic = topic.to_owned();
        blocking(move || {
            // Where each partition's reading stops: its end now, or `limit` records in (the
            // oldest `limit` overall are among each partition's first `limit`).
            let mut ends = std::collections::BTreeMap::new();
            let mut start = TopicPartitionList::new();
            for partition in partitions_of(&consumer, &topic)? {
                let (low, high) = consumer.fetch_watermarks(&topic, partition, QUERY_TIMEOUT)?;
                let end = high.min(low.saturating_add(i64::try_from(limit).unwrap_or(i64::MAX)));
                if end > low {
                    start.add_partition_offset(&topic, partition, Offset::Offset(low))?;
                    ends.insert(partition, end);
                }
            }
            consumer.assign(&start)?;
            let deadline = std::time::Instant::now() + QUERY_TIMEOUT;
            let mut records = Vec::new();
            while !ends.is_empty() {
                let remaining = deadline.saturating_duration_since(std::time::Instant::now());
                if remaining.is_zero() {
                    return Err(BusError::Other(format!("timed out reading kafka topic {topic}")));
                }
                let message = match consumer.poll(remaining) {
                    None => continue,
                    // Offsets can have gaps (transaction markers): the end says "done".
                    Some(Err(KafkaError::PartitionEOF(partition))) => {
                        ends.remove(&partition);
                        continue;
                    }
                    Some(message) => message?,
                };
                let Some(&end) = ends.get(&message.partition()) else { continue };
                if message.offset() >= end {
                    continue;
                }
                if message.offset() + 1 >= end {
                    ends.remove(&message.partition());
                }
                records.push((message.timestamp().to_millis().unwrap_or(0), delivery_of(&message)));
            }
            records.sort_by_key(|(timestamp, delivery)| (*timestamp, delivery.partition, delivery.offset));
            Ok(records
                .into_iter()
                .map(|(_, delivery)| delivery)
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .collect())
        })
        .await
    }

    /// A consumer for one-off queries in `group`: never subscribes, never commits.
    fn query_consumer(&self, group: &str) -> Result<BaseConsumer, BusError> {
        Ok(self
            .cluster
            .config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .create()?)
    }

    /// Hands `record` to the producer, waiting (up to the message timeout) while its queue
    /// is full; the returned future resolves with the broker's answer.
    async fn enqueue(&self, record: &Record) -> Result<DeliveryFuture, KafkaError> {
        let deadline = tokio::time::Instant::now() + self.message_timeout;
        loop {
            let headers = record
                .headers
                .iter()
                .fold(OwnedHeaders::new_with_capacity(record.headers.len()), |headers, (key, value)| {
                    headers.insert(Header { key: key.as_str(), value: Some(value.as_str()) })
                });
            let message = FutureRecord::to(&record.topic)
                .key(record.key.as_str())
                .payload(record.payload.as_slice())
                .headers(headers);
            match self.producer.send_result(message) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _))
                    if tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err((error, _)) => return Err(error),
            }
        }
    }
}

impl Drop for KafkaBus {
    /// Dropping librdkafka's producer purges what is still queued: wait for it first.
    /// Nothing is normally left, since `publish` waits for its acknowledgements; this covers
    /// a publish that was cancelled midway. It blocks the dropping thread, briefly and only
    /// when records are in flight.
    fn drop(&mut self) {
        if let Err(error) = self.producer.flush(self.message_timeout.min(DROP_FLUSH_TIMEOUT)) {
            tracing::warn!(%error, "records still in flight when the kafka bus was dropped");
        }
    }
}

/// Creates `topics` through the admin API; topics that exist already are left alone.
async fn create_topics(
    cluster: &Cluster,
    topics: &BTreeSet<String>,
    partitions: i32,
    timeout: Duration,
) -> Result<(), BusError> {
    let admin: AdminClient<DefaultClientContext> = cluster.config().create()?;
    // -1: the brokers' default replication factor, which operators choose per cluster.
    let new_topics: Vec<NewTopic<'_>> =
        topics.iter().map(|topic| NewTopic::new(topic, partitions, TopicReplication::Fixed(-1))).collect();
    let options = AdminOptions::new().request_timeout(Some(timeout)).operation_timeout(Some(timeout));
    for result in admin.create_topics(&new_topics, &options).await? {
        match result {
            Ok(topic) => tracing::info!(topic, partitions, "created kafka topic"),
            Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => tracing::debug!(topic, "kafka topic exists"),
            Err((topic, code)) => return Err(BusError::Other(format!("creating kafka topic {topic}: {code}"))),
        }
    }
    Ok(())
}

/// Fails naming the first of `topics` the brokers do not have.
async fn check_topics(cluster: &Cluster, topics: &BTreeSet<String>) -> Result<(), BusError> {
    // Metadata only: no group, no subscription; consumers never auto-create topics.
    let client: BaseConsumer = cluster.config().create()?;
    let topics = topics.clone();
    blocking(move || {
        for topic in &topics {
            if partitions_of(&client, topic)?.is_empty() {
                return Err(BusError::Other(format!(
                    "kafka topic {topic} does not exist (MART_KAFKA_TOPICS=external: it must be provisioned first)"
                )));
            }
        }
        tracing::info!(topics = topics.len(), "kafka topics exist");
        Ok(())
    })
    .await
}

/// `duration` as librdkafka's millisecond settings want it.
fn millis(duration: Duration) -> String {
    duration.as_millis().to_string()
}

/// The partitions of `topic`; none when it does not exist.
fn partitions_of(consumer: &BaseConsumer, topic: &str) -> Result<Vec<i32>, BusError> {
    let metadata = consumer.fetch_metadata(Some(topic), QUERY_TIMEOUT)?;
    Ok(metadata
        .topics()
        .iter()
        .filter(|found| found.name() == topic && found.error().is_none())
        .flat_map(|found| found.partitions().iter().map(|partition| partition.id()))
        .collect())
}

/// Runs librdkafka calls that block on a thread meant for blocking.
async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> Result<T, BusError> + Send + 'static,
) -> Result<T, BusError> {
    tokio::task::spawn_blocking(job).await.map_err(|error| BusError::Other(format!("a kafka query failed: {error}")))?
}

// === consuming ===

/// Consumes for `processor` until `shutdown` turns true (or its sender is dropped), then
/// commits what was processed and leaves the group.
pub(super) async fn consume(bus: Arc<KafkaBus>, processor: Processor, mut shutdown: watch::Receiver<bool>) {
    let group = processor.group().to_owned();
    let consumer: StreamConsumer = match bus
        .cluster
        .config()
        .set("group.id", &group)
        // Offsets are stored by hand once the processor is done with a message; auto-commit
        // only writes what was stored.
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        // Members keep their partitions through a rebalance instead of all stopping.
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("session.timeout.ms", millis(bus.session_timeout))
        .set("fetch.wait.max.ms", millis(bus.fetch_wait_max))
        .set("reconnect.backoff.max.ms", millis(RECONNECT_BACKOFF_MAX))
        .create()
    {
        Ok(consumer) => consumer,
        Err(error) => {
            tracing::error!(group, %error, "cannot create the kafka consumer");
            return;
        }
    };
    let topics: Vec<&str> = processor.topics().iter().map(String::as_str).collect();
    if let Err(error) = consumer.subscribe(&topics) {
        tracing::error!(group, ?topics, %error, "cannot subscribe to kafka topics");
        return;
    }
    tracing::info!(group, ?topics, "kafka consumer started");

    loop {
        let received = tokio::select! {
            // Shutdown first: with a message ready too, stop rather than take another.
            biased;
            _ = shutdown.wait_for(|stop| *stop) => break,
            received = consumer.recv() => received,
        };
        let message = match received {
            Ok(message) => message,
            Err(error) => {
                // Transport trouble and the like; librdkafka reconnects by itself.
                tracing::warn!(group, %error, "kafka consumer error");
                tokio::select! {
                    biased;
                    _ = shutdown.wait_for(|stop| *stop) => break,
                    () = tokio::time::sleep(CONSUMER_ERROR_PAUSE) => continue,
                }
            }
        };
        let delivery = delivery_of(&message);
        match processor.process(&delivery).await {
            Ok(outcome) => {
                tracing::debug!(
                    group,
                    topic = delivery.record.topic,
                    delivery.partition,
                    delivery.offset,
                    ?outcome,
                    "processed"
                );
                // The handler's transaction committed (or the event is in the DLQ). Should
                // storing fail (the partition was revoked meanwhile), the next owner reads
                // the event again and the inbox deduplicates it.
                if let Err(error) = consumer.store_offset_from_message(&message) {
                    tracing::warn!(group, topic = delivery.record.topic, delivery.partition, delivery.offset, %error, "cannot store the offset");
                }
            }
            // Shutdown came during a backoff: the offset stays, the event comes again.
            Err(super::Stopped) => break,
        }
    }

    // librdkafka's commit and close block the calling thread until the broker answers.
    let closing = tokio::task::spawn_blocking(move || {
        match consumer.commit_consumer_state(CommitMode::Sync) {
            // Nothing was stored since the last commit.
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(error) => tracing::warn!(group, %error, "cannot commit kafka offsets on shutdown"),
        }
        consumer.unsubscribe();
        // Dropping closes the consumer: it leaves the group, so its partitions move at once.
        drop(consumer);
        group
    });
    match closing.await {
        Ok(group) => tracing::info!(group, "kafka consumer stopped"),
        Err(error) => tracing::error!(%error, "closing the kafka consumer failed"),
    }
}

/// The bus's view of a consumed message. A missing key reads as empty; header values as
/// UTF-8, with anything else replaced rather than rejected (the processor needs the
/// payload, headers are bookkeeping).
fn delivery_of<M: Message>(message: &M) -> Delivery {
    let headers = message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|header| {
                    (header.key.to_owned(), String::from_utf8_lossy(header.value.unwrap_or_default()).into_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    Delivery {
        record: Record {
            topic: message.topic().to_owned(),
            key: message.key().map(|key| String::from_utf8_lossy(key).into_owned()).unwrap_or_default(),
            payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            headers,
        },
        partition: message.partition(),
        offset: message.offset(),
    }
}

// === MockKafka ===

/// Work for the mock cluster's thread.
type MockJob = Box<dyn FnOnce(&MockCluster<'static, DefaultProducerContext>) + Send>;

/// librdkafka's mock cluster (real Kafka protocol over TCP on localhost), for tests.
///
/// `MockCluster` is neither `Send` nor `Sync`, so it lives on a thread of its own and this
/// handle sends it work. Cloning is cheap; the cluster shuts down when the last handle
/// (including the one a bus keeps in [`TopicCreation::Mock`]) is dropped.
#[derive(Clone)]
pub struct MockKafka {
    /// To the cluster's thread.
    jobs: std::sync::mpsc::Sender<MockJob>,
    /// Where clients connect.
    bootstrap_servers: String,
}

impl MockKafka {
    /// Starts a cluster of `brokers` brokers (ids 1 to `brokers`).
    pub async fn start(brokers: i32) -> Result<Self, BusError> {
        let (jobs, queue) = std::sync::mpsc::channel::<MockJob>();
        let (ready, started) = oneshot::channel();
        std::thread::Builder::new()
            .name("kafka-mock".to_owned())
            .spawn(move || {
                let cluster = match MockCluster::new(brokers) {
                    Ok(cluster) => cluster,
                    Err(error) => {
                        let _ = ready.send(Err(error));
                        return;
                    }
                };
                let _ = ready.send(Ok(cluster.bootstrap_servers()));
                // Until every handle is gone; the cluster is then dropped where it was made.
                while let Ok(job) = queue.recv() {
                    job(&cluster);
                }
            })
            .map_err(|error| BusError::Other(format!("starting the kafka mock cluster: {error}")))?;
        let bootstrap_servers = started.await.map_err(|_| mock_gone())??;
        Ok(Self { jobs, bootstrap_servers })
    }

    /// The cluster's `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap_servers
    }

    /// Runs `job` on the cluster (its thread), for any mock API this handle does not wrap.
    pub async fn with_cluster<T, F>(&self, job: F) -> Result<T, BusError>
    where
        T: Send + 'static,
        F: FnOnce(&MockCluster<'static, DefaultProducerContext>) -> T + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(move |cluster| {
                let _ = reply.send(job(cluster));
            }))
            .map_err(|_| mock_gone())?;
        answer.await.map_err(|_| mock_gone())
    }

    /// Creates `topic` with `partitions` partitions, unless it exists.
    pub async fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), BusError> {
        let name = topic.to_owned();
        match self.with_cluster(move |cluster| cluster.create_topic(&name, partitions, 1)).await? {
            Ok(()) => tracing::info!(topic, partitions, "created mock kafka topic"),
            Err(KafkaError::MockCluster(RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err(error) => return Err(error.into()),
        }
        Ok(())
    }

    /// Disconnects broker `id` and refuses new connections to it.
    pub async fn broker_down(&self, id: i32) -> Result<(), BusError> {
        Ok(self.with_cluster(move |cluster| cluster.broker_down(id)).await??)
    }

    /// Lets broker `id` accept connections again.
    pub async fn broker_up(&self, id: i32) -> Result<(), BusError> {
        Ok(self.with_cluster(move |cluster| cluster.broker_up(id)).await??)
    }
}

/// The mock cluster's thread ended (it failed to start or panicked).
fn mock_gone() -> BusError {
    BusError::Other("the kafka mock cluster is gone".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings for one topic on `mock`, provisioned outside the bus.
    fn external(mock: &MockKafka) -> KafkaSettings {
        KafkaSettings::new(mock.bootstrap_servers(), 2, vec!["orders".to_owned()], TopicCreation::External)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn client_properties_reach_every_client() {
        let mock = MockKafka::start(1).await.unwrap();
        // Properties librdkafka accepts: the bus connects with them.
        let plain = KafkaSettings {
            client: vec![("security.protocol".into(), "plaintext".into()), ("client.id".into(), "mart-test".into())],
            ..external(&mock)
        };
        mock.create_topic("orders", 2).await.unwrap();
        mock.create_topic("orders.dlq", 2).await.unwrap();
        KafkaBus::connect(plain).await.expect("connects with the properties");
        // One it refuses (a CA file that is not there): connecting fails, saying why.
        let broken = KafkaSettings {
            client: vec![
                ("security.protocol".into(), "ssl".into()),
                ("ssl.ca.location".into(), "/no/such/ca.pem".into()),
            ],
            ..external(&mock)
        };
        let Err(error) = KafkaBus::connect(broken).await else { panic!("connected without its CA") };
        // What managed clusters ask for is built in: TLS and SASL/SCRAM make a client.
        let secured = Cluster {
            brokers: mock.bootstrap_servers().to_owned(),
            client: [
                ("security.protocol", "sasl_ssl"),
                ("sasl.mechanism", "SCRAM-SHA-512"),
                ("sasl.username", "shop"),
                ("sasl.password", "secret"),
            ]
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .to_vec(),
        };
        let client: Result<BaseConsumer, _> = secured.config().create();
        assert!(client.is_ok(), "TLS and SASL are in this build: {:?}", client.err());
        assert!(error.to_string().contains("ssl.ca.location") || error.to_string().contains("ca.pem"), "{error}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn external_topics_are_checked_not_created() {
        let mock = MockKafka::start(1).await.unwrap();

        // Nothing provisioned: start-up stops, naming the topic.
        let Err(error) = KafkaBus::connect(external(&mock)).await else { panic!("connected without the topics") };
        assert!(error.to_string().contains("kafka topic orders does not exist"), "{error}");

        // The topic but not its dead-letter topic: still refused.
        mock.create_topic("orders", 2).await.unwrap();
        let Err(error) = KafkaBus::connect(external(&mock)).await else { panic!("connected without the DLQ") };
        assert!(error.to_string().contains("orders.dlq"), "{error}");

        // Both provisioned: the bus connects and publishes to them.
        mock.create_topic("orders.dlq", 2).await.unwrap();
        let bus = KafkaBus::connect(external(&mock)).await.unwrap();
        let record =
            Record { topic: "orders".to_owned(), key: "o-1".to_owned(), payload: b"x".to_vec(), headers: vec![] };
        bus.publish(&[record]).await.unwrap();
    }
}
