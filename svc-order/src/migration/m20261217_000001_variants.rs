//! Carts and orders by variant (issue 17). A cart line becomes one variant: its key moves
//! from (user, product) to (user, variant), the product kept beside it. An order line
//! snapshots the variant too: its id, option values and image; a rejected line names its
//! variant.
//!
//! Everything from before belonged to a product's one default variant, whose id is the
//! product's: existing cart, order and rejected lines get `variant_id = product_id`, no
//! option values and no image, and read exactly as they did.

use sea_orm::TransactionTrait;
use sea_orm_migration::prelude::*;

use crate::store::{carts, orders};

/// Where the cart lines are copied while their key changes.
const NEXT_CART_LINES: &str = "cart_lines_next";

/// Keys cart lines by variant; adds the variant to order and rejected lines.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite runs migrations outside a transaction and changes tables in several
        // statements here: one of its own, so a failure halfway leaves the old schema whole.
        // (PostgreSQL's migration transaction makes this a savepoint.)
        let txn = manager.get_connection().begin().await?;
        let manager = SchemaManager::new(&txn);
        key_cart_lines_by_variant(&manager).await?;
        add_variants_to_order_lines(&manager).await?;
        txn.commit().await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let txn = manager.get_connection().begin().await?;
        let manager = SchemaManager::new(&txn);
        use orders::{lines::Column as L, rejected::Column as R};
        for column in [L::VariantId, L::OptionValues, L::ImageUrl] {
            manager.alter_table(Table::alter().table(orders::lines::Entity).drop_column(column).to_owned()).await?;
        }
        manager
            .alter_table(Table::alter().table(orders::rejected::Entity).drop_column(R::VariantId).to_owned())
            .await?;
        key_cart_lines_by_product(&manager).await?;
        txn.commit().await
    }
}

/// `cart_lines` keyed by (user, variant), every line its product's default variant.
/// SQLite cannot change a primary key in place: a new table, a copy, the old one dropped,
/// the new one renamed — the same on PostgreSQL, whose primary key and check constraint
/// therefore keep the names they got on `cart_lines_next`.
async fn key_cart_lines_by_variant(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use carts::lines::Column as CL;
    let next = Alias::new(NEXT_CART_LINES);
    manager
        .create_table(
            Table::create()
                .table(next.clone())
                .col(ColumnDef::new(CL::UserId).string().not_null())
                .col(ColumnDef::new(CL::VariantId).string().not_null())
                .col(ColumnDef::new(CL::ProductId).string().not_null())
                .col(ColumnDef::new(CL::Quantity).big_integer().not_null())
                .col(ColumnDef::new(CL::AddedAt).timestamp_with_time_zone().not_null())
                .primary_key(Index::create().col(CL::UserId).col(CL::VariantId))
                // Whatever code runs, a line never holds nothing or a negative count.
                .check(Expr::col(CL::Quantity).gte(1))
                .to_owned(),
        )
        .await?;
    let old_lines = Query::select()
        .columns([CL::UserId, CL::ProductId, CL::ProductId, CL::Quantity, CL::AddedAt])
        .from(carts::lines::Entity)
        .to_owned();
    let copy = Query::insert()
        .into_table(next.clone())
        .columns([CL::UserId, CL::VariantId, CL::ProductId, CL::Quantity, CL::AddedAt])
        .select_from(old_lines)
        .map_err(|error| DbErr::Migration(format!("copying the cart lines: {error}")))?
        .to_owned();
    manager.exec_stmt(copy).await?;
    manager.drop_table(Table::drop().table(carts::lines::Entity).to_owned()).await?;
    manager.rename_table(Table::rename().table(next, carts::lines::Entity).to_owned()).await
}

/// Back to `cart_lines` keyed by (user, product): the lines of one product's variants
/// become one line with their units added up (the earliest added time kept).
async fn key_cart_lines_by_product(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use carts::lines::Column as CL;
    let next = Alias::new(NEXT_CART_LINES);
    manager
        .create_table(
            Table::create()
                .table(next.clone())
                .col(ColumnDef::new(CL::UserId).string().not_null())
                .col(ColumnDef::new(CL::ProductId).string().not_null())
                .col(ColumnDef::new(CL::Quantity).big_integer().not_null())
                .col(ColumnDef::new(CL::AddedAt).timestamp_with_time_zone().not_null())
                .primary_key(Index::create().col(CL::UserId).col(CL::ProductId))
                .check(Expr::col(CL::Quantity).gte(1))
                .to_owned(),
        )
        .await?;
    let merged = Query::select()
        .columns([CL::UserId, CL::ProductId])
        .expr(Expr::col(CL::Quantity).sum())
        .expr(Expr::col(CL::AddedAt).min())
        .from(carts::lines::Entity)
        .group_by_columns([CL::UserId, CL::ProductId])
        .to_owned();
    let copy = Query::insert()
        .into_table(next.clone())
        .columns([CL::UserId, CL::ProductId, CL::Quantity, CL::AddedAt])
        .select_from(merged)
        .map_err(|error| DbErr::Migration(format!("copying the cart lines: {error}")))?
        .to_owned();
    manager.exec_stmt(copy).await?;
    manager.drop_table(Table::drop().table(carts::lines::Entity).to_owned()).await?;
    manager.rename_table(Table::rename().table(next, carts::lines::Entity).to_owned()).await
}

/// `order_lines.variant_id`, `.option_values` and `.image_url`, and
/// `order_rejected_lines.variant_id`; the lines already there get their product's id as
/// their variant's. One column per statement: SQLite alters no more at once.
async fn add_variants_to_order_lines(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use orders::{lines::Column as L, rejected::Column as R};
    for column in [
        ColumnDef::new(L::VariantId).string().not_null().default("").to_owned(),
        // A JSON array of {name, value}; none for a default variant.
        ColumnDef::new(L::OptionValues).text().not_null().default("[]").to_owned(),
        ColumnDef::new(L::ImageUrl).string().not_null().default("").to_owned(),
    ] {
        manager.alter_table(Table::alter().table(orders::lines::Entity).add_column(column).to_owned()).await?;
    }
    let variant_is_product =
        Query::update().table(orders::lines::Entity).value(L::VariantId, Expr::col(L::ProductId)).to_owned();
    manager.exec_stmt(variant_is_product).await?;

    manager
        .alter_table(
            Table::alter()
                .table(orders::rejected::Entity)
                .add_column(ColumnDef::new(R::VariantId).string().not_null().default(""))
                .to_owned(),
        )
        .await?;
    let variant_is_product =
        Query::update().table(orders::rejected::Entity).value(R::VariantId, Expr::col(R::ProductId)).to_owned();
    manager.exec_stmt(variant_is_product).await
}
