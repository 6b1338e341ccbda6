//! An index for the revoked sessions every verifier polls for (GetJwks).

use sea_orm_migration::prelude::*;

use crate::store::refresh_tokens;

/// Indexes refresh tokens by when they were revoked.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("refresh_tokens_revoked_at")
                    .table(refresh_tokens::Entity)
                    .col(refresh_tokens::Column::RevokedAt)
                    .to_owned(),
            )
            .await
    }
}
