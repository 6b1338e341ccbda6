//! Options, variants and images. Every product made before gets its default variant (id =
//! the product id, its SKU and status), its price range is its price, and its SKU becomes
//! searchable; nothing stored is lost. Whether it is in stock is not known here: the
//! variants are marked as never heard from svc-inventory (`stock_version = -1`) until the
//! stock sync asks.

use sea_orm::{DatabaseBackend, Statement};
use sea_orm_migration::prelude::*;

use crate::store::{images, products, variants};

/// Adds the variant tables and columns and moves every product onto its default variant.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

fn bytewise(column: &mut ColumnDef, backend: DatabaseBackend) -> &mut ColumnDef {
    if backend == DatabaseBackend::Postgres { column.extra("COLLATE \"C\"") } else { column }
}

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();

        use products::Column as P;
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for column in [
            ColumnDef::new(P::Options).text().not_null().default("[]").to_owned(),
            ColumnDef::new(P::PriceMin).big_integer().not_null().default(0).to_owned(),
            ColumnDef::new(P::PriceMax).big_integer().not_null().default(0).to_owned(),
            ColumnDef::new(P::InStock).boolean().not_null().default(false).to_owned(),
        ] {
            manager.alter_table(Table::alter().table(products::Entity).add_column(column).to_owned()).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("products_by_price_min")
                    .table(products::Entity)
                    .col(P::Status)
                    .col(P::PriceMin)
                    .col(P::Id)
                    .to_owned(),
            )
            .await?;

        use variants::Column as V;
        manager
            .create_table(
                Table::create()
                    .table(variants::Entity)
                    .col(bytewise(ColumnDef::new(V::Id).string().not_null().primary_key(), backend))
                    .col(bytewise(ColumnDef::new(V::ProductId).string().not_null(), backend))
                    .col(ColumnDef::new(V::Position).integer().not_null())
                    .col(ColumnDef::new(V::Sku).string().not_null().unique_key())
                    .col(ColumnDef::new(V::OptionValues).text().not_null())
                    .col(ColumnDef::new(V::OptionKey).text().not_null())
                    .col(ColumnDef::new(V::PriceMinor).big_integer().null())
                    .col(ColumnDef::new(V::Status).string().not_null())
                    .col(ColumnDef::new(V::ImageId).string().null())
                    .col(ColumnDef::new(V::Available).big_integer().not_null())
                    .col(ColumnDef::new(V::StockVersion).big_integer().not_null())
                    .col(ColumnDef::new(V::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(V::UpdatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(variants::Entity, V::ProductId)
                            .to(products::Entity, P::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("variants_combination")
                    .table(variants::Entity)
                    .col(V::ProductId)
                    .col(V::OptionKey)
                    .unique()
                    .to_owned(),
            )
            .await?;

        use variants::options::Column as O;
        manager
            .create_table(
                Table::create()
                    .table(variants::options::Entity)
                    .col(bytewise(ColumnDef::new(O::VariantId).string().not_null(), backend))
                    .col(ColumnDef::new(O::NameKey).string().not_null())
                    .col(bytewise(ColumnDef::new(O::ProductId).string().not_null(), backend))
                    .col(ColumnDef::new(O::Position).integer().not_null())
                    .col(ColumnDef::new(O::Name).string().not_null())
                    .col(ColumnDef::new(O::Value).string().not_null())
                    .col(ColumnDef::new(O::ValueKey).string().not_null())
                    .primary_key(Index::create().col(O::VariantId).col(O::NameKey))
                    .foreign_key(
                        ForeignKey::create()
                            .from(variants::options::Entity, O::VariantId)
                            .to(variants::Entity, V::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("variant_options_by_value")
                    .table(variants::options::Entity)
                    .col(O::NameKey)
                    .col(O::ValueKey)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("variant_options_product")
                    .table(variants::options::Entity)
                    .col(O::ProductId)
                    .to_owned(),
            )
            .await?;

        use images::Column as I;
        manager
            .create_table(
                Table::create()
                    .table(images::Entity)
                    .col(bytewise(ColumnDef::new(I::Id).string().not_null().primary_key(), backend))
                    .col(bytewise(ColumnDef::new(I::ProductId).string().not_null(), backend))
                    .col(ColumnDef::new(I::Position).integer().not_null())
                    .col(ColumnDef::new(I::MediaId).string().null())
                    .col(ColumnDef::new(I::Url).text().not_null())
                    .col(ColumnDef::new(I::Alt).string().not_null())
                    .col(ColumnDef::new(I::VariantId).string().null())
                    .col(ColumnDef::new(I::CreatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(images::Entity, I::ProductId)
                            .to(products::Entity, P::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("product_images_order")
                    .table(images::Entity)
                    .col(I::ProductId)
                    .col(I::Position)
                    .to_owned(),
            )
            .await?;

        // Every product made before: its default variant, its price range, its SKU searchable.
        let newline = if backend == DatabaseBackend::Postgres { "chr(10)" } else { "char(10)" };
        let db = manager.get_connection();
        for sql in [
            "INSERT INTO variants (id, product_id, position, sku, option_values, option_key, price_minor, status, \
             image_id, available, stock_version, created_at, updated_at) \
             SELECT id, id, 0, sku, '[]', '', NULL, status, NULL, 0, -1, created_at, updated_at FROM products"
                .to_owned(),
            format!(
                "UPDATE products SET price_min = price_minor, price_max = price_minor, \
                 search_text = search_text || {newline} || lower(sku)"
            ),
        ] {
            db.execute(Statement::from_string(backend, sql)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            images::Entity.into_table_ref(),
            variants::options::Entity.into_table_ref(),
            variants::Entity.into_table_ref(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
