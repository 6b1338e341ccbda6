//! Settings, categories and products.

use sea_orm::DatabaseBackend;
use sea_orm_migration::prelude::*;

use crate::store::{categories, products, settings};

/// Creates the catalog tables.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

/// A column that is sorted and compared by its bytes on every backend. SQLite does that
/// already; PostgreSQL would use the database's locale, which differs between machines and
/// would make the sort keys of ListProducts and ListCategories (names, and ids as the
/// tie-breaker) order differently depending on where the shop runs.
fn bytewise(column: &mut ColumnDef, backend: DatabaseBackend) -> &mut ColumnDef {
    if backend == DatabaseBackend::Postgres { column.extra("COLLATE \"C\"") } else { column }
}

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();

        use settings::Column as S;
        manager
            .create_table(
                Table::create()
                    .table(settings::Entity)
                    .col(ColumnDef::new(S::Name).string().not_null().primary_key())
                    .col(ColumnDef::new(S::Value).blob().not_null())
                    .to_owned(),
            )
            .await?;

        use categories::Column as C;
        manager
            .create_table(
                Table::create()
                    .table(categories::Entity)
                    .col(bytewise(ColumnDef::new(C::Id).string().not_null().primary_key(), backend))
                    .col(ColumnDef::new(C::Name).string().not_null())
                    .col(bytewise(ColumnDef::new(C::NameKey).string().not_null().unique_key(), backend))
                    .col(ColumnDef::new(C::Description).text().not_null())
                    .col(ColumnDef::new(C::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(C::UpdatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;

        use products::Column as P;
        manager
            .create_table(
                Table::create()
                    .table(products::Entity)
                    .col(bytewise(ColumnDef::new(P::Id).string().not_null().primary_key(), backend))
                    .col(ColumnDef::new(P::Sku).string().not_null().unique_key())
                    .col(ColumnDef::new(P::Name).string().not_null())
                    .col(bytewise(ColumnDef::new(P::NameKey).string().not_null(), backend))
                    .col(ColumnDef::new(P::Description).text().not_null())
                    .col(ColumnDef::new(P::Brand).string().not_null())
                    .col(ColumnDef::new(P::BrandKey).string().not_null())
                    .col(ColumnDef::new(P::SearchText).text().not_null())
                    .col(ColumnDef::new(P::PriceMinor).big_integer().not_null())
                    .col(ColumnDef::new(P::Currency).string().not_null())
                    .col(bytewise(ColumnDef::new(P::CategoryId).string().not_null(), backend))
                    .col(ColumnDef::new(P::ExpiresAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(P::Status).string().not_null())
                    .col(ColumnDef::new(P::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(P::UpdatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(products::Entity, P::CategoryId)
                            .to(categories::Entity, C::Id)
                            // Orders reference products, archived ones too: a category
                            // with products is never deleted from under them.
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // One index per ListProducts order, led by status (lists show active products
        // only) and ending in id (the keyset tie-breaker), plus the category filter and
        // the category-in-use count.
        for (name, columns) in [
            ("products_by_created", vec![P::Status, P::Id]),
            ("products_by_price", vec![P::Status, P::PriceMinor, P::Id]),
            ("products_by_name", vec![P::Status, P::NameKey, P::Id]),
            ("products_category", vec![P::CategoryId]),
            ("products_brand", vec![P::BrandKey]),
        ] {
            let mut index = Index::create();
            index.name(name).table(products::Entity);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in
            [products::Entity.into_table_ref(), categories::Entity.into_table_ref(), settings::Entity.into_table_ref()]
        {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
