//! Payments, their history, their refunds, and the Stripe events already processed.

use sea_orm_migration::prelude::*;

use crate::store::{history, payments, stripe_events};

/// The refunds table as this migration made it (one per payment; later replaced).
#[derive(DeriveIden)]
enum Refunds {
    Table,
    PaymentId,
    ProviderRefundId,
    AmountMinor,
    Currency,
    Reason,
    CreatedAt,
}

/// Creates the payment tables.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use payments::Column as P;
        manager
            .create_table(
                Table::create()
                    .table(payments::Entity)
                    .col(ColumnDef::new(P::Id).string().not_null().primary_key())
                    // One payment per order, enforced where no race can slip past it.
                    .col(ColumnDef::new(P::OrderId).string().not_null().unique_key())
                    .col(ColumnDef::new(P::UserId).string().not_null())
                    .col(ColumnDef::new(P::Provider).string().not_null())
                    .col(ColumnDef::new(P::Status).string().not_null())
                    .col(ColumnDef::new(P::AmountMinor).big_integer().not_null())
                    .col(ColumnDef::new(P::Currency).string().not_null())
                    .col(ColumnDef::new(P::ProviderReference).string().null())
                    .col(ColumnDef::new(P::ClientSecret).string().null())
                    .col(ColumnDef::new(P::StatusReason).string().null())
                    .col(ColumnDef::new(P::ExpiresAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(P::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(P::UpdatedAt).timestamp_with_time_zone().not_null())
                    .check(Expr::col(P::AmountMinor).gt(0))
                    .to_owned(),
            )
            .await?;
        // Webhooks find their payment by PaymentIntent id.
        manager
            .create_index(
                Index::create()
                    .name("payments_provider_reference")
                    .table(payments::Entity)
                    .col(P::Provider)
                    .col(P::ProviderReference)
                    .to_owned(),
            )
            .await?;

        use history::Column as H;
        manager
            .create_table(
                Table::create()
                    .table(history::Entity)
                    .col(ColumnDef::new(H::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(H::PaymentId).string().not_null())
                    .col(ColumnDef::new(H::FromStatus).string().null())
                    .col(ColumnDef::new(H::ToStatus).string().not_null())
                    .col(ColumnDef::new(H::Reason).string().null())
                    .col(ColumnDef::new(H::Actor).string().not_null())
                    .col(ColumnDef::new(H::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("payment_history_payment")
                    .table(history::Entity)
                    .col(H::PaymentId)
                    .col(H::Id)
                    .to_owned(),
            )
            .await?;

        use Refunds as R;
        manager
            .create_table(
                Table::create()
                    .table(Refunds::Table)
                    // One refund per payment: the key says so.
                    .col(ColumnDef::new(R::PaymentId).string().not_null().primary_key())
                    .col(ColumnDef::new(R::ProviderRefundId).string().null())
                    .col(ColumnDef::new(R::AmountMinor).big_integer().not_null())
                    .col(ColumnDef::new(R::Currency).string().not_null())
                    .col(ColumnDef::new(R::Reason).string().null())
                    .col(ColumnDef::new(R::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;

        use stripe_events::Column as E;
        manager
            .create_table(
                Table::create()
                    .table(stripe_events::Entity)
                    .col(ColumnDef::new(E::EventId).string().not_null().primary_key())
                    .col(ColumnDef::new(E::EventType).string().not_null())
                    .col(ColumnDef::new(E::ProcessedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            stripe_events::Entity.into_table_ref(),
            Refunds::Table.into_table_ref(),
            history::Entity.into_table_ref(),
            payments::Entity.into_table_ref(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
