//! Operating the bus: how far behind consumers are, and what is in the dead-letter topics
//! (listed, and replayed once the cause is fixed). What `svc-user events …` prints, and
//! what `mart events …` will.

use super::{BusError, EventBus, Record, dlq_topic, headers};

/// How far behind a group is on one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionLag {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The next offset the group will read.
    pub next_offset: i64,
    /// Records at or after it: how many are waiting.
    pub waiting: u64,
}

/// A dead letter, as an operator reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    /// Where it sits in the `.dlq` topic: what `replay` takes.
    pub offset: i64,
    /// Its partition there.
    pub partition: i32,
    /// The envelope id.
    pub event_id: String,
    /// The envelope type.
    pub event_type: String,
    /// The consumer group that gave up.
    pub group: String,
    /// The last error.
    pub error: String,
    /// How many attempts were made.
    pub attempts: String,
    /// The topic, partition and offset it was read from.
    pub origin: String,
    /// The record itself.
    pub record: Record,
}

/// The whole bus at a glance: what [`EventBus::status`] reports.
#[derive(Clone, Debug, Default)]
pub struct BusStatus {
    /// Per consumer group and topic: events waiting, over every partition.
    pub lag: Vec<(String, String, u64)>,
    /// Per topic: its newest dead letters (newest first), and how many it has in all (up
    /// to [`COUNTED`]; more reads as that many).
    pub dead_letters: Vec<(String, Vec<DeadLetter>, u64)>,
}

/// How many dead letters of a topic [`EventBus::status`] reads to count them.
pub const COUNTED: u64 = 1000;

/// The header marking a record replayed from a dead letter (its DLQ offset).
pub const REPLAYED_FROM: &str = "mart-replayed-from";

impl EventBus {
    /// How far `group` is behind on each partition of `topics`.
    pub async fn consumer_lag(&self, group: &str, topics: &[String]) -> Result<Vec<PartitionLag>, BusError> {
        match self {
            EventBus::Embedded(bus) => Ok(bus.lag(group, topics).await?),
            EventBus::Kafka(bus) => bus.lag(group, topics).await,
        }
    }

    /// Every consumer group's lag on each topic it reads, and each topic's newest `listed`
    /// dead letters: the shop's bus as an operator's page shows it.
    pub async fn status(&self, listed: usize) -> Result<BusStatus, BusError> {
        let mut status = BusStatus::default();
        for consumer in crate::events::CONSUMERS {
            let topics: Vec<String> = consumer.topics.iter().map(|t| (*t).to_owned()).collect();
            let lag = self.consumer_lag(consumer.group, &topics).await?;
            for topic in consumer.topics {
                let waiting = lag.iter().filter(|l| l.topic == *topic).map(|l| l.waiting).sum();
                status.lag.push((consumer.group.to_owned(), (*topic).to_owned(), waiting));
            }
        }
        for topic in crate::events::TOPICS {
            let mut letters = self.dead_letters(topic, COUNTED).await?;
            let count = letters.len() as u64;
            letters.reverse();
            letters.truncate(listed);
            status.dead_letters.push((topic.to_owned(), letters, count));
        }
        Ok(status)
    }

    /// Up to `limit` dead letters of `topic` (its `.dlq`), oldest first.
    pub async fn dead_letters(&self, topic: &str, limit: u64) -> Result<Vec<DeadLetter>, BusError> {
        let records = match self {
            EventBus::Embedded(bus) => bus.read(&dlq_topic(topic), None, 0, limit).await?,
            EventBus::Kafka(bus) => bus.read_all(&dlq_topic(topic), limit).await?,
        };
        Ok(records
            .into_iter()
            .map(|delivery| {
                let header = |name| delivery.record.header(name).unwrap_or_default().to_owned();
                DeadLetter {
                    offset: delivery.offset,
                    partition: delivery.partition,
                    event_id: header(headers::EVENT_ID),
                    event_type: header(headers::EVENT_TYPE),
                    group: header(headers::DLQ_GROUP),
                    error: header(headers::DLQ_ERROR),
                    attempts: header(headers::DLQ_ATTEMPTS),
                    origin: format!(
                        "{}[{}]@{}",
                        header(headers::DLQ_TOPIC),
                        header(headers::DLQ_PARTITION),
                        header(headers::DLQ_OFFSET)
                    ),
                    record: delivery.record,
                }
            })
            .collect())
    }

    /// Publishes the dead letter at `offset` of `topic`'s DLQ to its original topic again.
    /// Groups that handled it already skip it (their inbox has it); the one that gave up
    /// gets another go.
    pub async fn replay_dead_letter(&self, topic: &str, partition: i32, offset: i64) -> Result<Record, BusError> {
        let letter = self
            .dead_letters(topic, u64::MAX)
            .await?
            .into_iter()
            .find(|letter| letter.offset == offset && letter.partition == partition)
            .ok_or_else(|| BusError::Other(format!("no dead letter at {}[{partition}]@{offset}", dlq_topic(topic))))?;
        let mut record = letter.record;
        record.topic = record.header(headers::DLQ_TOPIC).unwrap_or(topic).to_owned();
        record.headers.retain(|(name, _)| !name.starts_with("mart-dlq-") && name != REPLAYED_FROM);
        record.headers.push((REPLAYED_FROM.to_owned(), format!("{partition}@{offset}")));
        self.publish(std::slice::from_ref(&record)).await?;
        Ok(record)
    }
}
