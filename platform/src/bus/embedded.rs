//! The embedded backend: a durable log in a SQL database (a SQLite file in the data dir by
//! default, PostgreSQL also works), shared by the services of one process and by several
//! processes on one host. Same semantics as Kafka:
//!
//! - `event_log` holds every record with a global, increasing id; a record's partition is
//!   a hash of its key, so one key's records stay in one partition, in order;
//! - `event_offsets` holds, per (group, topic, partition), the id to read next;
//! - `event_members` and `event_leases` let the consumers of one group split the partitions
//!   between them: each member heartbeats, computes the same round-robin assignment from
//!   the live members, and processes only the partitions whose lease it holds.
//!
//! Appends wake consumers of the same process at once (a watch channel); consumers in
//! other processes notice within the poll interval.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
    sea_query::{Expr, OnConflict},
};
use sea_orm_migration::MigratorTrait;
use tokio::sync::watch;

use super::{Delivery, Processor, Record, ops::PartitionLag};

mod schema;

use schema::{leases, log, members, offsets};

/// Records fetched per partition per round.
const BATCH: u64 = 100;

/// The clocks of the embedded consumers.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// How often members heartbeat and rebalance.
    pub heartbeat: Duration,
    /// A lease not renewed for this long may be taken over (a crashed member's partitions
    /// wait this long). Longer than the slowest handler with its retries.
    pub lease_ttl: Duration,
    /// How often idle consumers look for records appended by other processes.
    pub poll: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self { heartbeat: Duration::from_secs(1), lease_ttl: Duration::from_secs(30), poll: Duration::from_millis(100) }
    }
}
/// Serialises appends on PostgreSQL so ids become visible in order (a reader must never
/// see id 8 before id 7 commits).
const APPEND_LOCK: i64 = 7_243_001;

/// The embedded event log.
pub struct EmbeddedBus {
    db: DatabaseConnection,
    partitions: u32,
    /// Bumped after each append, to wake this process's consumers.
    appended: watch::Sender<u64>,
    timing: Timing,
}

impl EmbeddedBus {
    /// Opens (creating if needed) the log at `url`, with `partitions` per topic.
    pub async fn open(url: &str, partitions: u32) -> Result<Arc<Self>, DbErr> {
        Self::open_with(url, partitions, Timing::default()).await
    }

    /// [`EmbeddedBus::open`] with other clocks.
    pub async fn open_with(url: &str, partitions: u32, timing: Timing) -> Result<Arc<Self>, DbErr> {
        let db = crate::db::connect(url).await?;
        schema::Migrator::up(&db, None).await?;
        Ok(Arc::new(Self { db, partitions: partitions.max(1), appended: watch::channel(0).0, timing }))
    }

