//! The `settings` table: values the catalog decides once and then keeps, by name — the key
//! page tokens are signed with, and the shop currency. Created on first use and never
//! changed by the service, so every replica and every restart agrees.

use sea_orm::{entity::prelude::*, sea_query::OnConflict};

/// The name of the 32-byte key page tokens are signed with.
pub const PAGE_TOKEN_KEY: &str = "page_token_key";

/// The name of the shop currency (its ISO 4217 code as bytes): the first price sets it.
pub const CURRENCY: &str = "currency";

/// One setting.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "settings")]
pub struct Model {
    /// What it is.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// Its value; bytes, because the page token key is not text.
    pub value: Vec<u8>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The value of `name`; if there is none yet, `proposed` becomes it. When two callers
/// propose at once (two replicas starting, two first products), both get the one that won.
///
/// It writes before it reads, so it never turns a reading SQLite transaction into a
/// writing one halfway (see [`super::begin_write`]).
pub async fn get_or_insert<C: ConnectionTrait>(db: &C, name: &str, proposed: &[u8]) -> Result<Vec<u8>, DbErr> {
    let row = ActiveModel { name: sea_orm::Set(name.to_owned()), value: sea_orm::Set(proposed.to_vec()) };
    Entity::insert(row)
        .on_conflict(OnConflict::column(Column::Name).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Entity::find_by_id(name.to_owned())
        .one(db)
        .await?
        .map(|row| row.value)
        .ok_or_else(|| DbErr::Custom(format!("setting {name} vanished after it was written")))
}
