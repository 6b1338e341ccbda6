//! GetSalesReport: an admin looks at a range of days. Every day is there (zero when
//! nothing sold), each with the orders paid that day in the report's currency and what
//! they brought in less their refunds; orders not paid, paid outside the range (to the
//! second) or in another currency do not count. The best sellers rank by units. Bad
//! fields are named; customers may not ask.

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use mart_platform::{
    db_tests,
    test_util::{TestDb, bad_fields, eventually},
};
use mart_proto::{common::Money, order as pb};
use pb::OrderStatus as S;
use sea_orm::{EntityTrait as _, QueryFilter as _, entity::prelude::ColumnTrait as _, sea_query::Expr};
use svc_order::store::orders;
use tonic::Code;

use crate::support::{Customer, Refund, Shop, authed, eur};

db_tests!(
    a_report_counts_the_paid_orders_of_its_days_and_currency,
    the_default_report_is_the_last_thirty_days_in_usd,
    bad_fields_are_named_and_customers_may_not_ask,
);

/// Places `who`'s order of `quantity` × `product_id`, pays it, and dates its payment `at`
/// (as if it had been paid then); the order.
async fn paid_at(shop: &Shop, who: &Customer, product_id: &str, quantity: i32, at: DateTime<Utc>) -> pb::Order {
    paid_in(shop, who, product_id, quantity, at, "EUR").await
}

/// [`paid_at`], the order in `currency` (as if placed when the shop sold in it: the
/// catalog has one currency at a time).
async fn paid_in(
    shop: &Shop,
    who: &Customer,
    product_id: &str,
    quantity: i32,
    at: DateTime<Utc>,
    currency: &str,
) -> pb::Order {
    shop.add(who, product_id, quantity).await.unwrap();
    let placed = shop.place(who).await.unwrap();
    let awaiting = shop.awaiting_payment(who, &placed.id).await;
    shop.pay(&awaiting, &format!("pay-{}", placed.id)).await;
    let paid = shop.wait_for(who, &placed.id, S::Paid).await;
    let db = mart_platform::db::connect(&shop.db.url).await.unwrap();
    orders::Entity::update_many()
        .col_expr(orders::Column::PaidAt, Expr::value(at))
        .col_expr(orders::Column::Currency, Expr::value(currency))
        .filter(orders::Column::Id.eq(placed.id.as_str()))
        .exec(&db)
        .await
        .unwrap();
    paid
}

async fn report(shop: &Shop, request: pb::GetSalesReportRequest) -> Result<pb::GetSalesReportResponse, tonic::Status> {
    Ok(shop.orders().get_sales_report(authed(&shop.admin, request)).await?.into_inner())
}

fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(chrono::NaiveTime::MIN).and_utc()
}