    /// The partition of `key`: FNV-1a, so every process agrees.
    pub fn partition_of(&self, key: &str) -> i32 {
        let hash = key.bytes().fold(0x811c_9dc5_u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193));
        (hash % self.partitions) as i32
    }

    /// Appends `records` in one transaction; durable when this returns.
    pub async fn append(&self, records: &[Record]) -> Result<(), DbErr> {
        if records.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let rows = records
            .iter()
            .map(|record| {
                Ok(log::ActiveModel {
                    topic: Set(record.topic.clone()),
                    partition: Set(self.partition_of(&record.key)),
                    key: Set(record.key.clone()),
                    payload: Set(record.payload.clone()),
                    headers: Set(serde_json::to_string(&record.headers).map_err(|e| DbErr::Custom(e.to_string()))?),
                    appended_at: Set(now),
                    ..Default::default()
                })
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        let txn = self.db.begin().await?;
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({APPEND_LOCK})")).await?;
        }
        log::Entity::insert_many(rows).exec(&txn).await?;
        txn.commit().await?;
        self.appended.send_modify(|n| *n = n.wrapping_add(1));
        Ok(())
    }

    /// Deletes records appended longer than `retention` ago, read or not (as Kafka's
    /// `retention.ms` does): the log does not keep events, and the personal data some carry,
    /// forever. Offsets are unchanged. How many went.
    pub async fn prune(&self, retention: std::time::Duration) -> Result<u64, DbErr> {
        let cutoff = crate::db::cutoff(retention);
        let pruned = log::Entity::delete_many().filter(log::Column::AppendedAt.lt(cutoff)).exec(&self.db).await?;
        Ok(pruned.rows_affected)
    }

    /// Up to `limit` records of `topic` (one partition, or all), from offset `from` on.
    pub async fn read(
        &self,
        topic: &str,
        partition: Option<i32>,
        from: i64,
        limit: u64,
    ) -> Result<Vec<Delivery>, DbErr> {
        let mut query = log::Entity::find().filter(log::Column::Topic.eq(topic)).filter(log::Column::Id.gte(from));
        if let Some(partition) = partition {
            query = query.filter(log::Column::Partition.eq(partition));
        }
        // The drivers bind limits as i64; a larger "no limit" must not overflow.
        let limit = limit.min(i64::MAX as u64);
        let rows = query.order_by_asc(log::Column::Id).limit(limit).all(&self.db).await?;
        rows.into_iter()
            .map(|row| {
                let headers =
                    serde_json::from_str(&row.headers).map_err(|e| DbErr::Custom(format!("record {}: {e}", row.id)))?;
                Ok(Delivery {
                    record: Record { topic: row.topic, key: row.key, payload: row.payload, headers },
                    partition: row.partition,
                    offset: row.id,
                })
            })
            .collect()
    }

    /// How far `group` is behind on every partition of `topics`.
    pub async fn lag(&self, group: &str, topics: &[String]) -> Result<Vec<PartitionLag>, DbErr> {
        let mut lags = Vec::new();
        for topic in topics {
            for partition in 0..self.partitions as i32 {
                let next_offset = self.committed(group, topic, partition).await?;
                let waiting = log::Entity::find()
                    .filter(log::Column::Topic.eq(topic.as_str()))
                    .filter(log::Column::Partition.eq(partition))
                    .filter(log::Column::Id.gte(next_offset))
                    .count(&self.db)
                    .await?;
                lags.push(PartitionLag { topic: topic.clone(), partition, next_offset, waiting });
            }
        }
        Ok(lags)
    }

    /// The offset `group` reads next on a partition (0, the start, when it never read).
    async fn committed(&self, group: &str, topic: &str, partition: i32) -> Result<i64, DbErr> {
        Ok(offsets::Entity::find_by_id((group.to_owned(), topic.to_owned(), partition))
            .one(&self.db)
            .await?
            .map_or(0, |row| row.next_offset))
    }

    /// Stores `next` as the offset `group` reads next; never moves an offset backwards.
    async fn commit(&self, group: &str, topic: &str, partition: i32, next: i64) -> Result<(), DbErr> {
        let row = offsets::ActiveModel {
            group_name: Set(group.to_owned()),
            topic: Set(topic.to_owned()),
            partition: Set(partition),
            next_offset: Set(next),
        };
        offsets::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([offsets::Column::GroupName, offsets::Column::Topic, offsets::Column::Partition])
                    .update_column(offsets::Column::NextOffset)
                    .action_and_where(
                        Expr::col((offsets::Entity, offsets::Column::NextOffset))
                            .lt(Expr::cust("excluded.next_offset")),
                    )
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        Ok(())
    }
}

// === consuming ===

/// One consumer in a group: its identity and the partitions it holds.
struct Member {
    bus: Arc<EmbeddedBus>,
    id: String,
    group: String,
    topics: Vec<String>,
    /// Held partitions and the offset to read next in each.
    owned: BTreeMap<(String, i32), i64>,
}

