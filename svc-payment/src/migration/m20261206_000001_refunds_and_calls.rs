//! Partial refunds and provider calls made outside transactions: `payment_refunds` (every
//! refund of a payment, with its status and lines) replaces `refunds` (one per payment;
//! its rows are carried over as succeeded), payments learn what they gave back
//! (`refunded_minor`), and `provider_calls` queues what the provider is to be asked.

use sea_orm_migration::prelude::*;

use crate::store::{calls, payments, refunds};

/// Creates `payment_refunds` and `provider_calls`, moves the old refunds over.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

/// The table this migration replaces.
#[derive(DeriveIden)]
enum OldRefunds {
    #[sea_orm(iden = "refunds")]
    Table,
}

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use refunds::Column as R;
        manager
            .create_table(
                Table::create()
                    .table(refunds::Entity)
                    .col(ColumnDef::new(R::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(R::PaymentId).string().not_null())
                    .col(ColumnDef::new(R::OrderId).string().not_null())
                    .col(ColumnDef::new(R::AmountMinor).big_integer().not_null())
                    .col(ColumnDef::new(R::Currency).string().not_null())
                    .col(ColumnDef::new(R::Status).string().not_null())
                    .col(ColumnDef::new(R::Reason).string().null())
                    .col(ColumnDef::new(R::Lines).text().not_null())
                    .col(ColumnDef::new(R::ProviderRefundId).string().null())
                    .col(ColumnDef::new(R::RequestedBy).string().not_null())
                    .col(ColumnDef::new(R::FailureReason).string().null())
                    .col(ColumnDef::new(R::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(R::UpdatedAt).timestamp_with_time_zone().not_null())
                    .check(Expr::col(R::AmountMinor).gt(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("payment_refunds_payment").table(refunds::Entity).col(R::PaymentId).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(payments::Entity)
                    .add_column(ColumnDef::new(payments::Column::RefundedMinor).big_integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;
        // Each old refund was the full refund of its payment.
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO payment_refunds (id, payment_id, order_id, amount_minor, currency, status, reason, lines, \
             provider_refund_id, requested_by, failure_reason, created_at, updated_at) \
             SELECT r.payment_id, r.payment_id, p.order_id, r.amount_minor, r.currency, 'succeeded', r.reason, '[]', \
             r.provider_refund_id, 'migrated', NULL, r.created_at, r.created_at \
             FROM refunds r JOIN payments p ON p.id = r.payment_id",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE payments SET refunded_minor = amount_minor WHERE id IN (SELECT payment_id FROM refunds)",
        )
        .await?;
        manager.drop_table(Table::drop().table(OldRefunds::Table).to_owned()).await?;

        use calls::Column as C;
        manager
            .create_table(
                Table::create()
                    .table(calls::Entity)
                    .col(ColumnDef::new(C::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(C::PaymentId).string().not_null())
                    .col(ColumnDef::new(C::OrderId).string().not_null())
                    .col(ColumnDef::new(C::Kind).string().not_null())
                    .col(ColumnDef::new(C::Detail).string().null())
                    .col(ColumnDef::new(C::Status).string().not_null())
                    .col(ColumnDef::new(C::Attempts).integer().not_null())
                    .col(ColumnDef::new(C::NextAttemptAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(C::QueuedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(C::LastError).string().null())
                    .col(ColumnDef::new(C::UpdatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("provider_calls_queued").table(calls::Entity).col(C::Status).col(C::Id).to_owned(),
            )
            .await
    }
}
