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

use crate::events;

pub mod entity;
pub mod relay;

/// Records `envelope` in the outbox of the transaction (or connection) `db`.
///
/// Call it with the transaction that makes the change: the event becomes visible to the
/// relay exactly when that transaction commits.
pub async fn append<C: ConnectionTrait>(db: &C, envelope: &Envelope) -> Result<(), DbErr> {
    let payload =
        envelope.payload.as_ref().ok_or_else(|| DbErr::Custom(format!("event {} has no payload", envelope.id)))?;
    entity::ActiveModel {
        event_id: Set(envelope.id.clone()),
        topic: Set(events::topic_of(payload).to_owned()),
        aggregate_id: Set(envelope.aggregate_id.clone()),
        event_type: Set(envelope.r#type.clone()),
        payload: Set(envelope.encode_to_vec()),
        // The trace context slot: filled from the current span once trace export exists.
        traceparent: Set(None),
        tracestate: Set(None),
        created_at: Set(Utc::now()),
        sent_at: Set(None),
        ..Default::default()
    }
    .insert(db)
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
