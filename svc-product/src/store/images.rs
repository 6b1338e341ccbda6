//! The `product_images` table: a product's images in order.

use chrono::{DateTime, Utc};
use sea_orm::{QueryOrder, Set, entity::prelude::*, sea_query::Expr};

use crate::domain::{ImageSource, NewImage};

/// One image of a product.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "product_images")]
pub struct Model {
    /// UUIDv7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Its product.
    pub product_id: String,
    /// Its place, from 0, without gaps.
    pub position: i32,
    /// The uploaded media it shows; `None` for an outside URL.
    pub media_id: Option<String>,
    /// The outside URL; empty for uploaded media.
    pub url: String,
    /// Alternative text.
    pub alt: String,
    /// The variant it shows.
    pub variant_id: Option<String>,
    /// When it was added.
    pub created_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// Where to load it.
    pub fn href(&self) -> String {
        match &self.media_id {
            Some(media_id) => crate::media::url(media_id),
            None => self.url.clone(),
        }
    }
}

/// The images of `product_id` in order.
pub async fn of_product<C: ConnectionTrait>(db: &C, product_id: &str) -> Result<Vec<Model>, DbErr> {
    Entity::find().filter(Column::ProductId.eq(product_id)).order_by_asc(Column::Position).all(db).await
}

/// The images of the products in `product_ids`, in order per product.
pub async fn of_products<C: ConnectionTrait>(db: &C, product_ids: &[String]) -> Result<Vec<Model>, DbErr> {
    if product_ids.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .filter(Column::ProductId.is_in(product_ids.iter().cloned()))
        .order_by_asc(Column::ProductId)
        .order_by_asc(Column::Position)
        .all(db)
        .await
}

/// Inserts `image` `id` of `product_id` at `position` (the images from there on move down one;
/// the caller has clamped it to at most the count).
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    id: String,
    product_id: &str,
    position: i32,
    image: &NewImage,
    variant_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<Model, DbErr> {
    Entity::update_many()
        .col_expr(Column::Position, Expr::col(Column::Position).add(1))
        .filter(Column::ProductId.eq(product_id))
        .filter(Column::Position.gte(position))
        .exec(db)
        .await?;
    let (media_id, url) = match &image.source {
        ImageSource::Media(id) => (Some(id.clone()), String::new()),
        ImageSource::Url(url) => (None, url.clone()),
    };
    ActiveModel {
        id: Set(id),
        product_id: Set(product_id.to_owned()),
        position: Set(position),
        media_id: Set(media_id),
        url: Set(url),
        alt: Set(image.alt.clone()),
        variant_id: Set(variant_id),
        created_at: Set(now),
    }
    .insert(db)
    .await
}

/// Removes `image` and closes the gap it leaves.
pub async fn delete<C: ConnectionTrait>(db: &C, image: &Model) -> Result<(), DbErr> {
    Entity::delete_by_id(image.id.clone()).exec(db).await?;
    Entity::update_many()
        .col_expr(Column::Position, Expr::col(Column::Position).sub(1))
        .filter(Column::ProductId.eq(image.product_id.as_str()))
        .filter(Column::Position.gt(image.position))
        .exec(db)
        .await?;
    Ok(())
}
