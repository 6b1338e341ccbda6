//! Reservations through the real event path: all lines or none, release, commit, never a
//! unit sold twice — under concurrency, on both databases.

use std::collections::BTreeSet;

use futures::future::join_all;
use mart_platform::{
    db_tests,
    test_util::{TestDb, authed, publish_envelope},
};
use mart_proto::{events::envelope::Payload, inventory as pb};

use crate::support::{TestApp, orders_with};

db_tests!(
    an_order_reserves_every_line_or_none,
    paying_sells_and_cancelling_gives_back,
    redelivered_order_events_change_nothing,
    an_archived_product_is_not_reserved,
    fifty_orders_for_ten_units_sell_exactly_ten,
    multi_line_orders_sharing_products_neither_oversell_nor_deadlock,
    admin_write_offs_racing_reservations_never_go_below_zero,
);

fn reserved(payload: &Payload) -> bool {
    matches!(payload, Payload::StockReserved(_))
}

fn failed(payload: &Payload) -> bool {
    matches!(payload, Payload::StockReservationFailed(_))
}

async fn an_order_reserves_every_line_or_none(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let announcements = app.announcements().await;
    let plenty = app.product(5).await;
    let scarce = app.product(1).await;

    app.place("too-big", &[(&plenty, 2), (&scarce, 2)]).await;
    let events = announcements.wait_for("the rejection", |e| e.len() == 1).await;
    let Some(Payload::StockReservationFailed(failure)) = &events[0].payload else { panic!("{events:?}") };
    assert_eq!(failure.order_id, "too-big");
    assert_eq!(failure.short_lines.len(), 1, "only the scarce line is short: {failure:?}");
    assert_eq!(
        (
            failure.short_lines[0].product_id.as_str(),
            failure.short_lines[0].requested,
            failure.short_lines[0].available
        ),
        (scarce.as_str(), 2, 1)
    );
    // Nothing was kept of the line that could have been reserved.
    assert_eq!(app.level(&plenty).await.available, 5);

    app.place("fits", &[(&scarce, 1), (&plenty, 2)]).await;
    let events = announcements.wait_for("the reservation", |e| e.len() == 2).await;
    let Some(Payload::StockReserved(reservation)) = &events[1].payload else { panic!("{events:?}") };
    let mut lines: Vec<_> = reservation.lines.iter().map(|l| (l.product_id.clone(), l.quantity)).collect();
    lines.sort();
    let mut expected = vec![(plenty.clone(), 2), (scarce.clone(), 1)];
    expected.sort();
    assert_eq!(lines, expected);
    assert_eq!(app.level(&plenty).await.available, 3);
    assert_eq!(app.level(&scarce).await.available, 0);
    app.assert_ledger_consistent(&plenty).await;
    app.assert_ledger_consistent(&scarce).await;
}

async fn paying_sells_and_cancelling_gives_back(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let announcements = app.announcements().await;
    let product = app.product(10).await;

    app.place("cancelled", &[(&product, 3)]).await;
    app.place("paid", &[(&product, 2)]).await;
    app.place("paid-then-cancelled", &[(&product, 1)]).await;
    announcements.wait_for("three reservations", |e| e.len() == 3).await;
    assert_eq!(app.level(&product).await.reserved, Some(6));

    app.cancel("cancelled").await;
    app.pay("paid").await;
    app.pay("paid-then-cancelled").await;
    announcements.wait_for("release and two sales", |e| e.len() == 6).await;
    let level = app.level(&product).await;
    assert_eq!((level.on_hand, level.reserved, level.available), (Some(7), Some(0), 7));

    // Cancelled after payment, before shipping: the unit goes back on the shelf.
    app.cancel("paid-then-cancelled").await;
    announcements.wait_for("the restock", |e| e.len() == 7).await;
    let level = app.assert_ledger_consistent(&product).await;
    assert_eq!((level.on_hand, level.available), (Some(8), 8));
    use pb::StockMovementKind as K;
    let kinds: Vec<_> = app.ledger(&product).await.iter().rev().map(|m| m.kind()).collect();
    assert_eq!(
        kinds,
        [K::Initial, K::Reservation, K::Reservation, K::Reservation, K::Release, K::Commit, K::Commit, K::Release]
    );
}

async fn redelivered_order_events_change_nothing(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let announcements = app.announcements().await;
    let product = app.product(10).await;
    let reserved_order = |order: &'static str| {
        move |e: &[mart_proto::events::Envelope]| orders_with(e, reserved).contains(&order.to_owned())
    };

    let placed = app.place("o1", &[(&product, 4)]).await;
    publish_envelope(&app.bus, &placed).await; // the same event again
    app.place("o1", &[(&product, 4)]).await; // a second event about the same order
    let paid = app.pay("o1").await;
    publish_envelope(&app.bus, &paid).await;
    app.pay("o1").await;
    // A marker keyed like o1: once it is reserved, everything about o1 before it was handled.
    app.place_keyed("o1", "marker-1", &[(&product, 1)]).await;
    announcements.wait_for("the first marker", reserved_order("marker-1")).await;

    let level = app.assert_ledger_consistent(&product).await;
    assert_eq!((level.on_hand, level.reserved), (Some(6), Some(1)), "o1 reserved once and sold once");
    let events = announcements.events();
    assert_eq!(orders_with(&events, reserved), ["o1", "marker-1"]);
    assert_eq!(orders_with(&events, |p| matches!(p, Payload::StockCommitted(_))), ["o1"]);

    let cancelled = app.cancel("o1").await;
    publish_envelope(&app.bus, &cancelled).await;
    app.cancel("o1").await;
    app.place_keyed("o1", "marker-2", &[(&product, 1)]).await;
    announcements.wait_for("the second marker", reserved_order("marker-2")).await;
    let level = app.assert_ledger_consistent(&product).await;
    assert_eq!((level.on_hand, level.reserved), (Some(10), Some(2)), "o1 restocked once");
    assert_eq!(orders_with(&announcements.events(), |p| matches!(p, Payload::StockReleased(_))), ["o1"]);

    // A cancel that overtakes its order: the late OrderPlaced reserves nothing.
    app.cancel("ghost").await;
    app.place("ghost", &[(&product, 1)]).await;
    app.place_keyed("ghost", "marker-3", &[(&product, 1)]).await;
    announcements.wait_for("the third marker", reserved_order("marker-3")).await;
    assert_eq!(app.level(&product).await.reserved, Some(3));
    assert!(!orders_with(&announcements.events(), reserved).contains(&"ghost".to_owned()));
}

