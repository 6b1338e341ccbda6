//! The relay: ships committed outbox rows to the bus, in order, and marks them sent only
//! after the bus acknowledged them. A crash between the two sends them again on restart —
//! a duplicate the consumers' inbox absorbs, never a loss.
//!
//! On PostgreSQL rows are claimed with `FOR UPDATE SKIP LOCKED` inside a transaction that
//! also holds an advisory lock: any number of replicas may run a relay, one ships at a time,
//! so one aggregate's events can never overtake each other. SQLite has one writer anyway.
//!
//! The relay sleeps until [`RelayWaker::wake`] (called after a commit that appended events)
//! or a poll interval, whichever is first.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, TransactionTrait,
    sea_query::{Expr, LockBehavior, LockType},
};
use tokio::sync::watch;
use tracing::Instrument as _;

use super::entity;
use crate::{
    bus::{BusError, EventBus, Metrics, Record, headers},
    retry::Backoff,
    telemetry,
};

/// The wait after failed rounds: 200 ms after the first, doubling up to 10 s.
const RETRY: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));

/// Only one relay per service database ships at a time (PostgreSQL advisory lock key).
const RELAY_LOCK: i64 = 7_243_002;

/// Tells the relay that new rows committed: call `wake` after a commit that appended events.
pub type RelayWaker = crate::wake::Waker;

/// Why a relay round failed; it is retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The service database failed.
    #[error("outbox: {0}")]
    Database(#[from] DbErr),
    /// The bus did not take the batch.
    #[error("publishing: {0}")]
    Bus(#[from] BusError),
}

/// Relay settings.
#[derive(Clone)]
pub struct RelayConfig {
    /// Rows per round.
    pub batch_size: u64,
    /// How long sent rows are kept before pruning.
    pub retention: Duration,
    /// The longest sleep without a wake-up (rows committed by other processes, retries).
    pub poll: Duration,
    /// Where to report shipped batches and failures, if anywhere.
    pub metrics: Option<Arc<dyn Metrics>>,
    /// Whose outbox this is (`svc-order`): the service its `outbox.relay` spans belong to.
    pub service: Option<&'static str>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            batch_size: 200,
            retention: Duration::from_secs(7 * 24 * 3600),
            poll: Duration::from_millis(500),
            metrics: None,
            service: None,
        }
    }
}

/// Ships one service's outbox to the bus.
pub struct Relay {
    db: DatabaseConnection,
    bus: EventBus,
    waker: RelayWaker,
    config: RelayConfig,
}

/// How far the relay is behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayLag {
    /// Rows not yet sent.
    pub unsent: u64,
    /// Age of the oldest unsent row.
    pub oldest: Option<Duration>,
}

impl Relay {
    /// A relay from `db`'s outbox to `bus`, woken by `waker`.
    pub fn new(db: DatabaseConnection, bus: EventBus, waker: RelayWaker, config: RelayConfig) -> Self {
        Self { db, bus, waker, config }
    }

