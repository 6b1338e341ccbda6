//! Stock per variant: stock rows keyed by variant (with their product, indexed, and a
//! version that grows with every change), reservation lines keyed by order and variant,
//! ledger rows naming their variant. What was there before moves to each product's
//! default variant, whose id is the product id, at version 0: nothing is lost.
//!
//! SQLite cannot change a primary key in place, so on both backends a table whose key
//! changes is rebuilt: the new one is created beside it, the rows copied, the old one
//! dropped and the new one renamed. The ledger only gains a column. All of it is one
//! transaction on both backends (sea-orm-migration opens none on SQLite): the statements
//! then share one connection, which a rename right after a drop needs, and an upgrade that
//! fails leaves the old schema as it was.

use sea_orm::{ConnectionTrait, StatementBuilder, TransactionTrait};
use sea_orm_migration::prelude::*;

use crate::store::{movements, reservations, stock};

/// Keys stock, reservation lines and the ledger by variant.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

/// The name under which a rebuilt table is made before it takes the old one's place.
fn staging(table: &str) -> Alias {
    Alias::new(format!("{table}_rebuilt"))
}

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let txn = manager.get_connection().begin().await?;
        up(&SchemaManager::new(&txn)).await?;
        txn.commit().await
    }

    /// Back to stock per product, for a database that holds nothing but default variants
    /// (otherwise it refuses: a product's variants cannot share one row).
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let txn = manager.get_connection().begin().await?;
        down(&SchemaManager::new(&txn)).await?;
        txn.commit().await
    }
}

