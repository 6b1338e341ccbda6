//! What refunds need on an order: `orders.refunded_minor`, the money given back so far.

use sea_orm_migration::prelude::*;

use crate::store::orders;

/// Adds `orders.refunded_minor`.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Orders from before it had no refund recorded on them: nothing given back.
        manager
            .alter_table(
                Table::alter()
                    .table(orders::Entity)
                    .add_column(ColumnDef::new(orders::Column::RefundedMinor).big_integer().not_null().default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(orders::Entity).drop_column(orders::Column::RefundedMinor).to_owned())
            .await
    }
}
