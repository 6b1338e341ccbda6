//! Stock per variant: each variant its own row, reservations and ledger; the product's
//! total beside them; admins name the variant they mean; every stock event names its
//! variant with the units available after it and a version that only grows. Old-style
//! events (a product id alone) still mean the product's default variant.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::join_all;
use mart_platform::{
    db_tests,
    test_util::{TestDb, authed, bad_fields, eventually, publish_envelope},
};
use mart_proto::{
    events::{Envelope, StockLine, envelope::Payload},
    inventory as pb,
};
use tonic::Code;

use crate::support::{TestApp, orders_with};

db_tests!(
    each_variant_has_its_own_stock_and_the_product_its_total,
    only_the_ordered_variant_is_reserved_and_sold,
    two_variants_of_one_product_reserve_both_or_none,
    twenty_orders_for_the_last_unit_of_a_variant_reserve_exactly_one,
    admins_name_the_variant_of_a_product_with_several,
    stock_events_carry_the_variant_its_availability_and_a_growing_version,
    archiving_a_variant_stops_its_sales_only,
    old_style_events_mean_the_default_variant,
);

fn reserved(payload: &Payload) -> bool {
    matches!(payload, Payload::StockReserved(_))
}

fn failed(payload: &Payload) -> bool {
    matches!(payload, Payload::StockReservationFailed(_))
}

/// Every stock line and adjustment announced about `variant_id`, as (version, available).
fn versions_of(events: &[Envelope], variant_id: &str) -> Vec<(i64, i32)> {
    let lines = |lines: &[StockLine]| -> Vec<(i64, i32)> {
        lines.iter().filter(|l| l.variant_id == variant_id).map(|l| (l.stock_version, l.available)).collect()
    };
    events
        .iter()
        .flat_map(|e| match &e.payload {
            Some(Payload::StockReserved(r)) => lines(&r.lines),
            Some(Payload::StockReleased(r)) => lines(&r.lines),
            Some(Payload::StockCommitted(c)) => lines(&c.lines),
            Some(Payload::StockAdjusted(a)) if a.variant_id == variant_id => vec![(a.stock_version, a.available)],
            _ => Vec::new(),
        })
        .collect()
}

async fn each_variant_has_its_own_stock_and_the_product_its_total(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let (tee, sizes) = app.product_with_variants(&[5, 0, 2]).await;

    // Shoppers see what is available, per variant and in total.
    let public = app.client().get_stock(pb::GetStockRequest { product_id: tee.clone() }).await.unwrap().into_inner();
    let total = public.stock.unwrap();
    assert_eq!((total.product_id.as_str(), total.variant_id.as_str()), (tee.as_str(), ""));
    assert_eq!((total.available, total.on_hand, total.reserved), (7, None, None));
    let seen: BTreeMap<_, _> =
        public.variants.iter().map(|v| (v.variant_id.clone(), (v.available, v.on_hand))).collect();
    let expected: BTreeMap<_, _> = sizes.iter().cloned().zip([(5, None), (0, None), (2, None)]).collect();
    assert_eq!(seen, expected);
    assert!(public.variants.iter().all(|v| v.product_id == tee));

    // Admins also see on hand and reserved.
    let admin = app.stock(&tee).await;
    let total = admin.stock.unwrap();
    assert_eq!((total.available, total.on_hand, total.reserved), (7, Some(7), Some(0)));
    for (variant_id, units) in sizes.iter().zip([5, 0, 2]) {
        let level = app.assert_variant_consistent(&tee, variant_id).await;
        assert_eq!((level.on_hand, level.reserved), (Some(units), Some(0)));
    }

    // A variant added later gets its own row and ledger; a redelivery changes nothing.
    let large = app.add_variant(&tee, 4).await;
    assert_eq!(app.level(&tee).await.on_hand, Some(11));
    let ledger = app.variant_ledger(&tee, &large).await;
    assert_eq!(
        ledger.iter().map(|m| (m.kind(), m.on_hand_delta, m.variant_id.as_str())).collect::<Vec<_>>(),
        [(pb::StockMovementKind::Initial, 4, large.as_str())]
    );

    // BatchGetStock: every variant's row, each naming its product and variant.
    let single = app.product(3).await;
    let batch = app
        .client()
        .batch_get_stock(pb::BatchGetStockRequest { product_ids: vec![tee.clone(), single.clone(), "unknown".into()] })
        .await
        .unwrap()
        .into_inner();
    let rows: BTreeSet<_> =
        batch.stocks.iter().map(|s| (s.product_id.clone(), s.variant_id.clone(), s.on_hand.unwrap())).collect();
    let mut expected: BTreeSet<_> = sizes.iter().zip([5, 0, 2]).map(|(v, n)| (tee.clone(), v.clone(), n)).collect();
    expected.insert((tee.clone(), large.clone(), 4));
    expected.insert((single.clone(), single.clone(), 3));
    assert_eq!(rows, expected);
}

