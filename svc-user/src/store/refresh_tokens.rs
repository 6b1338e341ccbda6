//! The `refresh_tokens` table: one row per token ever issued, grouped into families (one
//! family per login). Only the SHA-256 of a token is stored.

use chrono::{DateTime, Utc};
use sea_orm::{QuerySelect, Set, entity::prelude::*, sea_query::Expr};

/// One refresh token.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    /// UUIDv7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Whose.
    pub user_id: String,
    /// The login this token descends from; reuse of a rotated token revokes the family.
    pub family_id: String,
    /// Hex SHA-256 of the token.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// When issued.
    pub created_at: DateTimeUtc,
    /// When it stops working.
    pub expires_at: DateTimeUtc,
    /// When it was exchanged for a new one; a second exchange is theft.
    pub used_at: Option<DateTimeUtc>,
    /// When it was revoked (logout, password change, reuse, account locked).
    pub revoked_at: Option<DateTimeUtc>,
}

/// No navigable relations; the foreign key is declared in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// A token about to be stored.
#[derive(Debug)]
pub struct NewToken {
    /// Whose.
    pub user_id: String,
    /// The login it descends from.
    pub family_id: String,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// When issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Stores a new unused, unrevoked token with a fresh UUIDv7.
pub async fn insert<C: ConnectionTrait>(db: &C, token: NewToken) -> Result<Model, DbErr> {
    ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        user_id: Set(token.user_id),
        family_id: Set(token.family_id),
        token_hash: Set(token.token_hash),
        created_at: Set(token.created_at),
        expires_at: Set(token.expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await
}

/// The token whose hash is `token_hash`.
pub async fn find_by_hash<C: ConnectionTrait>(db: &C, token_hash: &str) -> Result<Option<Model>, DbErr> {
    Entity::find().filter(Column::TokenHash.eq(token_hash)).one(db).await
}

/// Marks `id` used, only if it is still unused and unrevoked; whether this call did. Two
/// concurrent refreshes with one token: exactly one wins, the other is treated as reuse.
pub async fn mark_used<C: ConnectionTrait>(db: &C, id: &str) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(Utc::now()))
        .filter(Column::Id.eq(id))
        .filter(Column::UsedAt.is_null())
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Revokes every token of a family.
pub async fn revoke_family<C: ConnectionTrait>(db: &C, family_id: &str) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(Utc::now()))
        .filter(Column::FamilyId.eq(family_id))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Revokes every token of a user.
pub async fn revoke_all<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(Utc::now()))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// The families (sessions) with a token revoked at or after `since`: what verifiers refuse.
pub async fn revoked_families<C: ConnectionTrait>(db: &C, since: DateTime<Utc>) -> Result<Vec<String>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::FamilyId)
        .distinct()
        .filter(Column::RevokedAt.gte(since))
        .into_tuple()
        .all(db)
        .await
}

/// Deletes tokens that can no longer be used or matter: expired ones, and ones revoked
/// longer than `retention` ago (their sessions' access tokens are long expired). Used but
/// live tokens stay: presenting one again is how theft is noticed. How many went.
pub async fn prune<C: ConnectionTrait>(db: &C, retention: std::time::Duration) -> Result<u64, DbErr> {
    let pruned = Entity::delete_many()
        .filter(Column::ExpiresAt.lt(Utc::now()).or(Column::RevokedAt.lt(mart_platform::db::cutoff(retention))))
        .exec(db)
        .await?;
    Ok(pruned.rows_affected)
}
