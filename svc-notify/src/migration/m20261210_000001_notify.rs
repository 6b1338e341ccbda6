//! Contacts, the inbox, and the outgoing-message queue.

use sea_orm_migration::prelude::*;

use crate::store::{contacts, deliveries, notifications};

/// Creates the notification tables.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use contacts::Column as C;
        manager
            .create_table(
                Table::create()
                    .table(contacts::Entity)
                    .col(ColumnDef::new(C::UserId).string().not_null().primary_key())
                    .col(ColumnDef::new(C::Email).string().not_null())
                    .col(ColumnDef::new(C::FirstName).string().not_null())
                    .col(ColumnDef::new(C::LastName).string().not_null())
                    .col(ColumnDef::new(C::Phone).string().null())
                    .col(ColumnDef::new(C::Deleted).boolean().not_null())
                    .col(ColumnDef::new(C::UpdatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;

        use notifications::Column as N;
        manager
            .create_table(
                Table::create()
                    .table(notifications::Entity)
                    .col(ColumnDef::new(N::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(N::UserId).string().not_null())
                    .col(ColumnDef::new(N::Kind).string().not_null())
                    .col(ColumnDef::new(N::Subject).string().not_null())
                    .col(ColumnDef::new(N::Body).text().not_null())
                    .col(ColumnDef::new(N::OrderId).string().null())
                    .col(ColumnDef::new(N::Channels).string().not_null())
                    .col(ColumnDef::new(N::SourceId).string().not_null())
                    .col(ColumnDef::new(N::ReadAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(N::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        // One inbox entry per event, whatever the bus redelivers.
        manager
            .create_index(
                Index::create()
                    .name("notifications_source")
                    .table(notifications::Entity)
                    .col(N::SourceId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The inbox, newest first.
        manager
            .create_index(
                Index::create()
                    .name("notifications_user")
                    .table(notifications::Entity)
                    .col(N::UserId)
                    .col(N::Id)
                    .to_owned(),
            )
            .await?;

        use deliveries::Column as D;
        manager
            .create_table(
                Table::create()
                    .table(deliveries::Entity)
                    .col(ColumnDef::new(D::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(D::NotificationId).string().not_null())
                    .col(ColumnDef::new(D::UserId).string().not_null())
                    .col(ColumnDef::new(D::Channel).string().not_null())
                    .col(ColumnDef::new(D::SourceId).string().not_null())
                    .col(ColumnDef::new(D::Subject).string().not_null())
                    .col(ColumnDef::new(D::BodyText).text().not_null())
                    .col(ColumnDef::new(D::BodyHtml).text().not_null())
                    .col(ColumnDef::new(D::Status).string().not_null())
                    .col(ColumnDef::new(D::Attempts).integer().not_null())
                    .col(ColumnDef::new(D::LastError).text().null())
                    .col(ColumnDef::new(D::Recipient).string().null())
                    .col(ColumnDef::new(D::NextAttemptAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(D::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(D::UpdatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(D::SentAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        // One message per event and channel: a redelivered event sends no second email.
        manager
            .create_index(
                Index::create()
                    .name("deliveries_source_channel")
                    .table(deliveries::Entity)
                    .col(D::SourceId)
                    .col(D::Channel)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // What the sender polls.
        manager
            .create_index(
                Index::create()
                    .name("deliveries_due")
                    .table(deliveries::Entity)
                    .col(D::Status)
                    .col(D::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("deliveries_user").table(deliveries::Entity).col(D::UserId).to_owned())
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("deliveries_notification")
                    .table(deliveries::Entity)
                    .col(D::NotificationId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            deliveries::Entity.into_table_ref(),
            notifications::Entity.into_table_ref(),
            contacts::Entity.into_table_ref(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