async fn up(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use stock::Column as S;
    let next = staging("stock");
    manager
        .create_table(
            Table::create()
                .table(next.clone())
                .col(ColumnDef::new(S::VariantId).string().not_null().primary_key())
                .col(ColumnDef::new(S::ProductId).string().not_null())
                .col(ColumnDef::new(S::OnHand).big_integer().not_null())
                .col(ColumnDef::new(S::Reserved).big_integer().not_null())
                .col(ColumnDef::new(S::Orderable).boolean().not_null())
                .col(ColumnDef::new(S::Version).big_integer().not_null())
                .col(ColumnDef::new(S::CreatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(S::UpdatedAt).timestamp_with_time_zone().not_null())
                // The invariant stays the database's too.
                .check(Expr::col(S::Reserved).gte(0))
                .check(Expr::col(S::Reserved).lte(Expr::col(S::OnHand)))
                .to_owned(),
        )
        .await?;
    let rows = Query::select()
        .from(stock::Entity)
        .expr(Expr::col(S::ProductId))
        .columns([S::ProductId, S::OnHand, S::Reserved, S::Orderable])
        .expr(Expr::val(0_i64))
        .columns([S::CreatedAt, S::UpdatedAt])
        .to_owned();
    let columns =
        [S::VariantId, S::ProductId, S::OnHand, S::Reserved, S::Orderable, S::Version, S::CreatedAt, S::UpdatedAt];
    replace(manager, stock::Entity, next, columns, rows).await?;
    manager
        .create_index(
            Index::create().name("stock_product").table(stock::Entity).col(S::ProductId).col(S::VariantId).to_owned(),
        )
        .await?;

    use reservations::lines::Column as L;
    let next = staging("reservation_lines");
    manager
        .create_table(
            Table::create()
                .table(next.clone())
                .col(ColumnDef::new(L::OrderId).string().not_null())
                .col(ColumnDef::new(L::VariantId).string().not_null())
                .col(ColumnDef::new(L::ProductId).string().not_null())
                .col(ColumnDef::new(L::Quantity).big_integer().not_null())
                .primary_key(Index::create().col(L::OrderId).col(L::VariantId))
                .to_owned(),
        )
        .await?;
    let rows = Query::select()
        .from(reservations::lines::Entity)
        .column(L::OrderId)
        .expr(Expr::col(L::ProductId))
        .columns([L::ProductId, L::Quantity])
        .to_owned();
    let columns = [L::OrderId, L::VariantId, L::ProductId, L::Quantity];
    replace(manager, reservations::lines::Entity, next, columns, rows).await?;

    use movements::Column as M;
    // A new NOT NULL column needs a default on SQLite; every row gets its value at once.
    manager
        .alter_table(
            Table::alter()
                .table(movements::Entity)
                .add_column(ColumnDef::new(M::VariantId).string().not_null().default(""))
                .to_owned(),
        )
        .await?;
    let backfill = Query::update().table(movements::Entity).value(M::VariantId, Expr::col(M::ProductId)).to_owned();
    exec(manager, &backfill).await?;
    manager.drop_index(Index::drop().name("movements_product").table(movements::Entity).to_owned()).await?;
    manager
        .create_index(
            Index::create().name("movements_variant").table(movements::Entity).col(M::VariantId).col(M::Id).to_owned(),
        )
        .await
}

async fn down(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use stock::Column as S;
    let db = manager.get_connection();
    let others = Query::select()
        .expr(Expr::col(S::VariantId).count())
        .from(stock::Entity)
        .and_where(Expr::col(S::VariantId).ne(Expr::col(S::ProductId)))
        .to_owned();
    let count: i64 = match db.query_one(db.get_database_backend().build(&others)).await? {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    if count > 0 {
        return Err(DbErr::Migration(format!(
            "{count} stock rows belong to variants other than their product's default one: stock per product cannot hold them"
        )));
    }

    use movements::Column as M;
    manager.drop_index(Index::drop().name("movements_variant").table(movements::Entity).to_owned()).await?;
    manager.alter_table(Table::alter().table(movements::Entity).drop_column(M::VariantId).to_owned()).await?;
    manager
        .create_index(
            Index::create().name("movements_product").table(movements::Entity).col(M::ProductId).col(M::Id).to_owned(),
        )
        .await?;

    use reservations::lines::Column as L;
    let next = staging("reservation_lines");
    manager
        .create_table(
            Table::create()
                .table(next.clone())
                .col(ColumnDef::new(L::OrderId).string().not_null())
                .col(ColumnDef::new(L::ProductId).string().not_null())
                .col(ColumnDef::new(L::Quantity).big_integer().not_null())
                .primary_key(Index::create().col(L::OrderId).col(L::ProductId))
                .to_owned(),
        )
        .await?;
    let rows =
        Query::select().from(reservations::lines::Entity).columns([L::OrderId, L::ProductId, L::Quantity]).to_owned();
    replace(manager, reservations::lines::Entity, next, [L::OrderId, L::ProductId, L::Quantity], rows).await?;

    manager.drop_index(Index::drop().name("stock_product").table(stock::Entity).to_owned()).await?;
    let next = staging("stock");
    manager
        .create_table(
            Table::create()
                .table(next.clone())
                .col(ColumnDef::new(S::ProductId).string().not_null().primary_key())
                .col(ColumnDef::new(S::OnHand).big_integer().not_null())
                .col(ColumnDef::new(S::Reserved).big_integer().not_null())
                .col(ColumnDef::new(S::Orderable).boolean().not_null())
                .col(ColumnDef::new(S::CreatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(S::UpdatedAt).timestamp_with_time_zone().not_null())
                .check(Expr::col(S::Reserved).gte(0))
                .check(Expr::col(S::Reserved).lte(Expr::col(S::OnHand)))
                .to_owned(),
        )
        .await?;
    let columns = [S::ProductId, S::OnHand, S::Reserved, S::Orderable, S::CreatedAt, S::UpdatedAt];
    let rows = Query::select().from(stock::Entity).columns(columns).to_owned();
    replace(manager, stock::Entity, next, columns, rows).await
}

/// Fills `next` (already created) with `rows` of `table` into `columns`, drops `table` and
/// gives `next` its name.
async fn replace<T, C>(
    manager: &SchemaManager<'_>,
    table: T,
    next: Alias,
    columns: impl IntoIterator<Item = C>,
    rows: SelectStatement,
) -> Result<(), DbErr>
where
    T: IntoIden + Copy + 'static,
    C: IntoIden,
{
    let copy = Query::insert()
        .into_table(next.clone())
        .columns(columns)
        .select_from(rows)
        .map_err(|error| DbErr::Migration(format!("copying into {}: {error}", next.to_string())))?
        .to_owned();
    exec(manager, &copy).await?;
    manager.drop_table(Table::drop().table(table).to_owned()).await?;
    manager.rename_table(Table::rename().table(next, table).to_owned()).await
}

/// Runs a data statement of the migration on its connection.
async fn exec(manager: &SchemaManager<'_>, statement: &impl StatementBuilder) -> Result<(), DbErr> {
    let db = manager.get_connection();
    db.execute(db.get_database_backend().build(statement)).await.map(drop)
}