    /// Runs until `shutdown` turns true, then ships what is left (one last round) and ends.
    pub fn spawn(self, shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run(shutdown))
    }

    async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut failures = 0u32;
        let mut last_prune: Option<tokio::time::Instant> = None;
        loop {
            if *shutdown.borrow() {
                // Flush: ship what committed before the signal, if the bus takes it.
                while let Ok(n) = self.relay_once().await {
                    if n == 0 {
                        break;
                    }
                }
                return;
            }
            let wait = match self.relay_once().await {
                Ok(n) if n as u64 >= self.config.batch_size => {
                    failures = 0;
                    continue;
                }
                Ok(_) => {
                    failures = 0;
                    self.config.poll
                }
                Err(error) => {
                    failures += 1;
                    tracing::warn!(%error, failures, "outbox relay round failed; retrying");
                    RETRY.after(failures + 1)
                }
            };
            if last_prune.is_none_or(|at| at.elapsed() > Duration::from_secs(3600)) {
                match prune(&self.db, self.config.retention).await {
                    Ok(pruned) if pruned > 0 => tracing::info!(pruned, "pruned sent outbox rows"),
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "pruning the outbox"),
                }
                last_prune = Some(tokio::time::Instant::now());
            }
            tokio::select! {
                () = self.waker.woken() => {}
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Ships up to one batch; how many rows it shipped.
    pub async fn relay_once(&self) -> Result<usize, RelayError> {
        if self.db.get_database_backend() == DatabaseBackend::Postgres {
            let txn = self.db.begin().await?;
            let locked = txn
                .query_one(Statement::from_string(
                    DatabaseBackend::Postgres,
                    format!("SELECT pg_try_advisory_xact_lock({RELAY_LOCK}) AS locked"),
                ))
                .await?
                .map(|row| row.try_get::<bool>("", "locked"))
                .transpose()?
                .unwrap_or(false);
            if !locked {
                // Another replica is shipping; it will get these rows too.
                return Ok(0);
            }
            let rows = unsent(self.config.batch_size)
                .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
                .all(&txn)
                .await?;
            let shipped = self.ship(&txn, rows).await?;
            txn.commit().await?;
            Ok(shipped)
        } else {
            let rows = unsent(self.config.batch_size).all(&self.db).await?;
            self.ship(&self.db, rows).await
        }
    }

    async fn ship<C: ConnectionTrait>(&self, db: &C, rows: Vec<entity::Model>) -> Result<usize, RelayError> {
        if rows.is_empty() {
            return Ok(0);
        }
        // A round ships events of many traces: its span starts a trace of its own, linked
        // to each event's (the consumers continue the events' traces through the headers).
        let span = tracing::info_span!(
            "outbox.relay",
            otel.kind = "producer",
            otel.status_code = tracing::field::Empty,
            messaging.batch.message_count = rows.len(),
        );
        if let Some(service) = self.config.service {
            telemetry::adopt(&span, service, opentelemetry::Context::new());
        }
        for row in &rows {
            telemetry::link(&span, row.traceparent.as_deref());
        }
        let records: Vec<Record> = rows.iter().map(|row| record_of(row, self.config.service)).collect();
        if let Err(error) = self.bus.publish(&records).instrument(span.clone()).await {
            span.record("otel.status_code", "ERROR");
            if let Some(metrics) = &self.config.metrics {
                metrics.relay_failed();
            }
            return Err(error.into());
        }
        mark_sent(db, rows.iter().map(|row| row.seq)).instrument(span).await?;
        if let Some(metrics) = &self.config.metrics {
            metrics.relay_shipped(rows.len());
        }
        Ok(rows.len())
    }

    /// How far behind the relay is.
    pub async fn lag(&self) -> Result<RelayLag, DbErr> {
        lag(&self.db).await
    }
}

/// How far behind the relay of `db`'s outbox is.
pub async fn lag<C: ConnectionTrait>(db: &C) -> Result<RelayLag, DbErr> {
    let unsent = entity::Entity::find().filter(entity::Column::SentAt.is_null()).count(db).await?;
    let oldest = entity::Entity::find()
        .filter(entity::Column::SentAt.is_null())
        .order_by_asc(entity::Column::Seq)
        .one(db)
        .await?
        .map(|row| (Utc::now() - row.created_at).to_std().unwrap_or_default());
    Ok(RelayLag { unsent, oldest })
}

/// Publishes up to `limit` unsent rows without marking them sent: what a relay that
/// crashed after sending left behind. For tests of exactly that.
pub async fn publish_without_marking(db: &DatabaseConnection, bus: &EventBus, limit: u64) -> Result<usize, RelayError> {
    let rows = unsent(limit).all(db).await?;
    bus.publish(&rows.iter().map(|row| record_of(row, None)).collect::<Vec<_>>()).await?;
    Ok(rows.len())
}

fn unsent(limit: u64) -> sea_orm::Select<entity::Entity> {
    entity::Entity::find().filter(entity::Column::SentAt.is_null()).order_by_asc(entity::Column::Seq).limit(limit)
}

fn record_of(row: &entity::Model, producer: Option<&'static str>) -> Record {
    let mut headers = vec![
        (headers::EVENT_ID.to_owned(), row.event_id.clone()),
        (headers::EVENT_TYPE.to_owned(), row.event_type.clone()),
    ];
    if let Some(producer) = producer {
        headers.push((headers::PRODUCER.to_owned(), producer.to_owned()));
    }
    if let Some(traceparent) = &row.traceparent {
        headers.push((headers::TRACEPARENT.to_owned(), traceparent.clone()));
    }
    if let Some(tracestate) = &row.tracestate {
        headers.push((headers::TRACESTATE.to_owned(), tracestate.clone()));
    }
    Record { topic: row.topic.clone(), key: row.aggregate_id.clone(), payload: row.payload.clone(), headers }
}

async fn mark_sent<C: ConnectionTrait>(db: &C, seqs: impl IntoIterator<Item = i64>) -> Result<(), DbErr> {
    entity::Entity::update_many()
        .col_expr(entity::Column::SentAt, Expr::value(Utc::now()))
        .filter(entity::Column::Seq.is_in(seqs))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes rows sent more than `retention` ago; how many.
pub async fn prune<C: ConnectionTrait>(db: &C, retention: Duration) -> Result<u64, DbErr> {
    let cutoff = crate::db::cutoff(retention);
    let result = entity::Entity::delete_many().filter(entity::Column::SentAt.lt(cutoff)).exec(db).await?;
    Ok(result.rows_affected)
}
