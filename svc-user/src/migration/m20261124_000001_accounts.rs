//! Accounts, addresses, refresh tokens and signing keys.

use sea_orm_migration::prelude::*;

use crate::store::{addresses, refresh_tokens, signing_keys, users};

/// Creates the account tables.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use users::Column as U;
        manager
            .create_table(
                Table::create()
                    .table(users::Entity)
                    .col(ColumnDef::new(U::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(U::Email).string().not_null().unique_key())
                    .col(ColumnDef::new(U::PasswordHash).string().not_null())
                    .col(ColumnDef::new(U::FirstName).string().not_null())
                    .col(ColumnDef::new(U::LastName).string().not_null())
                    .col(ColumnDef::new(U::Phone).string().null())
                    .col(ColumnDef::new(U::Role).string().not_null())
                    .col(ColumnDef::new(U::Status).string().not_null())
                    .col(ColumnDef::new(U::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(U::UpdatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;

        use addresses::Column as A;
        manager
            .create_table(
                Table::create()
                    .table(addresses::Entity)
                    .col(ColumnDef::new(A::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(A::UserId).string().not_null())
                    .col(ColumnDef::new(A::Label).string().not_null())
                    .col(ColumnDef::new(A::Line1).string().not_null())
                    .col(ColumnDef::new(A::Line2).string().not_null())
                    .col(ColumnDef::new(A::City).string().not_null())
                    .col(ColumnDef::new(A::PostalCode).string().not_null())
                    .col(ColumnDef::new(A::Country).string().not_null())
                    .col(ColumnDef::new(A::Latitude).double().null())
                    .col(ColumnDef::new(A::Longitude).double().null())
                    .col(ColumnDef::new(A::CreatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(addresses::Entity, A::UserId)
                            .to(users::Entity, U::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("addresses_user").table(addresses::Entity).col(A::UserId).to_owned())
            .await?;

        use refresh_tokens::Column as R;
        manager
            .create_table(
                Table::create()
                    .table(refresh_tokens::Entity)
                    .col(ColumnDef::new(R::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(R::UserId).string().not_null())
                    .col(ColumnDef::new(R::FamilyId).string().not_null())
                    .col(ColumnDef::new(R::TokenHash).string().not_null().unique_key())
                    .col(ColumnDef::new(R::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(R::ExpiresAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(R::UsedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(R::RevokedAt).timestamp_with_time_zone().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(refresh_tokens::Entity, R::UserId)
                            .to(users::Entity, U::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("refresh_tokens_user").table(refresh_tokens::Entity).col(R::UserId).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("refresh_tokens_family").table(refresh_tokens::Entity).col(R::FamilyId).to_owned(),
            )
            .await?;

        use signing_keys::Column as K;
        manager
            .create_table(
                Table::create()
                    .table(signing_keys::Entity)
                    .col(ColumnDef::new(K::Kid).string().not_null().primary_key())
                    .col(ColumnDef::new(K::PrivateKey).blob().not_null())
                    .col(ColumnDef::new(K::PublicKey).blob().not_null())
                    .col(ColumnDef::new(K::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(K::RetiredAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            refresh_tokens::Entity.into_table_ref(),
            addresses::Entity.into_table_ref(),
            signing_keys::Entity.into_table_ref(),
            users::Entity.into_table_ref(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
