//! The `order_history` table: every transition of an order and every event about it that
//! changed nothing (a payment for an order already cancelled, a refund), with when, who
//! and why. Written in the transaction of what it records.

use chrono::Utc;
use sea_orm::{QueryOrder, Set, entity::prelude::*};

use crate::domain::{Actor, OrderStatus};

/// One entry of an order's history.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_history")]
pub struct Model {
    /// UUIDv7: the history's order.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The order.
    pub order_id: String,
    /// The status before; absent when the order was created.
    pub from_status: Option<String>,
    /// The status after; equal to `from_status` when nothing moved.
    pub to_status: String,
    /// Who: `user:<id>`, `admin:<id>`, `svc-inventory`, `svc-payment`, `payment-deadline`.
    pub actor: String,
    /// What happened, in words.
    pub note: String,
    /// The event behind it, if one was.
    pub event_id: Option<String>,
    /// When.
    pub created_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// What to record.
#[derive(Debug)]
pub struct Entry<'a> {
    /// The order.
    pub order_id: &'a str,
    /// The status before, if any.
    pub from: Option<OrderStatus>,
    /// The status after.
    pub to: OrderStatus,
    /// Who.
    pub actor: &'a Actor,
    /// What happened.
    pub note: &'a str,
    /// The event behind it.
    pub event_id: Option<&'a str>,
}

/// Records `entry`.
pub async fn record<C: ConnectionTrait>(db: &C, entry: Entry<'_>) -> Result<(), DbErr> {
    ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        order_id: Set(entry.order_id.to_owned()),
        from_status: Set(entry.from.map(|s| s.as_str().to_owned())),
        to_status: Set(entry.to.as_str().to_owned()),
        actor: Set(entry.actor.describe()),
        note: Set(entry.note.to_owned()),
        event_id: Set(entry.event_id.map(ToOwned::to_owned)),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The history of `order_id`, oldest first.
pub async fn of<C: ConnectionTrait>(db: &C, order_id: &str) -> Result<Vec<Model>, DbErr> {
    Entity::find().filter(Column::OrderId.eq(order_id)).order_by_asc(Column::Id).all(db).await
}
