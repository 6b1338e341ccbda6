//! The `carts` and `cart_lines` tables. A cart row holds a version that every change bumps
//! in the same transaction as the change, so PlaceOrder can take exactly the cart it read:
//! it swaps the version it saw, and fails if anything changed in between. A cart line is
//! one variant (keyed by its id), with the product it belongs to.

use chrono::{DateTime, Utc};
use mart_platform::db;
use sea_orm::{QueryOrder, Set, entity::prelude::*, sea_query::Expr};

use crate::domain::CartItem;

/// A user's cart: its version.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "carts")]
pub struct Model {
    /// The owner.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    /// Bumped by every change: what PlaceOrder compares and swaps.
    pub version: i64,
    /// When the cart last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The lines of carts.
pub mod lines {
    use sea_orm::entity::prelude::*;

    /// One variant in a cart.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "cart_lines")]
    pub struct Model {
        /// The owner.
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        /// The variant (for a single-variant product, and for every line from before
        /// variants, the product's id).
        #[sea_orm(primary_key, auto_increment = false)]
        pub variant_id: String,
        /// Its product. Not part of the key: two variants of one product are two lines.
        pub product_id: String,
        /// Units; within the configured bounds.
        pub quantity: i64,
        /// When the variant was first put in: the cart's order.
        pub added_at: DateTimeUtc,
    }

    /// No navigable relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A cart as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cart {
    /// The version read (0: never used).
    pub version: i64,
    /// When it last changed; `None` for a cart never used.
    pub updated_at: Option<DateTime<Utc>>,
    /// Its lines, in the order they were added.
    pub items: Vec<CartItem>,
}

/// `user_id`'s cart. The version is read before the lines: a change committed in between
/// leaves the version older than the lines (a later [`claim`] fails), never the other way
/// round, so an order can never be placed from lines older than the version it claims.
pub async fn load<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<Cart, DbErr> {
    let head = Entity::find_by_id(user_id.to_owned()).one(db).await?;
    let rows = lines::Entity::find()
        .filter(lines::Column::UserId.eq(user_id))
        .order_by_asc(lines::Column::AddedAt)
        .order_by_asc(lines::Column::VariantId)
        .all(db)
        .await?;
    Ok(Cart {
        version: head.as_ref().map_or(0, |h| h.version),
        updated_at: head.map(|h| h.updated_at),
        items: rows
            .into_iter()
            .map(|row| CartItem {
                variant_id: row.variant_id,
                product_id: row.product_id,
                // Stored from a bounded quantity; saturate rather than wrap if a row says otherwise.
                quantity: u32::try_from(row.quantity).unwrap_or(u32::MAX),
                added_at: row.added_at,
            })
            .collect(),
    })
}

/// Records a change of `user_id`'s cart: creates the cart row if needed and bumps its
/// version. Call it first in the changing transaction: on PostgreSQL it takes the row's
/// lock, so a PlaceOrder in flight either sees the change or is seen by it.
pub async fn touch<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<(), DbErr> {
    let now = Utc::now();
    let row = ActiveModel { user_id: Set(user_id.to_owned()), version: Set(0), updated_at: Set(now) };
    db::insert_once(db, row, [Column::UserId]).await?;
    Entity::update_many()
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Takes the write lock of `user_id`'s cart row for the rest of the transaction: every
/// PlaceOrder of one account takes it before counting the account's unpaid orders, so of
/// two racing calls the second waits, then counts the first's order. Whether the cart row
/// exists (it does once anything was ever put in the cart).
pub async fn lock<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<bool, DbErr> {
    db::lock_row::<Entity, _>(db, Column::UserId, user_id).await
}

/// Takes the cart as of `version` for an order: bumps the version if it is still
/// `version`; false if the cart changed since it was read (or another order took it).
pub async fn claim<C: ConnectionTrait>(db: &C, user_id: &str, version: i64) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::Version.eq(version))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Adds `quantity` units of the variant `variant_id` (of `product_id`), as a new line or
/// onto the existing one, unless the line would then hold more than `max`; whether it did.
/// One statement each way, so two concurrent adds cannot push a line past the bound.
pub async fn add<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    (variant_id, product_id): (&str, &str),
    quantity: u32,
    max: u32,
) -> Result<bool, DbErr> {
    let row = lines::ActiveModel {
        user_id: Set(user_id.to_owned()),
        variant_id: Set(variant_id.to_owned()),
        product_id: Set(product_id.to_owned()),
        quantity: Set(i64::from(quantity)),
        added_at: Set(Utc::now()),
    };
    if db::insert_once(db, row, [lines::Column::UserId, lines::Column::VariantId]).await? {
        return Ok(true);
    }
    let result = lines::Entity::update_many()
        .col_expr(lines::Column::Quantity, Expr::col(lines::Column::Quantity).add(i64::from(quantity)))
        .filter(lines::Column::UserId.eq(user_id))
        .filter(lines::Column::VariantId.eq(variant_id))
        .filter(Expr::expr(Expr::col(lines::Column::Quantity).add(i64::from(quantity))).lte(i64::from(max)))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Sets the quantity of the line of variant `variant_id`; false if there is no such line.
pub async fn set<C: ConnectionTrait>(db: &C, user_id: &str, variant_id: &str, quantity: u32) -> Result<bool, DbErr> {
    let result = lines::Entity::update_many()
        .col_expr(lines::Column::Quantity, Expr::value(i64::from(quantity)))
        .filter(lines::Column::UserId.eq(user_id))
        .filter(lines::Column::VariantId.eq(variant_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Removes the line of variant `variant_id`; false if there was none.
pub async fn remove<C: ConnectionTrait>(db: &C, user_id: &str, variant_id: &str) -> Result<bool, DbErr> {
    let result = lines::Entity::delete_many()
        .filter(lines::Column::UserId.eq(user_id))
        .filter(lines::Column::VariantId.eq(variant_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Removes every line of `user_id`'s cart.
pub async fn clear<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<(), DbErr> {
    lines::Entity::delete_many().filter(lines::Column::UserId.eq(user_id)).exec(db).await?;
    Ok(())
}
