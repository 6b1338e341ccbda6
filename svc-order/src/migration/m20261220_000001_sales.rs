//! What the sales report needs: an index on when orders were paid, by currency, so a
//! report reads the orders of its range only.

use sea_orm_migration::prelude::*;

use crate::store::orders;

/// The index's name.
const PAID: &str = "orders_currency_paid_at";

/// Adds the index `orders (currency, paid_at)`.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use orders::Column as O;
        manager
            .create_index(Index::create().name(PAID).table(orders::Entity).col(O::Currency).col(O::PaidAt).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(PAID).table(orders::Entity).to_owned()).await
    }
}
