//! The `addresses` table.

use chrono::Utc;
use sea_orm::{QueryOrder, Set, entity::prelude::*};

use crate::domain::Address;

/// One of a user's saved addresses.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "addresses")]
pub struct Model {
    /// UUIDv7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The owner; every query is scoped by it, so one user never sees another's.
    pub user_id: String,
    /// "Home", "Office"; may be empty.
    pub label: String,
    /// Street and number.
    pub line1: String,
    /// Extra line; may be empty.
    pub line2: String,
    /// City.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Latitude, with longitude.
    pub latitude: Option<f64>,
    /// Longitude, with latitude.
    pub longitude: Option<f64>,
    /// When it was added.
    pub created_at: DateTimeUtc,
}

/// No navigable relations; the foreign key is declared in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Stores `address` as a new address of `user_id`, with a fresh UUIDv7; the row.
pub async fn insert<C: ConnectionTrait>(db: &C, user_id: String, address: Address) -> Result<Model, DbErr> {
    ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        user_id: Set(user_id),
        label: Set(address.label),
        line1: Set(address.line1),
        line2: Set(address.line2),
        city: Set(address.city),
        postal_code: Set(address.postal_code),
        country: Set(address.country),
        latitude: Set(address.coordinates.map(|(lat, _)| lat)),
        longitude: Set(address.coordinates.map(|(_, lng)| lng)),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
}

/// `user_id`'s addresses, oldest first.
pub async fn list<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<Vec<Model>, DbErr> {
    Entity::find().filter(Column::UserId.eq(user_id)).order_by_asc(Column::Id).all(db).await
}

/// The address `id` if it belongs to `user_id`.
pub async fn find_owned<C: ConnectionTrait>(db: &C, user_id: &str, id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find().filter(Column::Id.eq(id)).filter(Column::UserId.eq(user_id)).one(db).await
}

/// Deletes the address `id` if it belongs to `user_id`; whether it did.
pub async fn delete_owned<C: ConnectionTrait>(db: &C, user_id: &str, id: &str) -> Result<bool, DbErr> {
    let result = Entity::delete_many().filter(Column::Id.eq(id)).filter(Column::UserId.eq(user_id)).exec(db).await?;
    Ok(result.rows_affected == 1)
}
