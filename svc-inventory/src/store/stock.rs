//! The `stock` table: one row per variant, with the product it belongs to.

use chrono::Utc;
use mart_platform::db;
use sea_orm::{QueryOrder, Set, UpdateMany, entity::prelude::*, sea_query::Expr};

/// A variant's stock level.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock")]
pub struct Model {
    /// The variant (svc-product's id; the product id for a product's default variant).
    #[sea_orm(primary_key, auto_increment = false)]
    pub variant_id: String,
    /// The product it is a variant of: a product's stock is its rows (indexed).
    pub product_id: String,
    /// Units in the warehouse, reserved ones included.
    pub on_hand: i64,
    /// Units promised to orders not yet paid.
    pub reserved: i64,
    /// False once the variant (or its product) is archived: no new reservations.
    pub orderable: bool,
    /// Grows by one with every change of the row, so that a reader of the stock events,
    /// which arrive from several partitions, can keep the newest figure.
    pub version: i64,
    /// When the row was created (ProductCreated or VariantAdded).
    pub created_at: DateTimeUtc,
    /// When the level last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// Units that can still be promised.
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }
}

/// The stock of `variant_id`.
pub async fn find<C: ConnectionTrait>(db: &C, variant_id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(variant_id.to_owned()).one(db).await
}

/// Every variant's stock of `product_id`, in variant-id order; empty for a product without
/// stock (unknown, or its ProductCreated not yet seen).
pub async fn of_product<C: ConnectionTrait>(db: &C, product_id: &str) -> Result<Vec<Model>, DbErr> {
    Entity::find().filter(Column::ProductId.eq(product_id)).order_by_asc(Column::VariantId).all(db).await
}

/// Every variant's stock of each of `product_ids` that has rows.
pub async fn find_many<C: ConnectionTrait>(db: &C, product_ids: &[String]) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::ProductId.is_in(product_ids.iter().cloned()))
        .order_by_asc(Column::ProductId)
        .order_by_asc(Column::VariantId)
        .all(db)
        .await
}

/// Creates the row of a new variant of `product_id` with `on_hand` units; false if it
/// existed already.
pub async fn create<C: ConnectionTrait>(
    db: &C,
    product_id: &str,
    variant_id: &str,
    on_hand: i64,
) -> Result<bool, DbErr> {
    let now = Utc::now();
    let row = ActiveModel {
        variant_id: Set(variant_id.to_owned()),
        product_id: Set(product_id.to_owned()),
        on_hand: Set(on_hand),
        reserved: Set(0),
        orderable: Set(true),
        version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    };
    db::insert_once(db, row, [Column::VariantId]).await
}

/// Reserves `quantity` units of `variant_id` if it is a variant of `product_id`, that many
/// are available and it is orderable; whether it did. One statement, so two reservations
/// can never both take the last unit.
pub async fn reserve<C: ConnectionTrait>(
    db: &C,
    product_id: &str,
    variant_id: &str,
    quantity: i64,
) -> Result<bool, DbErr> {
    let result = change()
        .col_expr(Column::Reserved, Expr::col(Column::Reserved).add(quantity))
        .filter(Column::VariantId.eq(variant_id))
        .filter(Column::ProductId.eq(product_id))
        .filter(Column::Orderable.eq(true))
        .filter(Expr::expr(Expr::col(Column::OnHand).sub(Expr::col(Column::Reserved))).gte(quantity))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Gives back `quantity` reserved units; whether it did.
pub async fn release<C: ConnectionTrait>(db: &C, variant_id: &str, quantity: i64) -> Result<bool, DbErr> {
    let result = change()
        .col_expr(Column::Reserved, Expr::col(Column::Reserved).sub(quantity))
        .filter(Column::VariantId.eq(variant_id))
        .filter(Column::Reserved.gte(quantity))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Turns `quantity` reserved units into a sale: on hand and reserved both drop.
pub async fn commit<C: ConnectionTrait>(db: &C, variant_id: &str, quantity: i64) -> Result<bool, DbErr> {
    let result = change()
        .col_expr(Column::OnHand, Expr::col(Column::OnHand).sub(quantity))
        .col_expr(Column::Reserved, Expr::col(Column::Reserved).sub(quantity))
        .filter(Column::VariantId.eq(variant_id))
        .filter(Column::Reserved.gte(quantity))
        .filter(Column::OnHand.gte(quantity))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Changes on hand by `delta` unless that would go below what is reserved (or past the
/// largest count the API can show); whether it did.
pub async fn adjust<C: ConnectionTrait>(db: &C, variant_id: &str, delta: i64) -> Result<bool, DbErr> {
    let result = change()
        .col_expr(Column::OnHand, Expr::col(Column::OnHand).add(delta))
        .filter(Column::VariantId.eq(variant_id))
        .filter(Expr::expr(Expr::col(Column::OnHand).add(delta)).gte(Expr::col(Column::Reserved)))
        .filter(Expr::expr(Expr::col(Column::OnHand).add(delta)).lte(i64::from(i32::MAX)))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Takes the row's write lock for the rest of the transaction, so a read that follows
/// cannot be overtaken; whether the row exists. Changes nothing, so the version stays.
pub async fn lock<C: ConnectionTrait>(db: &C, variant_id: &str) -> Result<bool, DbErr> {
    db::lock_row::<Entity, _>(db, Column::VariantId, variant_id).await
}

/// Stops new reservations of every variant of an archived product.
pub async fn stop_selling_product<C: ConnectionTrait>(db: &C, product_id: &str) -> Result<(), DbErr> {
    change()
        .col_expr(Column::Orderable, Expr::value(false))
        .filter(Column::ProductId.eq(product_id))
        .filter(Column::Orderable.eq(true))
        .exec(db)
        .await?;
    Ok(())
}

/// Stops new reservations of an archived variant of `product_id`.
pub async fn stop_selling_variant<C: ConnectionTrait>(db: &C, product_id: &str, variant_id: &str) -> Result<(), DbErr> {
    change()
        .col_expr(Column::Orderable, Expr::value(false))
        .filter(Column::VariantId.eq(variant_id))
        .filter(Column::ProductId.eq(product_id))
        .filter(Column::Orderable.eq(true))
        .exec(db)
        .await?;
    Ok(())
}

/// An update of stock rows: whatever it sets, the rows it touches move to their next
/// version and note the time.
fn change() -> UpdateMany<Entity> {
    Entity::update_many()
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
}
