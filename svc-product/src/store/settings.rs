//! The `settings` table: values the catalog decides once and then keeps, by name — today
//! the shop currency. Created on first use and never changed by the service, so every
//! replica and every restart agrees. (The page token key, once kept here too, is in
//! platform's own `page_token_key` table.)

use sea_orm::entity::prelude::*;

/// The name of the shop currency (its ISO 4217 code as bytes): the first price sets it.
pub const CURRENCY: &str = "currency";

/// One setting.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "settings")]
pub struct Model {
    /// What it is.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// Its value, as bytes: the table was made for values that are not text.
    pub value: Vec<u8>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The value of `name`; if there is none yet, `proposed` becomes it. When two callers
/// propose at once (two first products), both get the one that won.
///
/// It writes before it reads, so it never turns a reading SQLite transaction into a
/// writing one halfway (see [`super::begin_write`]).
pub async fn get_or_insert<C: ConnectionTrait>(db: &C, name: &str, proposed: &[u8]) -> Result<Vec<u8>, DbErr> {
    let row = ActiveModel { name: sea_orm::Set(name.to_owned()), value: sea_orm::Set(proposed.to_vec()) };
    mart_platform::db::insert_once(db, row, [Column::Name]).await?;
    Entity::find_by_id(name.to_owned())
        .one(db)
        .await?
        .map(|row| row.value)
        .ok_or_else(|| DbErr::Custom(format!("setting {name} vanished after it was written")))
}
