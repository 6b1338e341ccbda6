//! Tombstones of orders cancelled before their payment opened.

use sea_orm_migration::prelude::*;

use crate::store::closed_orders;

/// Creates `closed_orders`.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use closed_orders::Column as C;
        manager
            .create_table(
                Table::create()
                    .table(closed_orders::Entity)
                    .col(ColumnDef::new(C::OrderId).string().not_null().primary_key())
                    .col(ColumnDef::new(C::Reason).string().not_null())
                    .col(ColumnDef::new(C::ClosedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await
    }
}