async fn only_the_ordered_variant_is_reserved_and_sold(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let announcements = app.announcements().await;
    let (tee, sizes) = app.product_with_variants(&[3, 3]).await;
    let (small, medium) = (&sizes[0], &sizes[1]);

    app.place_variants("medium-2", &[(&tee, medium, 2)]).await;
    let events = announcements.wait_for("the reservation", |e| e.len() == 1).await;
    let Some(Payload::StockReserved(reservation)) = &events[0].payload else { panic!("{events:?}") };
    let line = &reservation.lines[..];
    assert_eq!(line.len(), 1);
    assert_eq!(
        (line[0].product_id.as_str(), line[0].variant_id.as_str(), line[0].quantity, line[0].available),
        (tee.as_str(), medium.as_str(), 2, 1)
    );
    let level = app.variant(&tee, medium).await;
    assert_eq!((level.on_hand, level.reserved, level.available), (Some(3), Some(2), 1));
    let untouched = app.variant(&tee, small).await;
    assert_eq!((untouched.on_hand, untouched.reserved, untouched.available), (Some(3), Some(0), 3));

    app.pay("medium-2").await;
    announcements.wait_for("the sale", |e| e.len() == 2).await;
    let level = app.assert_variant_consistent(&tee, medium).await;
    assert_eq!((level.on_hand, level.reserved, level.available), (Some(1), Some(0), 1));
    let untouched = app.assert_variant_consistent(&tee, small).await;
    assert_eq!((untouched.on_hand, untouched.reserved), (Some(3), Some(0)));
    assert_eq!(app.variant_ledger(&tee, small).await.len(), 1, "only its initial stock");
    use pb::StockMovementKind as K;
    let kinds: Vec<_> = app.variant_ledger(&tee, medium).await.iter().rev().map(|m| m.kind()).collect();
    assert_eq!(kinds, [K::Initial, K::Reservation, K::Commit]);
    let total = app.level(&tee).await;
    assert_eq!((total.on_hand, total.reserved, total.available), (Some(4), Some(0), 4));

    // Cancelled after payment: the units go back to the variant they came from.
    app.cancel("medium-2").await;
    announcements.wait_for("the restock", |e| e.len() == 3).await;
    assert_eq!(app.assert_variant_consistent(&tee, medium).await.on_hand, Some(3));
    assert_eq!(app.variant(&tee, small).await.on_hand, Some(3));
}

