//! The transactional outbox: a service records each domain event in its own database, in
//! the same transaction as the state change it describes. Either both commit or neither
//! does, so no event is announced for a change that rolled back and no change goes
//! unannounced. The relay that ships committed rows to the bus reads this table.
//!
//! Every service includes [`Migration`] in its migrator, and writes with [`append`].

use chrono::Utc;
use mart_proto::events::Envelope;
use prost::Message;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};
use sea_orm_migration::prelude::*;
use tracing::Instrument as _;

use crate::{events, telemetry};

pub mod entity;
pub mod relay;

/// Records `envelope` in the outbox of the transaction (or connection) `db`.
///
/// Call it with the transaction that makes the change: the event becomes visible to the
/// relay exactly when that transaction commits.
///
/// The row keeps the trace context of an `outbox.append` span under the current one: the
/// consumers of the event continue that trace, however much later they run.
pub async fn append<C: ConnectionTrait>(db: &C, envelope: &Envelope) -> Result<(), DbErr> {
    append_continuing(db, envelope, None).await
}

/// [`append`], continuing the trace `trace` names (a saga's, stored with its aggregate)
/// rather than the current span's, which is linked instead: the event belongs to the story
/// that began elsewhere, and its consumers join that story. With `None`, as [`append`].
pub async fn append_continuing<C: ConnectionTrait>(
    db: &C,
    envelope: &Envelope,
    trace: Option<&str>,
) -> Result<(), DbErr> {
    let payload =
        envelope.payload.as_ref().ok_or_else(|| DbErr::Custom(format!("event {} has no payload", envelope.id)))?;
    let topic = events::topic_of(payload);
    let span = tracing::info_span!(
        "outbox.append",
        otel.name = %format_args!("{topic} append"),
        otel.kind = "producer",
        messaging.destination.name = topic,
        messaging.message.id = %envelope.id,
        event.r#type = %envelope.r#type,
    );
    if let Some(trace) = trace {
        telemetry::resume(&span, trace);
    }
    let (traceparent, tracestate) = match span.in_scope(telemetry::current_trace_context) {
        Some((traceparent, tracestate)) => (Some(traceparent), tracestate),
        None => (None, None),
    };
    entity::ActiveModel {
        event_id: Set(envelope.id.clone()),
        topic: Set(topic.to_owned()),
        aggregate_id: Set(envelope.aggregate_id.clone()),
        event_type: Set(envelope.r#type.clone()),
        payload: Set(envelope.encode_to_vec()),
        traceparent: Set(traceparent),
        tracestate: Set(tracestate),
        created_at: Set(Utc::now()),
        sent_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .instrument(span)
    .await?;
    Ok(())
}

/// Creates the `outbox` table. Services list it first in their migrator.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m00000000_000000_platform_outbox"
    }
}

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use entity::Column;
        manager
            .create_table(
                Table::create()
                    .table(entity::Entity)
                    .if_not_exists()
                    .col(ColumnDef::new(Column::Seq).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Column::EventId).string().not_null().unique_key())
                    .col(ColumnDef::new(Column::Topic).string().not_null())
                    .col(ColumnDef::new(Column::AggregateId).string().not_null())
                    .col(ColumnDef::new(Column::EventType).string().not_null())
                    .col(ColumnDef::new(Column::Payload).blob().not_null())
                    .col(ColumnDef::new(Column::Traceparent).string().null())
                    .col(ColumnDef::new(Column::Tracestate).string().null())
                    .col(ColumnDef::new(Column::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Column::SentAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        // The relay's question is "the oldest unsent rows": keep it an index scan.
        manager
            .create_index(
                Index::create()
                    .name("outbox_unsent")
                    .table(entity::Entity)
                    .col(Column::SentAt)
                    .col(Column::Seq)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(entity::Entity).to_owned()).await
    }
}
