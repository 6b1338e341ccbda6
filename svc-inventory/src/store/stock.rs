//! The `stock` table: one row per product.

use chrono::Utc;
use mart_platform::db;
use sea_orm::{QueryOrder, Set, entity::prelude::*, sea_query::Expr};

/// A product's stock level.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock")]
pub struct Model {
    /// The product (svc-product's id).
    #[sea_orm(primary_key, auto_increment = false)]
    pub product_id: String,
    /// Units in the warehouse, reserved ones included.
    pub on_hand: i64,
    /// Units promised to orders not yet paid.
    pub reserved: i64,
    /// False once the product is archived: no new reservations.
    pub orderable: bool,
    /// When the row was created (ProductCreated).
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

/// The stock of `product_id`.
pub async fn find<C: ConnectionTrait>(db: &C, product_id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(product_id.to_owned()).one(db).await
}

/// The stock of each of `product_ids` that has a row.
pub async fn find_many<C: ConnectionTrait>(db: &C, product_ids: &[String]) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::ProductId.is_in(product_ids.iter().cloned()))
        .order_by_asc(Column::ProductId)
        .all(db)
        .await
}

/// Creates the row of a new product with `on_hand` units; false if it existed already.
pub async fn create<C: ConnectionTrait>(db: &C, product_id: &str, on_hand: i64) -> Result<bool, DbErr> {
    let now = Utc::now();
    let row = ActiveModel {
        product_id: Set(product_id.to_owned()),
        on_hand: Set(on_hand),
        reserved: Set(0),
        orderable: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    };
    db::insert_once(db, row, [Column::ProductId]).await
}

/// Reserves `quantity` units if that many are available and the product is orderable;
/// whether it did. One statement, so two reservations can never both take the last unit.
pub async fn reserve<C: ConnectionTrait>(db: &C, product_id: &str, quantity: i64) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::Reserved, Expr::col(Column::Reserved).add(quantity))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::ProductId.eq(product_id))
        .filter(Column::Orderable.eq(true))
        .filter(Expr::expr(Expr::col(Column::OnHand).sub(Expr::col(Column::Reserved))).gte(quantity))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Gives back `quantity` reserved units; whether it did.
pub async fn release<C: ConnectionTrait>(db: &C, product_id: &str, quantity: i64) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::Reserved, Expr::col(Column::Reserved).sub(quantity))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::ProductId.eq(product_id))
        .filter(Column::Reserved.gte(quantity))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Turns `quantity` reserved units into a sale: on hand and reserved both drop.
pub async fn commit<C: ConnectionTrait>(db: &C, product_id: &str, quantity: i64) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::OnHand, Expr::col(Column::OnHand).sub(quantity))
        .col_expr(Column::Reserved, Expr::col(Column::Reserved).sub(quantity))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::ProductId.eq(product_id))
        .filter(Column::Reserved.gte(quantity))
        .filter(Column::OnHand.gte(quantity))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Changes on hand by `delta` unless that would go below what is reserved (or past the
/// largest count the API can show); whether it did.
pub async fn adjust<C: ConnectionTrait>(db: &C, product_id: &str, delta: i64) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::OnHand, Expr::col(Column::OnHand).add(delta))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::ProductId.eq(product_id))
        .filter(Expr::expr(Expr::col(Column::OnHand).add(delta)).gte(Expr::col(Column::Reserved)))
        .filter(Expr::expr(Expr::col(Column::OnHand).add(delta)).lte(i64::from(i32::MAX)))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Takes the row's write lock for the rest of the transaction, so a read that follows
/// cannot be overtaken; whether the row exists.
pub async fn lock<C: ConnectionTrait>(db: &C, product_id: &str) -> Result<bool, DbErr> {
    db::lock_row::<Entity, _>(db, Column::ProductId, product_id).await
}

/// Stops new reservations of an archived product.
pub async fn stop_selling<C: ConnectionTrait>(db: &C, product_id: &str) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Orderable, Expr::value(false))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::ProductId.eq(product_id))
        .exec(db)
        .await?;
    Ok(())
}
