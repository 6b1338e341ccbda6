//! Upgrading a database made before variants: carts and orders written by the old code
//! come through the migration whole, each line its product's one (default) variant.

use chrono::{DateTime, TimeDelta, Utc};
use mart_platform::{db_tests, test_util::TestDb};
use mart_proto::order::{self as pb, OrderStatus as S};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use sea_orm_migration::{
    MigratorTrait,
    sea_query::{Alias, IntoIden, Query, SimpleExpr},
};
use svc_order::migration::Migrator;

use crate::support::{Options, Shop, authed, eur};

db_tests!(carts_and_orders_from_before_variants_read_the_same_after_the_upgrade);

/// The first migration of variants: everything before it is the schema the old code ran on.
const VARIANTS: &str = "m20261217_000001_variants";

/// Inserts one row into `table` of the old schema, column by column, as the old code's
/// entities wrote it (they no longer exist: the tables have changed since).
async fn insert(db: &DatabaseConnection, table: &str, row: Vec<(&str, SimpleExpr)>) {
    let (columns, values): (Vec<_>, Vec<_>) = row.into_iter().map(|(c, v)| (Alias::new(c).into_iden(), v)).unzip();
    let mut insert = Query::insert();
    insert.into_table(Alias::new(table)).columns(columns).values_panic(values);
    db.execute(db.get_database_backend().build(&insert)).await.unwrap_or_else(|e| panic!("insert into {table}: {e}"));
}

fn text(value: &str) -> SimpleExpr {
    value.into()
}

fn at(time: DateTime<Utc>) -> SimpleExpr {
    time.into()
}

/// An order row as PlaceOrder wrote it, in `status`, for `user_id`, of `total` EUR cents.
fn old_order(
    id: &str,
    user_id: &str,
    address_id: &str,
    status: &str,
    total: i64,
    placed: DateTime<Utc>,
) -> Vec<(&'static str, SimpleExpr)> {
    vec![
        ("id", text(id)),
        ("user_id", text(user_id)),
        ("status", text(status)),
        ("total_minor", total.into()),
        ("currency", text("EUR")),
        ("address_id", text(address_id)),
        ("address_label", text("Home")),
        ("address_line1", text("12 Analytical Row")),
        ("address_line2", text("")),
        ("address_city", text("London")),
        ("address_postal_code", text("N1 9GU")),
        ("address_country", text("GB")),
        ("created_at", at(placed)),
        ("updated_at", at(placed)),
        ("refunded_minor", 0_i64.into()),
    ]
}

/// An order line as PlaceOrder wrote it.
fn old_line(
    order_id: &str,
    position: i32,
    product_id: &str,
    sku: &str,
    price: i64,
    quantity: i64,
) -> Vec<(&'static str, SimpleExpr)> {
    vec![
        ("order_id", text(order_id)),
        ("position", position.into()),
        ("product_id", text(product_id)),
        ("sku", text(sku)),
        ("name", text(&format!("Tea {sku}"))),
        ("unit_price_minor", price.into()),
        ("quantity", quantity.into()),
        ("line_total_minor", (price * quantity).into()),
    ]
}

