//! The `closed_orders` table: orders cancelled before their payment was opened. A tombstone
//! each, so that an OrderAwaitingPayment that arrives later (late, redelivered or replayed
//! from the DLQ) opens nothing anyone could pay.

use chrono::Utc;
use mart_platform::db;
use sea_orm::{Set, entity::prelude::*};

/// An order that will never be paid.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "closed_orders")]
pub struct Model {
    /// The order.
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_id: String,
    /// Why it was cancelled.
    pub reason: String,
    /// When svc-payment learnt of it.
    pub closed_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records that `order_id` was cancelled with no payment open; once.
pub async fn close<C: ConnectionTrait>(db: &C, order_id: &str, reason: &str) -> Result<(), DbErr> {
    let row = ActiveModel {
        order_id: Set(order_id.to_owned()),
        reason: Set(reason.chars().take(500).collect()),
        closed_at: Set(Utc::now()),
    };
    db::insert_once(db, row, [Column::OrderId]).await?;
    Ok(())
}

/// Whether `order_id` was cancelled before its payment was opened.
pub async fn is_closed<C: ConnectionTrait>(db: &C, order_id: &str) -> Result<bool, DbErr> {
    Ok(Entity::find_by_id(order_id.to_owned()).one(db).await?.is_some())
}