async fn two_variants_of_one_product_reserve_both_or_none(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let announcements = app.announcements().await;
    let (tee, sizes) = app.product_with_variants(&[1, 5]).await;
    let (scarce, plenty) = (&sizes[0], &sizes[1]);

    app.place_variants("too-big", &[(&tee, plenty, 1), (&tee, scarce, 2)]).await;
    let events = announcements.wait_for("the rejection", |e| e.len() == 1).await;
    let Some(Payload::StockReservationFailed(failure)) = &events[0].payload else { panic!("{events:?}") };
    let short: Vec<_> = failure
        .short_lines
        .iter()
        .map(|l| (l.product_id.as_str(), l.variant_id.as_str(), l.requested, l.available))
        .collect();
    assert_eq!(short, [(tee.as_str(), scarce.as_str(), 2, 1)], "only the scarce variant is short");
    assert_eq!(app.variant(&tee, plenty).await.reserved, Some(0), "nothing kept of the line that fitted");
    assert_eq!(app.variant(&tee, scarce).await.reserved, Some(0));

    // Two lines of one variant are one row: 1 + 1 of a variant with 1 is short too.
    app.place_variants("split", &[(&tee, scarce, 1), (&tee, plenty, 1), (&tee, scarce, 1)]).await;
    let events = announcements.wait_for("the second rejection", |e| e.len() == 2).await;
    let Some(Payload::StockReservationFailed(failure)) = &events[1].payload else { panic!("{events:?}") };
    assert_eq!(
        failure.short_lines.iter().map(|l| (l.variant_id.as_str(), l.requested)).collect::<Vec<_>>(),
        [(scarce.as_str(), 2)]
    );

    app.place_variants("fits", &[(&tee, plenty, 3), (&tee, scarce, 1)]).await;
    let events = announcements.wait_for("the reservation", |e| e.len() == 3).await;
    let Some(Payload::StockReserved(reservation)) = &events[2].payload else { panic!("{events:?}") };
    let lines: BTreeSet<_> =
        reservation.lines.iter().map(|l| (l.variant_id.clone(), l.quantity, l.available)).collect();
    assert_eq!(lines, BTreeSet::from([(scarce.clone(), 1, 0), (plenty.clone(), 3, 2)]));
    for variant in [scarce, plenty] {
        app.assert_variant_consistent(&tee, variant).await;
    }
    assert_eq!(app.level(&tee).await.reserved, Some(4));
}

async fn twenty_orders_for_the_last_unit_of_a_variant_reserve_exactly_one(db: TestDb) {
    // Three replicas consume the orders concurrently, all racing for one row.
    let app = TestApp::spawn_many(db, 3).await;
    let announcements = app.announcements().await;
    let (tee, sizes) = app.product_with_variants(&[1, 50]).await;
    let (blue_large, red_small) = (&sizes[0], &sizes[1]);

    // Each order also takes a unit of another variant of the same product, half of them
    // listing it first: locking in request order would deadlock, and the loser's unit of
    // the other variant must come back with it.
    let orders: Vec<String> = (0..20).map(|n| format!("last-{n:02}")).collect();
    join_all(orders.iter().enumerate().map(|(n, order)| {
        let lines = if n % 2 == 0 {
            [(tee.as_str(), blue_large.as_str(), 1), (tee.as_str(), red_small.as_str(), 1)]
        } else {
            [(tee.as_str(), red_small.as_str(), 1), (tee.as_str(), blue_large.as_str(), 1)]
        };
        let app = &app;
        async move { app.place_variants(order, &lines).await }
    }))
    .await;

    let events = announcements.wait_for("twenty outcomes", |e| e.len() == 20).await;
    let won = orders_with(&events, reserved);
    let lost = orders_with(&events, failed);
    assert_eq!((won.len(), lost.len()), (1, 19), "{won:?}");
    let last = app.assert_variant_consistent(&tee, blue_large).await;
    assert_eq!((last.available, last.on_hand, last.reserved), (0, Some(1), Some(1)));
    let other = app.assert_variant_consistent(&tee, red_small).await;
    assert_eq!((other.available, other.reserved), (49, Some(1)));
    app.stop().await;
}

