//! The sales report's queries over `orders` and `order_lines`.
//!
//! The sums are the database's, on PostgreSQL and SQLite alike: the days are grouped and
//! summed in SQL (one row per day with sales, so at most 366 come back), and the lines of
//! the range's paid orders summed per variant (one row per variant sold). What is left to
//! Rust is bounded by those rows: filling the days without sales, ranking the variants
//! (ties need the SKU of each variant's latest line), and reading the latest lines of the
//! few that make the list. Only the day of a timestamp is spelled per backend.

use chrono::NaiveDate;
use sea_orm::{
    Condition, DatabaseBackend, QuerySelect,
    entity::prelude::*,
    sea_query::{Expr, Query, SimpleExpr},
};

use super::orders::{self, Column as O, lines};
use crate::domain::sales::{self, BestSeller, Day, SalesQuery};

/// What a report says, before encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SalesReport {
    /// Every day of the range, oldest first.
    pub days: Vec<Day>,
    /// The best sellers, best first.
    pub best_sellers: Vec<BestSeller>,
}

/// The report `query` asks for.
pub async fn report<C: ConnectionTrait>(db: &C, query: &SalesQuery) -> Result<SalesReport, DbErr> {
    let sold = days(db, query).await?;
    Ok(SalesReport { days: sales::every_day(query, &sold), best_sellers: best_sellers(db, query).await? })
}

/// The orders a report counts: in its currency, paid within its range.
fn paid_in(query: &SalesQuery) -> Condition {
    let (start, end) = query.span();
    Condition::all().add(O::Currency.eq(query.currency.code())).add(O::PaidAt.gte(start)).add(O::PaidAt.lt(end))
}

/// `paid_at`'s day in UTC as `YYYY-MM-DD`. SQLite stores the timestamp as text with its
/// offset, which `strftime` applies; PostgreSQL's is a `timestamptz`.
fn paid_day(backend: DatabaseBackend) -> SimpleExpr {
    match backend {
        DatabaseBackend::Postgres => Expr::cust("to_char(orders.paid_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
        DatabaseBackend::Sqlite | DatabaseBackend::MySql => Expr::cust("strftime('%Y-%m-%d', orders.paid_at)"),
    }
}

/// Per day with sales: the orders paid and their totals less their refunds. (`SUM` of a
/// `BIGINT` is a `NUMERIC` on PostgreSQL: cast back.)
async fn days<C: ConnectionTrait>(db: &C, query: &SalesQuery) -> Result<Vec<Day>, DbErr> {
    let day = paid_day(db.get_database_backend());
    let rows: Vec<(String, i64, i64)> = orders::Entity::find()
        .select_only()
        .column_as(day.clone(), "day")
        .column_as(O::Id.count(), "orders")
        .column_as(Expr::cust("CAST(SUM(orders.total_minor - orders.refunded_minor) AS BIGINT)"), "revenue")
        .filter(paid_in(query))
        .group_by(day)
        .into_tuple()
        .all(db)
        .await?;
    rows.into_iter()
        .map(|(day, orders, revenue_minor)| {
            let date = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                .map_err(|error| DbErr::Custom(format!("the day {day:?} of a paid order does not read: {error}")))?;
            Ok(Day { date, orders, revenue_minor })
        })
        .collect()
}

/// The variants that sold the most units over the range's paid orders, ranked, with the
/// names of each one's latest line (its newest order: ids are UUIDv7).
async fn best_sellers<C: ConnectionTrait>(db: &C, query: &SalesQuery) -> Result<Vec<BestSeller>, DbErr> {
    let paid = Query::select().column(O::Id).from(orders::Entity).cond_where(paid_in(query)).to_owned();
    let mut sums: Vec<(String, i64, i64, String)> = lines::Entity::find()
        .select_only()
        .column(lines::Column::VariantId)
        .column_as(Expr::cust("CAST(SUM(order_lines.quantity) AS BIGINT)"), "units")
        .column_as(Expr::cust("CAST(SUM(order_lines.line_total_minor) AS BIGINT)"), "revenue")
        .column_as(lines::Column::OrderId.max(), "latest")
        .filter(lines::Column::OrderId.in_subquery(paid))
        .group_by(lines::Column::VariantId)
        .into_tuple()
        .all(db)
        .await?;
    // Those that can make the list: the first `top` by units and revenue, and whoever ties
    // with the last of them (the SKU decides, and it is on the lines).
    sums.sort_by_key(|(_, units, revenue, _)| std::cmp::Reverse((*units, *revenue)));
    if let Some(&(_, units, revenue, _)) = sums.get(query.top.saturating_sub(1)) {
        sums.retain(|(_, u, r, _)| (*u, *r) >= (units, revenue));
    }
    if query.top == 0 || sums.is_empty() {
        return Ok(Vec::new());
    }
    let latest: Vec<lines::Model> = lines::Entity::find()
        .filter(lines::Column::OrderId.is_in(sums.iter().map(|(_, _, _, order_id)| order_id.clone())))
        .all(db)
        .await?;
    let sellers = sums
        .into_iter()
        .filter_map(|(variant_id, units, revenue_minor, order_id)| {
            let line = latest.iter().find(|line| line.order_id == order_id && line.variant_id == variant_id)?;
            Some(line.option_values().map(|option_values| BestSeller {
                product_id: line.product_id.clone(),
                name: line.name.clone(),
                sku: line.sku.clone(),
                option_values,
                units,
                revenue_minor,
                variant_id,
            }))
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    Ok(sales::rank(sellers, query.top))
}
