//! What the caps on open unpaid orders need: the client address an order was placed from
//! (indexed, to count an address's orders) and the rows PlaceOrder locks per address.

use sea_orm_migration::prelude::*;

use crate::store::orders;

/// Adds `orders.client_address` and the `order_address_locks` table.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use orders::Column as O;
        // Orders placed before this migration have none: they count for their account only.
        manager
            .alter_table(
                Table::alter()
                    .table(orders::Entity)
                    .add_column(ColumnDef::new(O::ClientAddress).string().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("orders_client_address")
                    .table(orders::Entity)
                    .col(O::ClientAddress)
                    .col(O::Status)
                    .to_owned(),
            )
            .await?;
        use orders::address_locks::Column as A;
        manager
            .create_table(
                Table::create()
                    .table(orders::address_locks::Entity)
                    .col(ColumnDef::new(A::Bucket).integer().not_null().primary_key())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(orders::address_locks::Entity).to_owned()).await?;
        manager.drop_index(Index::drop().name("orders_client_address").table(orders::Entity).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(orders::Entity).drop_column(orders::Column::ClientAddress).to_owned())
            .await
    }
}