async fn admins_name_the_variant_of_a_product_with_several(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin();
    let mut client = app.client();
    let (tee, sizes) = app.product_with_variants(&[5, 5]).await;
    let (other, other_sizes) = app.product_with_variants(&[1, 1]).await;
    let single = app.product(2).await;
    let adjust = |product_id: &str, variant_id: &str| {
        let request = pb::AdjustStockRequest {
            product_id: product_id.into(),
            variant_id: variant_id.into(),
            delta: 2,
            reason: "delivery".into(),
        };
        authed(&admin, request)
    };
    let set = |product_id: &str, variant_id: &str| {
        let request = pb::SetStockRequest {
            product_id: product_id.into(),
            variant_id: variant_id.into(),
            on_hand: 9,
            reason: "count".into(),
        };
        authed(&admin, request)
    };
    let movements = |product_id: &str, variant_id: &str| {
        let request = pb::ListStockMovementsRequest {
            product_id: product_id.into(),
            variant_id: variant_id.into(),
            ..Default::default()
        };
        authed(&admin, request)
    };

    // Without a variant, a product with several is refused, naming the field.
    let status = client.adjust_stock(adjust(&tee, "")).await.unwrap_err();
    assert_eq!((status.code(), bad_fields(&status)), (Code::InvalidArgument, vec!["variant_id".to_owned()]));
    assert!(status.message().contains("variant_id"), "{}", status.message());
    let status = client.set_stock(set(&tee, "")).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["variant_id"]);
    let status = client.list_stock_movements(movements(&tee, "")).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["variant_id"]);

    // Another product's variant, or no variant at all, is not one of its.
    for wrong in [other_sizes[0].as_str(), single.as_str(), "no-such-variant"] {
        let status = client.adjust_stock(adjust(&tee, wrong)).await.unwrap_err();
        assert_eq!(bad_fields(&status), ["variant_id"], "{wrong}");
        let status = client.set_stock(set(&tee, wrong)).await.unwrap_err();
        assert_eq!(bad_fields(&status), ["variant_id"], "{wrong}");
        let status = client.list_stock_movements(movements(&tee, wrong)).await.unwrap_err();
        assert_eq!(bad_fields(&status), ["variant_id"], "{wrong}");
    }
    // A malformed variant id is named like a malformed product id.
    let status = client.adjust_stock(adjust(&tee, &"v".repeat(65))).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["variant_id"]);
    // An unknown product is not found, whatever the variant.
    let status = client.adjust_stock(adjust("unknown", &sizes[0])).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    // Nothing moved.
    assert_eq!(app.level(&tee).await.on_hand, Some(10));
    assert_eq!(app.level(&other).await.on_hand, Some(2));

    // Named, the change is that variant's alone.
    let level = client.adjust_stock(adjust(&tee, &sizes[1])).await.unwrap().into_inner().stock.unwrap();
    assert_eq!((level.variant_id.as_str(), level.on_hand), (sizes[1].as_str(), Some(7)));
    let level = client.set_stock(set(&tee, &sizes[0])).await.unwrap().into_inner().stock.unwrap();
    assert_eq!((level.variant_id.as_str(), level.on_hand), (sizes[0].as_str(), Some(9)));
    assert_eq!(app.variant(&tee, &sizes[0]).await.on_hand, Some(9));
    assert_eq!(app.variant(&tee, &sizes[1]).await.on_hand, Some(7));
    let ledger = client.list_stock_movements(movements(&tee, &sizes[1])).await.unwrap().into_inner().movements;
    let rows: Vec<_> = ledger.iter().map(|m| (m.kind(), m.on_hand_delta, m.variant_id.as_str())).collect();
    use pb::StockMovementKind as K;
    assert_eq!(rows, [(K::Adjustment, 2, sizes[1].as_str()), (K::Initial, 5, sizes[1].as_str())]);
    for variant in &sizes {
        app.assert_variant_consistent(&tee, variant).await;
    }

    // A product with one variant: naming it is optional, and it is the product id.
    let level = client.adjust_stock(adjust(&single, "")).await.unwrap().into_inner().stock.unwrap();
    assert_eq!((level.variant_id.as_str(), level.on_hand), (single.as_str(), Some(4)));
    let level = client.adjust_stock(adjust(&single, &single)).await.unwrap().into_inner().stock.unwrap();
    assert_eq!(level.on_hand, Some(6));
    assert_eq!(bad_fields(&client.adjust_stock(adjust(&single, &sizes[0])).await.unwrap_err()), ["variant_id"]);
    assert_eq!(client.list_stock_movements(movements(&single, &single)).await.unwrap().into_inner().movements.len(), 3);

    // A ledger page token holds for the variant it came from only.
    let first = pb::ListStockMovementsRequest {
        product_id: tee.clone(),
        variant_id: sizes[1].clone(),
        page_size: 1,
        ..Default::default()
    };
    let token = client.list_stock_movements(authed(&admin, first.clone())).await.unwrap().into_inner().next_page_token;
    assert!(!token.is_empty());
    let next = pb::ListStockMovementsRequest { page_token: token.clone(), ..first.clone() };
    let rest = client.list_stock_movements(authed(&admin, next)).await.unwrap().into_inner();
    assert_eq!(rest.movements.iter().map(|m| m.kind()).collect::<Vec<_>>(), [K::Initial]);
    let elsewhere = pb::ListStockMovementsRequest { variant_id: sizes[0].clone(), page_token: token, ..first };
    assert_eq!(bad_fields(&client.list_stock_movements(authed(&admin, elsewhere)).await.unwrap_err()), ["page_token"]);
}

