//! Carts, orders with their lines and short lines, and the order history.

use sea_orm_migration::prelude::*;

use crate::store::{carts, history, orders};

/// Creates the cart and order tables.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use carts::Column as C;
        manager
            .create_table(
                Table::create()
                    .table(carts::Entity)
                    .col(ColumnDef::new(C::UserId).string().not_null().primary_key())
                    .col(ColumnDef::new(C::Version).big_integer().not_null())
                    .col(ColumnDef::new(C::UpdatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        use carts::lines::Column as CL;
        manager
            .create_table(
                Table::create()
                    .table(carts::lines::Entity)
                    .col(ColumnDef::new(CL::UserId).string().not_null())
                    .col(ColumnDef::new(CL::ProductId).string().not_null())
                    .col(ColumnDef::new(CL::Quantity).big_integer().not_null())
                    .col(ColumnDef::new(CL::AddedAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(CL::UserId).col(CL::ProductId))
                    // Whatever code runs, a line never holds nothing or a negative count.
                    .check(Expr::col(CL::Quantity).gte(1))
                    .to_owned(),
            )
            .await?;

        use orders::Column as O;
        manager
            .create_table(
                Table::create()
                    .table(orders::Entity)
                    .col(ColumnDef::new(O::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(O::UserId).string().not_null())
                    .col(ColumnDef::new(O::Status).string().not_null())
                    .col(ColumnDef::new(O::IdempotencyKey).string().null())
                    .col(ColumnDef::new(O::TotalMinor).big_integer().not_null())
                    .col(ColumnDef::new(O::Currency).string().not_null())
                    .col(ColumnDef::new(O::AddressId).string().not_null())
                    .col(ColumnDef::new(O::AddressLabel).string().not_null())
                    .col(ColumnDef::new(O::AddressLine1).string().not_null())
                    .col(ColumnDef::new(O::AddressLine2).string().not_null())
                    .col(ColumnDef::new(O::AddressCity).string().not_null())
                    .col(ColumnDef::new(O::AddressPostalCode).string().not_null())
                    .col(ColumnDef::new(O::AddressCountry).string().not_null())
                    .col(ColumnDef::new(O::AddressLatitude).double().null())
                    .col(ColumnDef::new(O::AddressLongitude).double().null())
                    .col(ColumnDef::new(O::Note).string().null())
                    .col(ColumnDef::new(O::PaymentDeadline).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(O::PaymentId).string().null())
                    .col(ColumnDef::new(O::Carrier).string().null())
                    .col(ColumnDef::new(O::TrackingNumber).string().null())
                    .col(ColumnDef::new(O::CancellationSource).string().null())
                    .col(ColumnDef::new(O::CancellationReason).string().null())
                    .col(ColumnDef::new(O::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(O::UpdatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(O::PaidAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(O::ShippedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(O::DeliveredAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(O::ClosedAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        // The idempotency decision: one order per (user, key). Orders without a key have a
        // NULL key, and NULLs never collide (on PostgreSQL and SQLite alike).
        manager
            .create_index(
                Index::create()
                    .name("orders_user_idempotency_key")
                    .table(orders::Entity)
                    .col(O::UserId)
                    .col(O::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // A customer's orders newest first; every order of a status; the overdue sweep.
        manager
            .create_index(
                Index::create().name("orders_user").table(orders::Entity).col(O::UserId).col(O::Id).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("orders_status_deadline")
                    .table(orders::Entity)
                    .col(O::Status)
                    .col(O::PaymentDeadline)
                    .to_owned(),
            )
            .await?;

        use orders::lines::Column as L;
        manager
            .create_table(
                Table::create()
                    .table(orders::lines::Entity)
                    .col(ColumnDef::new(L::OrderId).string().not_null())
                    .col(ColumnDef::new(L::Position).integer().not_null())
                    .col(ColumnDef::new(L::ProductId).string().not_null())
                    .col(ColumnDef::new(L::Sku).string().not_null())
                    .col(ColumnDef::new(L::Name).string().not_null())
                    .col(ColumnDef::new(L::UnitPriceMinor).big_integer().not_null())
                    .col(ColumnDef::new(L::Quantity).big_integer().not_null())
                    .col(ColumnDef::new(L::LineTotalMinor).big_integer().not_null())
                    .primary_key(Index::create().col(L::OrderId).col(L::Position))
                    .to_owned(),
            )
            .await?;
        use orders::rejected::Column as R;
        manager
            .create_table(
                Table::create()
                    .table(orders::rejected::Entity)
                    .col(ColumnDef::new(R::OrderId).string().not_null())
                    .col(ColumnDef::new(R::Position).integer().not_null())
                    .col(ColumnDef::new(R::ProductId).string().not_null())
                    .col(ColumnDef::new(R::Requested).integer().not_null())
                    .col(ColumnDef::new(R::Available).integer().not_null())
                    .primary_key(Index::create().col(R::OrderId).col(R::Position))
                    .to_owned(),
            )
            .await?;

        use history::Column as H;
        manager
            .create_table(
                Table::create()
                    .table(history::Entity)
                    .col(ColumnDef::new(H::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(H::OrderId).string().not_null())
                    .col(ColumnDef::new(H::FromStatus).string().null())
                    .col(ColumnDef::new(H::ToStatus).string().not_null())
                    .col(ColumnDef::new(H::Actor).string().not_null())
                    .col(ColumnDef::new(H::Note).string().not_null())
                    .col(ColumnDef::new(H::EventId).string().null())
                    .col(ColumnDef::new(H::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("order_history_order")
                    .table(history::Entity)
                    .col(H::OrderId)
                    .col(H::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            history::Entity.into_table_ref(),
            orders::rejected::Entity.into_table_ref(),
            orders::lines::Entity.into_table_ref(),
            orders::Entity.into_table_ref(),
            carts::lines::Entity.into_table_ref(),
            carts::Entity.into_table_ref(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
