//! A database made before stock was kept per variant, with stock, a ledger and open, sold
//! and pending reservations in it, upgraded: everything is kept under each product's
//! default variant, and the service goes on working on it.

use chrono::{Duration, Utc};
use mart_platform::{db_tests, test_util::TestDb};
use mart_proto::{events::envelope::Payload, inventory as pb};
use sea_orm::{
    ConnectionTrait, DatabaseConnection,
    sea_query::{Alias, Query, SimpleExpr},
};
use sea_orm_migration::MigratorTrait;
use svc_inventory::migration::{BEFORE_VARIANTS, Migrator};

use crate::support::TestApp;

db_tests!(
    a_database_from_before_variants_keeps_every_level_movement_and_reservation,
    going_back_keeps_default_variants_and_refuses_to_merge_others,
);

/// Writes one row into `table` of the old schema, as the old code's entities did.
async fn insert(db: &DatabaseConnection, table: &str, columns: &[&str], values: Vec<SimpleExpr>) {
    let statement = Query::insert()
        .into_table(Alias::new(table))
        .columns(columns.iter().map(|c| Alias::new(*c)))
        .values_panic(values)
        .to_owned();
    db.execute(db.get_database_backend().build(&statement)).await.unwrap_or_else(|e| panic!("into {table}: {e}"));
}

/// The old ledger row of one movement.
struct Old<'a> {
    product_id: &'a str,
    kind: &'a str,
    deltas: (i64, i64),
    after: (i64, i64),
    reason: &'a str,
    order_id: Option<&'a str>,
}

async fn a_database_from_before_variants_keeps_every_level_movement_and_reservation(db: TestDb) {
    // The schema as it was: every migration up to the first stock tables.
    let old = mart_platform::db::connect(&db.url).await.unwrap();
    Migrator::up(&old, Some(BEFORE_VARIANTS)).await.unwrap();
    let (shirt, mug) = (uuid::Uuid::now_v7().to_string(), uuid::Uuid::now_v7().to_string());
    let then = Utc::now() - Duration::days(30);

    // The shirt: 10 received, 2 reserved by an order still open, 1 by one about to be paid.
    // The mug: 6 received, 1 sold (a paid order), then archived.
    let stock = ["product_id", "on_hand", "reserved", "orderable", "created_at", "updated_at"];
    insert(
        &old,
        "stock",
        &stock,
        vec![shirt.clone().into(), 10_i64.into(), 3_i64.into(), true.into(), then.into(), then.into()],
    )
    .await;
    insert(
        &old,
        "stock",
        &stock,
        vec![mug.clone().into(), 5_i64.into(), 0_i64.into(), false.into(), then.into(), then.into()],
    )
    .await;
    let ledger = [
        Old {
            product_id: &shirt,
            kind: "initial",
            deltas: (10, 0),
            after: (10, 0),
            reason: "initial stock",
            order_id: None,
        },
        Old {
            product_id: &mug,
            kind: "initial",
            deltas: (6, 0),
            after: (6, 0),
            reason: "initial stock",
            order_id: None,
        },
        Old {
            product_id: &shirt,
            kind: "reservation",
            deltas: (0, 2),
            after: (10, 2),
            reason: "order placed",
            order_id: Some("open"),
        },
        Old {
            product_id: &shirt,
            kind: "reservation",
            deltas: (0, 1),
            after: (10, 3),
            reason: "order placed",
            order_id: Some("to-pay"),
        },
        Old {
            product_id: &mug,
            kind: "reservation",
            deltas: (0, 1),
            after: (6, 1),
            reason: "order placed",
            order_id: Some("sold"),
        },
        Old {
            product_id: &mug,
            kind: "commit",
            deltas: (-1, -1),
            after: (5, 0),
            reason: "order paid",
            order_id: Some("sold"),
        },
    ];
    let columns = [
        "id",
        "product_id",
        "kind",
        "on_hand_delta",
        "reserved_delta",
        "on_hand_after",
        "reserved_after",
        "reason",
        "order_id",
        "actor_id",
        "created_at",
    ];
    for row in &ledger {
        let values = vec![
            uuid::Uuid::now_v7().to_string().into(),
            row.product_id.into(),
            row.kind.into(),
            row.deltas.0.into(),
            row.deltas.1.into(),
            row.after.0.into(),
            row.after.1.into(),
            row.reason.into(),
            row.order_id.map(str::to_owned).into(),
            Option::<String>::None.into(),
            then.into(),
        ];
        insert(&old, "movements", &columns, values).await;
    }
    for (order_id, state) in [("open", "reserved"), ("to-pay", "reserved"), ("sold", "committed")] {
        let columns = ["order_id", "state", "created_at", "updated_at"];
        insert(&old, "reservations", &columns, vec![order_id.into(), state.into(), then.into(), then.into()]).await;
    }
    for (order_id, product_id, quantity) in [("open", &shirt, 2_i64), ("to-pay", &shirt, 1), ("sold", &mug, 1)] {
        let columns = ["order_id", "product_id", "quantity"];
        insert(&old, "reservation_lines", &columns, vec![order_id.into(), product_id.clone().into(), quantity.into()])
            .await;
    }
    old.close().await.unwrap();

    // The new service starts on it and brings the schema up to date.
    let app = TestApp::spawn(db).await;
    let announcements = app.announcements().await;
    let stored = mart_platform::db::connect(&app.db_url()).await.unwrap();
    for (product_id, on_hand, reserved, orderable) in [(&shirt, 10, 3, true), (&mug, 5, 0, false)] {
        let row = svc_inventory::store::stock::find(&stored, product_id).await.unwrap().expect("the default variant");
        assert_eq!(
            (
                row.product_id.as_str(),
                row.on_hand,
                row.reserved,
                row.orderable,
                row.version,
                row.created_at.timestamp()
            ),
            (product_id.as_str(), on_hand, reserved, orderable, 0, then.timestamp())
        );
        let stock = app.stock(product_id).await;
        let variants: Vec<_> = stock.variants.iter().map(|v| (v.variant_id.as_str(), v.on_hand, v.reserved)).collect();
        assert_eq!(variants, [(product_id.as_str(), Some(on_hand as i32), Some(reserved as i32))]);
    }
    // The whole ledger is there, under the default variant, and still explains the levels.
    let shirt_ledger = app.ledger(&shirt).await;
    assert_eq!(shirt_ledger.len(), 3);
    assert!(shirt_ledger.iter().all(|m| m.variant_id == shirt));
    assert_eq!(shirt_ledger[0].order_id, "to-pay");
    assert_eq!(app.ledger(&mug).await.len(), 3);
    app.assert_ledger_consistent(&shirt).await;
    app.assert_ledger_consistent(&mug).await;

    // The old reservations go on: one is paid, one cancelled, the sold one cancelled and
    // restocked, each per variant, with the first versions after the upgrade.
    // One at a time: they are keyed by order, so they would race for the shirt's row.
    app.pay("to-pay").await;
    announcements.wait_for("the sale", |e| e.len() == 1).await;
    app.cancel("open").await;
    announcements.wait_for("the release", |e| e.len() == 2).await;
    app.cancel("sold").await;
    let events = announcements.wait_for("the restock", |e| e.len() == 3).await;
    let mut lines: Vec<_> = events
        .iter()
        .flat_map(|e| match &e.payload {
            Some(Payload::StockCommitted(c)) => c.lines.clone(),
            Some(Payload::StockReleased(r)) => r.lines.clone(),
            other => panic!("{other:?}"),
        })
        .map(|l| (e_key(&l.variant_id, &shirt, &mug), l.quantity, l.available, l.stock_version))
        .collect();
    lines.sort();
    // The shirt: sold 1 (9 on hand, 2 reserved, 7 available), then 2 released (9 available).
    // The mug: 1 back on hand (6 available).
    assert_eq!(lines, [("mug", 1, 6, 1), ("shirt", 1, 7, 1), ("shirt", 2, 9, 2)]);
    let shirt_level = app.assert_ledger_consistent(&shirt).await;
    assert_eq!((shirt_level.on_hand, shirt_level.reserved), (Some(9), Some(0)));
    let mug_level = app.assert_ledger_consistent(&mug).await;
    assert_eq!((mug_level.on_hand, mug_level.reserved), (Some(6), Some(0)));

    // New orders reserve on the migrated rows, by product id or by the variant's id; the
    // archived mug still does not sell.
    app.place("after", &[(&shirt, 4)]).await;
    app.place_variants("named", &[(&shirt, &shirt, 5)]).await;
    app.place("mug-again", &[(&mug, 1)]).await;
    let events = announcements.wait_for("three outcomes", |e| e.len() == 6).await;
    let won = crate::support::orders_with(&events, |p| matches!(p, Payload::StockReserved(_)));
    assert_eq!(won.len(), 2, "{events:?}");
    assert!(won.contains(&"after".to_owned()) && won.contains(&"named".to_owned()));
    let level = app.assert_ledger_consistent(&shirt).await;
    assert_eq!((level.reserved, level.available), (Some(9), 0));

    // An admin's change of a migrated row: optional variant, the next version.
    let adjust =
        pb::AdjustStockRequest { product_id: mug.clone(), delta: 3, reason: "found".into(), ..Default::default() };
    let level = app.client().adjust_stock(mart_platform::test_util::authed(&app.admin(), adjust)).await.unwrap();
    assert_eq!(level.into_inner().stock.unwrap().on_hand, Some(9));
    let row = svc_inventory::store::stock::find(&stored, &mug).await.unwrap().unwrap();
    assert_eq!(row.version, 2);
}