async fn carts_and_orders_from_before_variants_read_the_same_after_the_upgrade(db: TestDb) {
    // svc-order's database at the schema of the release before variants.
    let url = db.url.clone();
    let old = mart_platform::db::connect(&url).await.unwrap();
    let migrations = Migrator::migrations();
    let before = migrations.iter().position(|m| m.name() == VARIANTS).expect("the variants migration");
    Migrator::up(&old, Some(u32::try_from(before).unwrap())).await.unwrap();

    let mut shop = Shop::open_with(db, Options { start_order: false, ..Options::default() }).await;
    let ada = shop.customer("ada@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 10).await;
    let matcha = shop.product("MATCHA", 2450, 10).await;

    // What the old code wrote: Ada's cart with two products, a paid order of two lines,
    // and an order rejected short of stock.
    let now = Utc::now();
    let earlier = now - TimeDelta::minutes(5);
    insert(&old, "carts", vec![("user_id", text(&ada.user_id)), ("version", 3_i64.into()), ("updated_at", at(now))])
        .await;
    for (product_id, quantity, added_at) in [(&sencha, 2_i64, earlier), (&matcha, 1, now)] {
        let row = vec![
            ("user_id", text(&ada.user_id)),
            ("product_id", text(product_id)),
            ("quantity", quantity.into()),
            ("added_at", at(added_at)),
        ];
        insert(&old, "cart_lines", row).await;
    }
    let (paid_id, rejected_id) = (uuid::Uuid::now_v7().to_string(), uuid::Uuid::now_v7().to_string());
    let mut paid = old_order(&paid_id, &ada.user_id, &ada.address_id, "PAID", 2 * 1100 + 2450, earlier);
    paid.extend([("payment_id", text("pay-old")), ("paid_at", at(earlier))]);
    insert(&old, "orders", paid).await;
    insert(&old, "order_lines", old_line(&paid_id, 0, &sencha, "SENCHA", 1100, 2)).await;
    insert(&old, "order_lines", old_line(&paid_id, 1, &matcha, "MATCHA", 2450, 1)).await;
    let mut rejected = old_order(&rejected_id, &ada.user_id, &ada.address_id, "REJECTED", 20 * 2450, now);
    rejected.push(("closed_at", at(now)));
    insert(&old, "orders", rejected).await;
    insert(&old, "order_lines", old_line(&rejected_id, 0, &matcha, "MATCHA", 2450, 20)).await;
    let short = vec![
        ("order_id", text(&rejected_id)),
        ("position", 0_i32.into()),
        ("product_id", text(&matcha)),
        ("requested", 20_i32.into()),
        ("available", 10_i32.into()),
    ];
    insert(&old, "order_rejected_lines", short).await;
    old.close().await.unwrap();

    // The new svc-order starts on it and migrates the rest.
    shop.restart_order(|_| {}).await;

    let cart = shop.cart(&ada).await;
    let lines: Vec<_> = cart
        .lines
        .iter()
        .map(|l| (l.product_id.as_str(), l.variant_id.as_str(), l.sku.as_str(), l.quantity, l.unit_price.clone()))
        .collect();
    assert_eq!(
        lines,
        [
            (sencha.as_str(), sencha.as_str(), "SENCHA", 2, Some(eur(1299))),
            (matcha.as_str(), matcha.as_str(), "MATCHA", 1, Some(eur(2450))),
        ]
    );
    assert!(cart.lines.iter().all(|l| l.option_values.is_empty()), "a default variant has no options");
    assert_eq!(cart.subtotal, Some(eur(2 * 1299 + 2450)));

    let order = shop.get(&ada.token, &paid_id).await.unwrap();
    assert_eq!(order.status(), S::Paid);
    let lines: Vec<_> = order
        .lines
        .iter()
        .map(|l| (l.product_id.as_str(), l.variant_id.as_str(), l.sku.as_str(), l.quantity, l.unit_price.clone()))
        .collect();
    assert_eq!(
        lines,
        [
            (sencha.as_str(), sencha.as_str(), "SENCHA", 2, Some(eur(1100))),
            (matcha.as_str(), matcha.as_str(), "MATCHA", 1, Some(eur(2450))),
        ]
    );
    assert!(order.lines.iter().all(|l| l.option_values.is_empty() && l.image_url.is_empty()));
    assert_eq!(order.total, Some(eur(2 * 1100 + 2450)), "the old prices, not today's");
    let rejected = shop.get(&ada.token, &rejected_id).await.unwrap();
    let short: Vec<_> =
        rejected.rejected_lines.iter().map(|l| (l.product_id.as_str(), l.variant_id.as_str(), l.requested)).collect();
    assert_eq!(short, [(matcha.as_str(), matcha.as_str(), 20)]);

    // The migrated cart works as any other: its lines are changed by the old ids, and it
    // becomes an order by variant.
    let mut orders = shop.orders();
    let update = pb::UpdateCartItemRequest { product_id: matcha.clone(), quantity: 3 };
    orders.update_cart_item(authed(&ada.token, update)).await.unwrap();
    let cart = shop.add(&ada, &sencha, 1).await.unwrap();
    assert_eq!(cart.lines.iter().map(|l| l.quantity).collect::<Vec<_>>(), [3, 3], "one line per variant still");
    let placed = shop.place(&ada).await.unwrap();
    let lines: Vec<_> = placed.lines.iter().map(|l| (l.variant_id.as_str(), l.quantity)).collect();
    assert_eq!(lines, [(sencha.as_str(), 3), (matcha.as_str(), 3)]);
    shop.wait_for(&ada, &placed.id, S::Reserved).await;
    assert_eq!(shop.available(&sencha).await, Some(7), "inventory reserved the migrated lines");
}
