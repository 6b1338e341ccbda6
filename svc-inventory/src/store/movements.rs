//! The `movements` table: the ledger, per variant. Every change to a variant's stock level
//! writes one row with both deltas and the level after it, so `on_hand` always equals the
//! sum of its deltas.

use chrono::Utc;
use sea_orm::{QueryOrder, QuerySelect, Set, entity::prelude::*};

use crate::domain::MovementKind;

/// One change to a variant's stock.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "movements")]
pub struct Model {
    /// UUIDv7: the ledger's order.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The product.
    pub product_id: String,
    /// The variant: its ledger is these rows, in id order (indexed).
    pub variant_id: String,
    /// What happened (`MovementKind`).
    pub kind: String,
    /// Change to on hand.
    pub on_hand_delta: i64,
    /// Change to reserved.
    pub reserved_delta: i64,
    /// On hand after the change.
    pub on_hand_after: i64,
    /// Reserved after the change.
    pub reserved_after: i64,
    /// Why: the admin's reason, or what the event was.
    pub reason: String,
    /// The order behind it, for reservations, releases and sales.
    pub order_id: Option<String>,
    /// The admin behind it, for adjustments and stock takes.
    pub actor_id: Option<String>,
    /// When.
    pub created_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// What a movement records, besides the level after it.
#[derive(Debug)]
pub struct Movement<'a> {
    /// The variant.
    pub variant_id: &'a str,
    /// What happened.
    pub kind: MovementKind,
    /// Change to on hand.
    pub on_hand_delta: i64,
    /// Change to reserved.
    pub reserved_delta: i64,
    /// Why.
    pub reason: &'a str,
    /// The order, if any.
    pub order_id: Option<&'a str>,
    /// The admin, if any.
    pub actor_id: Option<&'a str>,
}

/// Records `movement`, reading the level it left (the caller's transaction holds the row);
/// that level, for the announcement.
pub async fn record<C: ConnectionTrait>(db: &C, movement: Movement<'_>) -> Result<super::stock::Model, DbErr> {
    let level = super::stock::find(db, movement.variant_id)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("stock of {}", movement.variant_id)))?;
    ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        product_id: Set(level.product_id.clone()),
        variant_id: Set(level.variant_id.clone()),
        kind: Set(movement.kind.as_str().to_owned()),
        on_hand_delta: Set(movement.on_hand_delta),
        reserved_delta: Set(movement.reserved_delta),
        on_hand_after: Set(level.on_hand),
        reserved_after: Set(level.reserved),
        reason: Set(movement.reason.to_owned()),
        order_id: Set(movement.order_id.map(ToOwned::to_owned)),
        actor_id: Set(movement.actor_id.map(ToOwned::to_owned)),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(level)
}

/// Up to `limit` movements of `variant_id`, newest first, older than `before` if given.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    variant_id: &str,
    before: Option<&str>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find().filter(Column::VariantId.eq(variant_id));
    if let Some(before) = before {
        query = query.filter(Column::Id.lt(before));
    }
    query.order_by_desc(Column::Id).limit(limit).all(db).await
}
