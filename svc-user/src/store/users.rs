//! The `users` table.

use chrono::{DateTime, Utc};
use sea_orm::{
    IntoActiveModel, QueryOrder, QuerySelect, Set,
    entity::prelude::*,
    sea_query::{Expr, LikeExpr},
};

use crate::{
    domain::{Role, Status},
    error::Error,
};

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

// === impl Model ===

impl Model {
    /// The account's role; a value the domain does not know is a corrupt row.
    pub fn account_role(&self) -> Result<Role, Error> {
        Role::parse(&self.role).ok_or_else(|| self.corrupt())
    }

    /// The account's status; a value the domain does not know is a corrupt row.
    pub fn account_status(&self) -> Result<Status, Error> {
        Status::parse(&self.status).ok_or_else(|| self.corrupt())
    }

    fn corrupt(&self) -> Error {
        Error::Internal(format!("user {} has role {:?} / status {:?}", self.id, self.role, self.status))
    }
}

// === writes ===

/// The row of a new account, before it is stored.
#[derive(Debug)]
pub struct NewUser {
    /// Normalised email.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// E.164, if given.
    pub phone: Option<String>,
    /// What the account may do.
    pub role: Role,
    /// When it is created (also its first `updated_at`).
    pub now: DateTime<Utc>,
}

/// Stores a new active account with a fresh UUIDv7; the row. A taken email fails with the
/// unique index's violation, which the caller maps.
pub async fn insert<C: ConnectionTrait>(db: &C, user: NewUser) -> Result<Model, DbErr> {
    ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        email: Set(user.email),
        password_hash: Set(user.password_hash),
        first_name: Set(user.first_name),
        last_name: Set(user.last_name),
        phone: Set(user.phone),
        role: Set(user.role.as_str().to_owned()),
        status: Set(Status::Active.as_str().to_owned()),
        created_at: Set(user.now),
        updated_at: Set(user.now),
    }
    .insert(db)
    .await
}

/// Columns of a user to overwrite; `None` leaves a column as it is.
#[derive(Debug, Default)]
pub struct Change {
    /// New given name.
    pub first_name: Option<String>,
    /// New family name.
    pub last_name: Option<String>,
    /// New phone; `Some(None)` clears it.
    pub phone: Option<Option<String>>,
    /// New normalised email.
    pub email: Option<String>,
    /// New argon2id PHC string.
    pub password_hash: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// New status.
    pub status: Option<Status>,
}

impl Change {
    /// Whether it overwrites nothing (a value equal to the current one still counts).
    pub fn is_empty(&self) -> bool {
        let Change { first_name, last_name, phone, email, password_hash, role, status } = self;
        first_name.is_none()
            && last_name.is_none()
            && phone.is_none()
            && email.is_none()
            && password_hash.is_none()
            && role.is_none()
            && status.is_none()
    }
}

/// Writes `change` to `user`'s row and stamps `updated_at`; the row after. A taken email
/// fails with the unique index's violation, which the caller maps.
pub async fn update<C: ConnectionTrait>(db: &C, user: Model, change: Change) -> Result<Model, DbErr> {
    let mut row = user.into_active_model();
    if let Some(first_name) = change.first_name {
        row.first_name = Set(first_name);
    }
    if let Some(last_name) = change.last_name {
        row.last_name = Set(last_name);
    }
    if let Some(phone) = change.phone {
        row.phone = Set(phone);
    }
    if let Some(email) = change.email {
        row.email = Set(email);
    }
    if let Some(hash) = change.password_hash {
        row.password_hash = Set(hash);
    }
    if let Some(role) = change.role {
        row.role = Set(role.as_str().to_owned());
    }
    if let Some(status) = change.status {
        row.status = Set(status.as_str().to_owned());
    }
    row.updated_at = Set(Utc::now());
    row.update(db).await
}

// === reads ===

/// The user with id `id`.
pub async fn find<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id.to_owned()).one(db).await
}

/// The user with (normalised) email `email`.
pub async fn find_by_email<C: ConnectionTrait>(db: &C, email: &str) -> Result<Option<Model>, DbErr> {
    Entity::find().filter(Column::Email.eq(email)).one(db).await
}

/// Locks every active admin's row until the transaction ends (a write that changes
/// nothing), so that of two transactions that each would leave one admin fewer, the second
/// waits for the first and counts what it left. On SQLite the write lock does the same.
pub async fn lock_active_admins<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Role, Expr::col(Column::Role).into())
        .filter(Column::Role.eq("admin"))
        .filter(Column::Status.eq("active"))
        .exec(db)
        .await?;
    Ok(())
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
    /// Ids after this one (from the page token's cursor).
    pub after: Option<String>,
}

/// Up to `limit` users matching `filter`, oldest first.
pub async fn list<C: ConnectionTrait>(db: &C, filter: &Filter, limit: u64) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find();
    if let Some(role) = filter.role {
        query = query.filter(Column::Role.eq(role));
    }
    if let Some(status) = filter.status {
        query = query.filter(Column::Status.eq(status));
    }
    if let Some(prefix) = &filter.email_prefix {
        // `%` and `_` in the prefix are literal characters, not wildcards.
        let pattern = format!("{}%", mart_platform::db::like_literal(prefix));
        query = query.filter(Column::Email.like(LikeExpr::new(pattern).escape('\\')));
    }
    if let Some(after) = &filter.after {
        query = query.filter(Column::Id.gt(after.as_str()));
    }
    query.order_by_asc(Column::Id).limit(limit).all(db).await
}