async fn a_report_counts_the_paid_orders_of_its_days_and_currency(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let bob = shop.customer("bob@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 50).await;
    let matcha = shop.product("MATCHA", 2450, 50).await;
    let first = Utc::now().date_naive() - Days::new(60);
    let last = first + Days::new(4);

    // On the range's first instant, and its last second; one a second after it.
    let a = paid_at(&shop, &ada, &sencha, 2, midnight(first)).await;
    let b = paid_at(&shop, &bob, &matcha, 1, midnight(last) + TimeDelta::seconds(86_399)).await;
    paid_at(&shop, &ada, &matcha, 5, midnight(last + Days::new(1))).await;
    // In dollars, on the second day; and one never paid.
    paid_in(&shop, &bob, &matcha, 3, midnight(first + Days::new(1)) + TimeDelta::hours(12), "USD").await;
    shop.add(&ada, &sencha, 7).await.unwrap();
    shop.place(&ada).await.unwrap();
    // Bob's order on the last day: 2 SENCHA more, and 10.00 of his MATCHA refunded.
    let b2 = paid_at(&shop, &bob, &sencha, 2, midnight(last) + TimeDelta::hours(9)).await;
    shop.refund(&b, Refund { id: "re-1", amount: 1000, so_far: 1000, full: false, reason: "", lines: &[] }).await;
    eventually("the refund to be recorded", || async {
        shop.get(&bob.token, &b.id).await.ok().filter(|order| order.refunded == Some(eur(1000)))
    })
    .await;

    let request =
        || pb::GetSalesReportRequest { from: day(first), to: day(last), currency: "EUR".into(), ..Default::default() };
    let sales = report(&shop, request()).await.unwrap();
    assert_eq!((sales.from.as_str(), sales.to.as_str()), (day(first).as_str(), day(last).as_str()));
    let days: Vec<(String, i32, Option<Money>)> =
        sales.days.iter().map(|d| (d.date.clone(), d.orders, d.revenue.clone())).collect();
    let expected = [
        (day(first), 1, Some(eur(2598))),
        (day(first + Days::new(1)), 0, Some(eur(0))),
        (day(first + Days::new(2)), 0, Some(eur(0))),
        (day(first + Days::new(3)), 0, Some(eur(0))),
        (day(last), 2, Some(eur(2450 - 1000 + 2598))),
    ];
    assert_eq!(days, expected, "every day; EUR only; paid in range only; refunds subtracted");
    assert_eq!((sales.total_orders, sales.total_revenue), (2 + 1, Some(eur(2598 + 1450 + 2598))));
    let sellers: Vec<(&str, i64, Option<Money>)> =
        sales.best_sellers.iter().map(|s| (s.sku.as_str(), s.units, s.revenue.clone())).collect();
    assert_eq!(sellers, [("SENCHA", 4, Some(eur(5196))), ("MATCHA", 1, Some(eur(2450)))], "by units");
    let best = &sales.best_sellers[0];
    assert_eq!((best.name.as_str(), best.product_id.as_str()), ("Tea SENCHA", sencha.as_str()));
    assert_eq!(best.variant_id, a.lines[0].variant_id);
    assert_eq!(b2.lines[0].variant_id, best.variant_id, "one variant over both orders");

    let top = report(&shop, pb::GetSalesReportRequest { top: 1, ..request() }).await.unwrap();
    assert_eq!(top.best_sellers.iter().map(|s| s.sku.as_str()).collect::<Vec<_>>(), ["SENCHA"]);

    let dollars = report(&shop, pb::GetSalesReportRequest { currency: "USD".into(), ..request() }).await.unwrap();
    let usd = |amount_minor| Some(Money { amount_minor, currency: "USD".into() });
    assert_eq!((dollars.total_orders, dollars.total_revenue), (1, usd(3 * 2450)));
    assert_eq!((dollars.days[1].orders, dollars.days[1].revenue.clone()), (1, usd(3 * 2450)));
    let sellers: Vec<_> = dollars.best_sellers.iter().map(|s| (s.sku.as_str(), s.units, s.revenue.clone())).collect();
    assert_eq!(sellers, [("MATCHA", 3, usd(3 * 2450))]);
}

async fn the_default_report_is_the_last_thirty_days_in_usd(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 50).await;
    paid_in(&shop, &ada, &sencha, 3, Utc::now(), "USD").await;
    // Orders in other currencies do not count (the catalog's is EUR).
    paid_at(&shop, &ada, &sencha, 1, Utc::now()).await;

    let sales = report(&shop, pb::GetSalesReportRequest::default()).await.unwrap();
    // Around midnight the order may have been paid "yesterday": the report's today is its own.
    let today = NaiveDate::parse_from_str(&sales.to, "%Y-%m-%d").unwrap();
    assert!(today >= Utc::now().date_naive() - Days::new(1));
    assert_eq!(sales.from, day(today - Days::new(29)));
    assert_eq!(sales.days.len(), 30);
    assert_eq!(sales.days.last().map(|d| d.date.clone()), Some(sales.to.clone()), "oldest first");
    assert_eq!(sales.total_orders, 1);
    assert_eq!(sales.total_revenue, Some(Money { amount_minor: 3 * 1299, currency: "USD".into() }));
    assert_eq!(sales.best_sellers.first().map(|s| s.units), Some(3));
}

async fn bad_fields_are_named_and_customers_may_not_ask(db: TestDb) {
    let shop = Shop::open(db).await;
    let bad = |from: &str, to: &str, currency: &str, top: i32| pb::GetSalesReportRequest {
        from: from.into(),
        to: to.into(),
        currency: currency.into(),
        top,
    };
    let fields = |status: tonic::Status| bad_fields(&status);
    assert_eq!(
        fields(report(&shop, bad("2026-13-01", "tomorrow", "dollars", -1)).await.unwrap_err()),
        ["from", "to", "currency", "top"]
    );
    assert_eq!(fields(report(&shop, bad("2026-03-02", "2026-03-01", "", 0)).await.unwrap_err()), ["to"]);
    assert_eq!(fields(report(&shop, bad("2025-01-01", "2026-01-02", "", 0)).await.unwrap_err()), ["from"]);
    let longest = report(&shop, bad("2024-01-01", "2024-12-31", "EUR", 0)).await.expect("366 days");
    assert_eq!(longest.days.len(), 366);
    assert_eq!(fields(report(&shop, bad("", "", "EURO", 0)).await.unwrap_err()), ["currency"]);

    let ada = shop.customer("ada@mart.test").await;
    let request = authed(&ada.token, pb::GetSalesReportRequest::default());
    let denied = shop.orders().get_sales_report(request).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
}
