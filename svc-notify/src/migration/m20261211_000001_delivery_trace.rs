//! The trace context of the event that queued each message, so that sending it (later, from
//! the sender loop) is part of the same trace.

use sea_orm_migration::prelude::*;

use crate::store::deliveries;

/// Adds `deliveries.traceparent`.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(deliveries::Entity)
                    .add_column(ColumnDef::new(deliveries::Column::Traceparent).string().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(deliveries::Entity).drop_column(deliveries::Column::Traceparent).to_owned(),
            )
            .await
    }
}