async fn an_archived_product_is_not_reserved(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let announcements = app.announcements().await;
    let product = app.product(10).await;
    app.archive(&product).await;
    // Product and order events travel on different topics, in no mutual order: wait until
    // the archive reached the stock row, as it will long before anyone can order.
    mart_platform::test_util::eventually("the archive to stop sales", || async {
        (!app.orderable(&product).await).then_some(())
    })
    .await;
    app.place("late", &[(&product, 1)]).await;
    let events = announcements.wait_for("the rejection", |e| !e.is_empty()).await;
    let Some(Payload::StockReservationFailed(failure)) = &events[0].payload else { panic!("{events:?}") };
    assert_eq!(failure.short_lines[0].available, 0);
    assert_eq!(app.level(&product).await.reserved, Some(0));
}

async fn fifty_orders_for_ten_units_sell_exactly_ten(db: TestDb) {
    // Three replicas consume the orders concurrently, all racing for one row.
    let app = TestApp::spawn_many(db, 3).await;
    let announcements = app.announcements().await;
    let product = app.product(10).await;

    let orders: Vec<String> = (0..50).map(|n| format!("order-{n:02}")).collect();
    let one = [(product.as_str(), 1)];
    join_all(orders.iter().map(|order| app.place(order, &one))).await;

    let events = announcements.wait_for("fifty outcomes", |e| e.len() == 50).await;
    let won: BTreeSet<_> = orders_with(&events, reserved).into_iter().collect();
    let lost: BTreeSet<_> = orders_with(&events, failed).into_iter().collect();
    assert_eq!((won.len(), lost.len()), (10, 40));
    assert!(won.is_disjoint(&lost));
    let level = app.assert_ledger_consistent(&product).await;
    assert_eq!((level.available, level.on_hand, level.reserved), (0, Some(10), Some(10)));
    app.stop().await;
}

async fn multi_line_orders_sharing_products_neither_oversell_nor_deadlock(db: TestDb) {
    let app = TestApp::spawn_many(db, 3).await;
    let announcements = app.announcements().await;
    let a = app.product(10).await;
    let b = app.product(10).await;

    // Half list A first, half B first: locking in request order would deadlock.
    let orders: Vec<String> = (0..30).map(|n| format!("pair-{n:02}")).collect();
    join_all(orders.iter().enumerate().map(|(n, order)| {
        let lines = if n % 2 == 0 { [(a.as_str(), 1), (b.as_str(), 1)] } else { [(b.as_str(), 1), (a.as_str(), 1)] };
        let app = &app;
        async move { app.place(order, &lines).await }
    }))
    .await;

    let events = announcements.wait_for("thirty outcomes", |e| e.len() == 30).await;
    assert_eq!((orders_with(&events, reserved).len(), orders_with(&events, failed).len()), (10, 20));
    for product in [&a, &b] {
        let level = app.assert_ledger_consistent(product).await;
        assert_eq!((level.available, level.reserved), (0, Some(10)));
    }
    app.stop().await;
}

async fn admin_write_offs_racing_reservations_never_go_below_zero(db: TestDb) {
    let app = TestApp::spawn_many(db, 2).await;
    let announcements = app.announcements().await;
    let product = app.product(20).await;
    let admin = app.admin();

    let orders: Vec<String> = (0..25).map(|n| format!("race-{n:02}")).collect();
    let one = [(product.as_str(), 1)];
    let placing = join_all(orders.iter().map(|order| app.place(order, &one)));
    let writing_off = join_all((0..15).map(|_| {
        let mut client = app.client();
        let request = authed(
            &admin,
            pb::AdjustStockRequest {
                product_id: product.clone(),
                delta: -1,
                reason: "damaged".into(),
                ..Default::default()
            },
        );
        async move { client.adjust_stock(request).await }
    }));
    let (_, write_offs) = futures::join!(placing, writing_off);
    let events = announcements
        .wait_for("every reservation outcome", |e| orders_with(e, |p| reserved(p) || failed(p)).len() == 25)
        .await;

    let written_off = write_offs.iter().filter(|r| r.is_ok()).count() as i32;
    for refused in write_offs.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(refused.code(), tonic::Code::FailedPrecondition, "{refused:?}");
    }
    let sold = orders_with(&events, reserved).len() as i32;
    let level = app.assert_ledger_consistent(&product).await;
    assert_eq!(level.on_hand, Some(20 - written_off));
    assert_eq!(level.reserved, Some(sold));
    assert!(level.available >= 0);
    assert!(sold + written_off <= 20, "{sold} sold and {written_off} written off out of 20");
    app.stop().await;
}
