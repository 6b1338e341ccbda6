//! Stock levels, the movement ledger, and reservations by order.

use sea_orm_migration::prelude::*;

use crate::store::{movements, reservations, stock};

/// Creates the stock tables.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use stock::Column as S;
        manager
            .create_table(
                Table::create()
                    .table(stock::Entity)
                    .col(ColumnDef::new(S::ProductId).string().not_null().primary_key())
                    .col(ColumnDef::new(S::OnHand).big_integer().not_null())
                    .col(ColumnDef::new(S::Reserved).big_integer().not_null())
                    .col(ColumnDef::new(S::Orderable).boolean().not_null())
                    .col(ColumnDef::new(S::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(S::UpdatedAt).timestamp_with_time_zone().not_null())
                    // The invariant, enforced by the database too: whatever code runs, it
                    // cannot store a negative level or more reserved than on hand.
                    .check(Expr::col(S::Reserved).gte(0))
                    .check(Expr::col(S::Reserved).lte(Expr::col(S::OnHand)))
                    .to_owned(),
            )
            .await?;

        use movements::Column as M;
        manager
            .create_table(
                Table::create()
                    .table(movements::Entity)
                    .col(ColumnDef::new(M::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(M::ProductId).string().not_null())
                    .col(ColumnDef::new(M::Kind).string().not_null())
                    .col(ColumnDef::new(M::OnHandDelta).big_integer().not_null())
                    .col(ColumnDef::new(M::ReservedDelta).big_integer().not_null())
                    .col(ColumnDef::new(M::OnHandAfter).big_integer().not_null())
                    .col(ColumnDef::new(M::ReservedAfter).big_integer().not_null())
                    .col(ColumnDef::new(M::Reason).string().not_null())
                    .col(ColumnDef::new(M::OrderId).string().null())
                    .col(ColumnDef::new(M::ActorId).string().null())
                    .col(ColumnDef::new(M::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("movements_product")
                    .table(movements::Entity)
                    .col(M::ProductId)
                    .col(M::Id)
                    .to_owned(),
            )
            .await?;

        use reservations::Column as R;
        manager
            .create_table(
                Table::create()
                    .table(reservations::Entity)
                    .col(ColumnDef::new(R::OrderId).string().not_null().primary_key())
                    .col(ColumnDef::new(R::State).string().not_null())
                    .col(ColumnDef::new(R::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(R::UpdatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        use reservations::lines::Column as L;
        manager
            .create_table(
                Table::create()
                    .table(reservations::lines::Entity)
                    .col(ColumnDef::new(L::OrderId).string().not_null())
                    .col(ColumnDef::new(L::ProductId).string().not_null())
                    .col(ColumnDef::new(L::Quantity).big_integer().not_null())
                    .primary_key(Index::create().col(L::OrderId).col(L::ProductId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            reservations::lines::Entity.into_table_ref(),
            reservations::Entity.into_table_ref(),
            movements::Entity.into_table_ref(),
            stock::Entity.into_table_ref(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
