//! The `users` table.

use sea_orm::{QueryOrder, QuerySelect, entity::prelude::*, sea_query::LikeExpr};

/// One account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// UUIDv7, so ids sort by creation time (paging relies on it).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Lower-cased; unique, which is what makes registration race-free.
    #[sea_orm(unique)]
    pub email: String,
    /// The argon2id PHC string. Never leaves this service.
    pub password_hash: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// E.164, if given.
    pub phone: Option<String>,
    /// `user` or `admin`.
    pub role: String,
    /// `active`, `disabled` or `deleted`.
    pub status: String,
    /// When the account was created.
    pub created_at: DateTimeUtc,
    /// When anything about it last changed.
    pub updated_at: DateTimeUtc,
}

/// Addresses and refresh tokens hang off a user.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The user with id `id`.
pub async fn find<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id.to_owned()).one(db).await
}

/// The user with (normalised) email `email`.
pub async fn find_by_email<C: ConnectionTrait>(db: &C, email: &str) -> Result<Option<Model>, DbErr> {
    Entity::find().filter(Column::Email.eq(email)).one(db).await
}

/// How many active admins exist.
pub async fn count_active_admins<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    Entity::find().filter(Column::Role.eq("admin")).filter(Column::Status.eq("active")).count(db).await
}

/// What ListUsers filters on.
#[derive(Debug, Default)]
pub struct Filter {
    /// Only this role.
    pub role: Option<&'static str>,
    /// Only this status.
    pub status: Option<&'static str>,
    /// Emails starting with this (lower-case).
    pub email_prefix: Option<String>,
    /// Ids after this one (the page token).
    pub after: Option<String>,
}

/// Up to `limit` users matching `filter`, oldest first.
pub async fn list<C: ConnectionTrait>(db: &C, filter: Filter, limit: u64) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find();
    if let Some(role) = filter.role {
        query = query.filter(Column::Role.eq(role));
    }
    if let Some(status) = filter.status {
        query = query.filter(Column::Status.eq(status));
    }
    if let Some(prefix) = filter.email_prefix {
        // `%` and `_` in the prefix are literal characters, not wildcards.
        let pattern = format!("{}%", mart_platform::db::like_literal(&prefix));
        query = query.filter(Column::Email.like(LikeExpr::new(pattern).escape('\\')));
    }
    if let Some(after) = filter.after {
        query = query.filter(Column::Id.gt(after));
    }
    query.order_by_asc(Column::Id).limit(limit).all(db).await
}
