//! The `signing_keys` table: the Ed25519 keys access tokens are signed with. Created at
//! first start and kept, so a restart keeps everyone signed in; rotated on demand.

use chrono::Utc;
use sea_orm::{QueryOrder, Set, entity::prelude::*, sea_query::Expr};

/// One signing key.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    /// The `kid` tokens name it by.
    #[sea_orm(primary_key, auto_increment = false)]
    pub kid: String,
    /// The 32-byte Ed25519 secret key, sealed (`keys::sealing`; plain in rows from before).
    pub private_key: Vec<u8>,
    /// The 32-byte public key, published by GetJwks.
    pub public_key: Vec<u8>,
    /// When it was created; the newest unretired key signs.
    pub created_at: DateTimeUtc,
    /// When a newer key replaced it. It is still published until the last token it signed
    /// has expired.
    pub retired_at: Option<DateTimeUtc>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Stores a new unretired key `kid`, created now.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    kid: String,
    private_key: Vec<u8>,
    public_key: Vec<u8>,
) -> Result<(), DbErr> {
    ActiveModel {
        kid: Set(kid),
        private_key: Set(private_key),
        public_key: Set(public_key),
        created_at: Set(Utc::now()),
        retired_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The key that signs new tokens: the newest unretired one.
pub async fn active<C: ConnectionTrait>(db: &C) -> Result<Option<Model>, DbErr> {
    Entity::find().filter(Column::RetiredAt.is_null()).order_by_desc(Column::CreatedAt).one(db).await
}

/// Keys whose tokens may still be alive: unretired, or retired less than `token_ttl` ago.
pub async fn published<C: ConnectionTrait>(db: &C, token_ttl: std::time::Duration) -> Result<Vec<Model>, DbErr> {
    let cutoff = mart_platform::db::cutoff(token_ttl);
    Entity::find()
        .filter(Column::RetiredAt.is_null().or(Column::RetiredAt.gt(cutoff)))
        .order_by_desc(Column::CreatedAt)
        .all(db)
        .await
}

/// Retires every key except `kid`.
pub async fn retire_all_but<C: ConnectionTrait>(db: &C, kid: &str) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::RetiredAt, Expr::value(Utc::now()))
        .filter(Column::Kid.ne(kid))
        .filter(Column::RetiredAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes key `kid`; whether there was one.
pub async fn delete<C: ConnectionTrait>(db: &C, kid: &str) -> Result<bool, DbErr> {
    Ok(Entity::delete_many().filter(Column::Kid.eq(kid)).exec(db).await?.rows_affected > 0)
}

/// Every key.
pub async fn all<C: ConnectionTrait>(db: &C) -> Result<Vec<Model>, DbErr> {
    Entity::find().order_by_asc(Column::CreatedAt).all(db).await
}

/// Replaces the stored private key of `kid` (sealing a plain one).
pub async fn set_private_key<C: ConnectionTrait>(db: &C, kid: &str, private_key: Vec<u8>) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::PrivateKey, Expr::value(private_key))
        .filter(Column::Kid.eq(kid))
        .exec(db)
        .await?;
    Ok(())
}
