//! The `outbox` row.

use sea_orm::entity::prelude::*;

/// One event waiting to be (or already) shipped to the bus.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    /// Insertion order: the relay ships in this order, which keeps each aggregate's events
    /// in the order its transactions committed them.
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// The envelope id (UUIDv7): what consumers deduplicate on.
    #[sea_orm(unique)]
    pub event_id: String,
    /// The bus topic, `mart.user.events`.
    pub topic: String,
    /// The message key on the bus, so one aggregate's events stay in order.
    pub aggregate_id: String,
    /// The payload's full message name, for operators reading the table.
    pub event_type: String,
    /// The protobuf-encoded `mart.events.v1.Envelope`.
    pub payload: Vec<u8>,
    /// W3C trace context of the transaction that wrote the event.
    pub traceparent: Option<String>,
    /// W3C trace state, alongside `traceparent`.
    pub tracestate: Option<String>,
    /// When the change committed.
    pub created_at: DateTimeUtc,
    /// When the broker acknowledged it; `None` while unsent.
    pub sent_at: Option<DateTimeUtc>,
}

/// No relations: the outbox stands apart from the service's own tables.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