/// Which of the two products a line is about, readably.
fn e_key(variant_id: &str, shirt: &str, mug: &str) -> &'static str {
    match variant_id {
        v if v == shirt => "shirt",
        v if v == mug => "mug",
        other => panic!("a line of {other}"),
    }
}

async fn going_back_keeps_default_variants_and_refuses_to_merge_others(db: TestDb) {
    use svc_inventory::store::stock;
    let conn = mart_platform::db::connect(&db.url).await.unwrap();
    Migrator::up(&conn, None).await.unwrap();
    let plain = uuid::Uuid::now_v7().to_string();
    assert!(stock::create(&conn, &plain, &plain, 4).await.unwrap());

    // Only default variants: down to stock per product and up again, the row intact.
    Migrator::down(&conn, Some(1)).await.unwrap();
    let pending = Migrator::get_pending_migrations(&conn).await.unwrap();
    assert_eq!(pending.len(), 1);
    Migrator::up(&conn, None).await.unwrap();
    let row = stock::find(&conn, &plain).await.unwrap().expect("the row");
    assert_eq!((row.product_id.as_str(), row.on_hand, row.version), (plain.as_str(), 4, 0));

    // A second variant cannot share its product's row: refused, nothing undone.
    assert!(stock::create(&conn, &plain, "large", 1).await.unwrap());
    let refused = Migrator::down(&conn, Some(1)).await.unwrap_err();
    assert!(refused.to_string().contains("variants"), "{refused}");
    assert!(Migrator::get_pending_migrations(&conn).await.unwrap().is_empty());
    assert_eq!(stock::of_product(&conn, &plain).await.unwrap().len(), 2);
}
