//! The checkout's trace context on each payment, so that the payment's later events (paid
//! by a webhook or an admin, failed, refunded) continue the checkout's trace.

use sea_orm_migration::prelude::*;

use crate::store::payments;

/// Adds `payments.traceparent`.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(payments::Entity)
                    .add_column(ColumnDef::new(payments::Column::Traceparent).string().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(payments::Entity).drop_column(payments::Column::Traceparent).to_owned())
            .await
    }
}