/// Consumes for `processor` until `shutdown` turns true.
pub(super) async fn consume(bus: Arc<EmbeddedBus>, processor: Processor, mut shutdown: watch::Receiver<bool>) {
    let mut appended = bus.appended.subscribe();
    let mut member = Member {
        bus: bus.clone(),
        id: uuid::Uuid::now_v7().to_string(),
        group: processor.group().to_owned(),
        topics: processor.topics().to_vec(),
        owned: BTreeMap::new(),
    };
    let mut next_heartbeat = Instant::now();
    'run: while !*shutdown.borrow() {
        let mut progressed = false;
        let partitions: Vec<_> = member.owned.keys().cloned().collect();
        for (topic, partition) in partitions {
            if Instant::now() >= next_heartbeat {
                member.heartbeat().await;
                next_heartbeat = Instant::now() + bus.timing.heartbeat;
            }
            let Some(&next) = member.owned.get(&(topic.clone(), partition)) else { continue };
            let batch = match bus.read(&topic, Some(partition), next, BATCH).await {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::warn!(%error, topic, partition, "cannot read the event log");
                    continue;
                }
            };
            for delivery in batch {
                if processor.process(&delivery).await.is_err() {
                    break 'run;
                }
                // The handler's transaction committed (or the event is in the DLQ): move on.
                // Should storing fail, the event is delivered again later and deduplicated.
                if let Err(error) = bus.commit(&member.group, &topic, partition, delivery.offset + 1).await {
                    tracing::warn!(%error, group = member.group, "cannot store the offset");
                }
                member.owned.insert((topic.clone(), partition), delivery.offset + 1);
                progressed = true;
                if *shutdown.borrow() {
                    break 'run;
                }
                if Instant::now() >= next_heartbeat {
                    member.heartbeat().await;
                    next_heartbeat = Instant::now() + bus.timing.heartbeat;
                    if !member.owned.contains_key(&(topic.clone(), partition)) {
                        break;
                    }
                }
            }
        }
        if Instant::now() >= next_heartbeat {
            member.heartbeat().await;
            next_heartbeat = Instant::now() + bus.timing.heartbeat;
            continue;
        }
        if !progressed {
            let wait = bus.timing.poll.min(next_heartbeat.saturating_duration_since(Instant::now()));
            tokio::select! {
                _ = appended.changed() => {}
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
    member.leave().await;
}

impl Member {
    /// Says "alive", and takes or gives back partitions so that the live members split
    /// them round-robin. Failures are logged and retried at the next heartbeat.
    async fn heartbeat(&mut self) {
        if let Err(error) = self.rebalance().await {
            tracing::warn!(%error, group = self.group, "event consumer heartbeat failed");
        }
    }

    async fn rebalance(&mut self) -> Result<(), DbErr> {
        let db = &self.bus.db;
        let now = Utc::now();
        // A member is gone when its lease would have lapsed.
        let ttl = chrono::Duration::from_std(self.bus.timing.lease_ttl).unwrap_or(chrono::Duration::seconds(30));
        members::Entity::insert(members::ActiveModel {
            group_name: Set(self.group.clone()),
            member_id: Set(self.id.clone()),
            heartbeat_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([members::Column::GroupName, members::Column::MemberId])
                .update_column(members::Column::HeartbeatAt)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        members::Entity::delete_many()
            .filter(members::Column::GroupName.eq(self.group.as_str()))
            .filter(members::Column::HeartbeatAt.lt(now - ttl))
            .exec(db)
            .await?;
        let live: Vec<String> = members::Entity::find()
            .filter(members::Column::GroupName.eq(self.group.as_str()))
            .order_by_asc(members::Column::MemberId)
            .all(db)
            .await?
            .into_iter()
            .map(|m| m.member_id)
            .collect();
        let me = live.iter().position(|id| *id == self.id).unwrap_or(0);
        let all: Vec<(String, i32)> = self
            .topics
            .iter()
            .flat_map(|topic| (0..self.bus.partitions as i32).map(move |p| (topic.clone(), p)))
            .collect();
        let desired: BTreeSet<(String, i32)> =
            all.into_iter().enumerate().filter(|(i, _)| i % live.len().max(1) == me).map(|(_, p)| p).collect();

        let released: Vec<_> = self.owned.keys().filter(|p| !desired.contains(*p)).cloned().collect();
        for (topic, partition) in released {
            self.owned.remove(&(topic.clone(), partition));
            leases::Entity::delete_many()
                .filter(leases::Column::GroupName.eq(self.group.as_str()))
                .filter(leases::Column::Topic.eq(topic.as_str()))
                .filter(leases::Column::Partition.eq(partition))
                .filter(leases::Column::MemberId.eq(self.id.as_str()))
                .exec(db)
                .await?;
        }
        let expires = now + ttl;
        for (topic, partition) in desired {
            let held = self.lease(&topic, partition, now, expires).await?;
            let key = (topic.clone(), partition);
            match (held, self.owned.contains_key(&key)) {
                (true, false) => {
                    let next = self.bus.committed(&self.group, &topic, partition).await?;
                    self.owned.insert(key, next);
                }
                (false, true) => {
                    self.owned.remove(&key);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Renews or takes the lease on a partition; whether this member holds it now.
    async fn lease(
        &self,
        topic: &str,
        partition: i32,
        now: chrono::DateTime<Utc>,
        expires: chrono::DateTime<Utc>,
    ) -> Result<bool, DbErr> {
        let db = &self.bus.db;
        let renewed = leases::Entity::update_many()
            .col_expr(leases::Column::MemberId, Expr::value(self.id.clone()))
            .col_expr(leases::Column::ExpiresAt, Expr::value(expires))
            .filter(leases::Column::GroupName.eq(self.group.as_str()))
            .filter(leases::Column::Topic.eq(topic))
            .filter(leases::Column::Partition.eq(partition))
            .filter(leases::Column::MemberId.eq(self.id.as_str()).or(leases::Column::ExpiresAt.lt(now)))
            .exec(db)
            .await?;
        if renewed.rows_affected == 1 {
            return Ok(true);
        }
        let inserted = leases::Entity::insert(leases::ActiveModel {
            group_name: Set(self.group.clone()),
            topic: Set(topic.to_owned()),
            partition: Set(partition),
            member_id: Set(self.id.clone()),
            expires_at: Set(expires),
        })
        .on_conflict(
            OnConflict::columns([leases::Column::GroupName, leases::Column::Topic, leases::Column::Partition])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        Ok(inserted == 1)
    }

    /// Gives every partition back at once, so the rest of the group takes over without
    /// waiting for leases to expire.
    async fn leave(&self) {
        let db = &self.bus.db;
        let result = async {
            leases::Entity::delete_many()
                .filter(leases::Column::GroupName.eq(self.group.as_str()))
                .filter(leases::Column::MemberId.eq(self.id.as_str()))
                .exec(db)
                .await?;
            members::Entity::delete_many()
                .filter(members::Column::GroupName.eq(self.group.as_str()))
                .filter(members::Column::MemberId.eq(self.id.as_str()))
                .exec(db)
                .await?;
            Ok::<_, DbErr>(())
        }
        .await;
        if let Err(error) = result {
            tracing::warn!(%error, group = self.group, "leaving the consumer group");
        }
    }
}
