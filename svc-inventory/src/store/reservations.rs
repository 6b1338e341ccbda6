//! The `reservations` table: one row per order, the state of its stock. Keyed by order id,
//! so reserving, releasing or committing an order a second time finds it already done.

use chrono::Utc;
use mart_platform::db;
use sea_orm::{QueryOrder, Set, entity::prelude::*, sea_query::Expr};

use crate::domain::{Line, ReservationState};

/// An order's reservation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reservations")]
pub struct Model {
    /// The order.
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_id: String,
    /// `ReservationState`.
    pub state: String,
    /// When the order was first seen.
    pub created_at: DateTimeUtc,
    /// When the state last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The lines of a reservation.
pub mod lines {
    use sea_orm::entity::prelude::*;

    /// One variant of an order's reservation.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "reservation_lines")]
    pub struct Model {
        /// The order.
        #[sea_orm(primary_key, auto_increment = false)]
        pub order_id: String,
        /// The variant: its stock row.
        #[sea_orm(primary_key, auto_increment = false)]
        pub variant_id: String,
        /// The product it is a variant of.
        pub product_id: String,
        /// Units reserved.
        pub quantity: i64,
    }

    /// No navigable relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Records the first sight of `order_id` in `state`; false if it was seen before.
pub async fn open<C: ConnectionTrait>(db: &C, order_id: &str, state: ReservationState) -> Result<bool, DbErr> {
    let now = Utc::now();
    let row = ActiveModel {
        order_id: Set(order_id.to_owned()),
        state: Set(state.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    db::insert_once(db, row, [Column::OrderId]).await
}

/// Moves `order_id` from `from` to `to`; whether it was in `from` (only one of two racing
/// transitions wins).
pub async fn transition<C: ConnectionTrait>(
    db: &C,
    order_id: &str,
    from: ReservationState,
    to: ReservationState,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::State, Expr::value(to.as_str()))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::OrderId.eq(order_id))
        .filter(Column::State.eq(from.as_str()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The state of `order_id`'s reservation, if the order was seen.
pub async fn state<C: ConnectionTrait>(db: &C, order_id: &str) -> Result<Option<ReservationState>, DbErr> {
    Ok(Entity::find_by_id(order_id.to_owned()).one(db).await?.and_then(|row| ReservationState::parse(&row.state)))
}

/// Stores the lines of `order_id` (one per variant).
pub async fn add_lines<C: ConnectionTrait>(db: &C, order_id: &str, lines: &[Line]) -> Result<(), DbErr> {
    if lines.is_empty() {
        return Ok(());
    }
    let rows = lines.iter().map(|line| lines::ActiveModel {
        order_id: Set(order_id.to_owned()),
        variant_id: Set(line.variant_id.clone()),
        product_id: Set(line.product_id.clone()),
        quantity: Set(line.quantity),
    });
    lines::Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(())
}

/// The lines of `order_id`, in variant-id order (the order rows are locked in).
pub async fn lines_of<C: ConnectionTrait>(db: &C, order_id: &str) -> Result<Vec<Line>, DbErr> {
    Ok(lines::Entity::find()
        .filter(lines::Column::OrderId.eq(order_id))
        .order_by_asc(lines::Column::VariantId)
        .all(db)
        .await?
        .into_iter()
        .map(|line| Line { variant_id: line.variant_id, product_id: line.product_id, quantity: line.quantity })
        .collect())
}