async fn stock_events_carry_the_variant_its_availability_and_a_growing_version(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let announcements = app.announcements().await;
    let admin = app.admin();
    let mut client = app.client();
    let (tee, sizes) = app.product_with_variants(&[10, 10]).await;
    let (watched, quiet) = (&sizes[0], &sizes[1]);

    // One change at a time, each seen announced before the next: (version, available).
    let mut expected = Vec::new();
    let mut seen = 0;
    let mut step = |available: i32| {
        seen += 1;
        expected.push((seen, available));
        seen
    };

    app.place_variants("first", &[(&tee, watched, 3)]).await;
    let n = step(7);
    announcements.wait_for("the reservation", |e| e.len() == n as usize).await;
    let adjust = pb::AdjustStockRequest {
        product_id: tee.clone(),
        variant_id: watched.clone(),
        delta: -2,
        reason: "broken".into(),
    };
    client.adjust_stock(authed(&admin, adjust)).await.unwrap();
    let n = step(5);
    announcements.wait_for("the write-off", |e| e.len() == n as usize).await;
    app.pay("first").await;
    let n = step(5);
    announcements.wait_for("the sale", |e| e.len() == n as usize).await;
    app.place_variants("second", &[(&tee, watched, 4)]).await;
    let n = step(1);
    announcements.wait_for("the second reservation", |e| e.len() == n as usize).await;
    let count = pb::SetStockRequest {
        product_id: tee.clone(),
        variant_id: watched.clone(),
        on_hand: 6,
        reason: "count".into(),
    };
    client.set_stock(authed(&admin, count)).await.unwrap();
    let n = step(2);
    announcements.wait_for("the count", |e| e.len() == n as usize).await;
    app.cancel("second").await;
    let n = step(6);
    let events = announcements.wait_for("the release", |e| e.len() == n as usize).await;

    assert_eq!(versions_of(&events, watched), expected, "every change one version up, in order");
    assert!(versions_of(&events, quiet).is_empty(), "the other variant was never touched");
    for event in &events {
        let product_id = match &event.payload {
            Some(Payload::StockAdjusted(a)) => a.product_id.clone(),
            Some(Payload::StockReserved(r)) => r.lines[0].product_id.clone(),
            Some(Payload::StockCommitted(c)) => c.lines[0].product_id.clone(),
            Some(Payload::StockReleased(r)) => r.lines[0].product_id.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(product_id, tee);
    }
    // The stored version agrees.
    let db = mart_platform::db::connect(&app.db_url()).await.unwrap();
    let row = svc_inventory::store::stock::find(&db, watched).await.unwrap().unwrap();
    assert_eq!(row.version, 6);

    // A rejection names the variant too.
    app.place_variants("too-many", &[(&tee, quiet, 11)]).await;
    let events = announcements.wait_for("the rejection", |e| e.len() == 7).await;
    let Some(Payload::StockReservationFailed(failure)) = &events[6].payload else { panic!("{events:?}") };
    assert_eq!(failure.short_lines[0].variant_id, *quiet);
    assert_eq!((failure.short_lines[0].requested, failure.short_lines[0].available), (11, 10));
}

async fn archiving_a_variant_stops_its_sales_only(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let announcements = app.announcements().await;
    let (tee, sizes) = app.product_with_variants(&[5, 5]).await;
    let (gone, kept) = (&sizes[0], &sizes[1]);

    app.archive_variant(&tee, gone).await;
    eventually("the archive to stop its sales", || async { (!app.orderable(gone).await).then_some(()) }).await;
    assert!(app.orderable(kept).await);
    app.place_variants("late", &[(&tee, gone, 1)]).await;
    app.place_variants("fine", &[(&tee, kept, 1)]).await;
    let events = announcements.wait_for("two outcomes", |e| e.len() == 2).await;
    assert_eq!(orders_with(&events, failed), ["late"]);
    assert_eq!(orders_with(&events, reserved), ["fine"]);
    assert_eq!(app.variant(&tee, gone).await.reserved, Some(0));

    // The whole product archived: none of its variants sells.
    app.archive(&tee).await;
    eventually("the archive to stop all sales", || async { (!app.orderable(kept).await).then_some(()) }).await;
    app.place_variants("later", &[(&tee, kept, 1)]).await;
    let events = announcements.wait_for("the rejection", |e| e.len() == 3).await;
    assert_eq!(orders_with(&events, failed), ["late", "later"]);
    // What was reserved before stands, and is sold when paid.
    app.pay("fine").await;
    announcements.wait_for("the sale", |e| e.len() == 4).await;
    assert_eq!(app.assert_variant_consistent(&tee, kept).await.on_hand, Some(4));
}

async fn old_style_events_mean_the_default_variant(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let announcements = app.announcements().await;
    // A ProductCreated without variants: one variant, the product id.
    let plain = app.product(6).await;
    let stock = app.stock(&plain).await;
    assert_eq!(
        stock.variants.iter().map(|v| (v.product_id.as_str(), v.variant_id.as_str(), v.available)).collect::<Vec<_>>(),
        [(plain.as_str(), plain.as_str(), 6)]
    );

    // Order lines without a variant id, and one naming the default variant: the same row.
    app.place("old", &[(&plain, 2)]).await;
    app.place_variants("mixed", &[(&plain, "", 1), (&plain, &plain, 1)]).await;
    let events = announcements.wait_for("two reservations", |e| e.len() == 2).await;
    assert_eq!(orders_with(&events, reserved).len(), 2);
    for event in &events {
        let Some(Payload::StockReserved(reservation)) = &event.payload else { panic!("{events:?}") };
        assert_eq!(reservation.lines.len(), 1, "{reservation:?}");
        assert_eq!(reservation.lines[0].variant_id, plain);
        assert_eq!(reservation.lines[0].quantity, 2);
    }
    let level = app.assert_ledger_consistent(&plain).await;
    assert_eq!((level.reserved, level.available), (Some(4), 2));

    // An old-style line for a product with several variants names no row: rejected.
    let (tee, _) = app.product_with_variants(&[5, 5]).await;
    app.place("ambiguous", &[(&tee, 1)]).await;
    let events = announcements.wait_for("the rejection", |e| e.len() == 3).await;
    let Some(Payload::StockReservationFailed(failure)) = &events[2].payload else { panic!("{events:?}") };
    assert_eq!((failure.short_lines[0].variant_id.as_str(), failure.short_lines[0].available), (tee.as_str(), 0));

    // A line naming one product's variant under another product takes nothing.
    app.place_variants("mismatch", &[(&tee, &plain, 1)]).await;
    let events = announcements.wait_for("the second rejection", |e| e.len() == 4).await;
    assert_eq!(orders_with(&events, failed), ["ambiguous", "mismatch"]);
    assert_eq!(app.level(&plain).await.reserved, Some(4));

    // A redelivered old ProductCreated resets nothing.
    let replay = mart_platform::events::envelope(
        &plain,
        Payload::ProductCreated(mart_proto::events::ProductCreated {
            product_id: plain.clone(),
            initial_stock: 99,
            ..Default::default()
        }),
    );
    publish_envelope(&app.bus, &replay).await;
    let marker = app.product(1).await;
    assert_eq!(app.level(&marker).await.on_hand, Some(1));
    assert_eq!(app.level(&plain).await.on_hand, Some(6));
}
