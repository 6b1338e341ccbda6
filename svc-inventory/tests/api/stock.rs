//! Stock as shoppers and admins see it: levels, adjustments, counts and the ledger.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use mart_platform::{
    db_tests,
    test_util::{TestDb, authed, bad_fields, publish_envelope, reason},
};
use mart_proto::{events::envelope::Payload, inventory as pb};
use tonic::Code;

use crate::support::TestApp;

db_tests!(
    a_new_product_gets_its_stock_and_anyone_sees_what_is_available,
    admins_receive_write_off_and_count_but_never_below_reserved,
    bad_requests_and_callers_are_refused,
    a_ledger_page_token_holds_only_for_the_product_it_came_from,
);

async fn a_new_product_gets_its_stock_and_anyone_sees_what_is_available(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let product = app.product(7).await;

    let public = app.client().get_stock(pb::GetStockRequest { product_id: product.clone() }).await.unwrap();
    let public = public.into_inner().stock.unwrap();
    assert_eq!((public.available, public.on_hand, public.reserved), (7, None, None), "shoppers see availability only");
    let customer = authed(&app.tokens.user("u1"), pb::GetStockRequest { product_id: product.clone() });
    let seen = app.client().get_stock(customer).await.unwrap().into_inner().stock.unwrap();
    assert_eq!(seen.on_hand, None);
    let admin = app.level(&product).await;
    assert_eq!((admin.available, admin.on_hand, admin.reserved), (7, Some(7), Some(0)));

    let ledger = app.ledger(&product).await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(
        (ledger[0].kind(), ledger[0].on_hand_delta, ledger[0].on_hand_after),
        (pb::StockMovementKind::Initial, 7, 7)
    );

    // BatchGetStock, for other services: known ids only, with the detail.
    let batch = app
        .client()
        .batch_get_stock(pb::BatchGetStockRequest { product_ids: vec![product.clone(), "unknown".into()] })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(batch.stocks.len(), 1);
    assert_eq!(batch.stocks[0].on_hand, Some(7));

    let missing = app.client().get_stock(pb::GetStockRequest { product_id: "unknown".into() }).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

async fn admins_receive_write_off_and_count_but_never_below_reserved(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let announcements = app.announcements().await;
    let product = app.product(10).await;
    app.place("order-1", &[(&product, 4)]).await;
    announcements.wait_for("the reservation", |events| events.len() == 1).await;
    let admin = app.admin();
    let mut client = app.client();
    let adjust = |delta: i32| {
        authed(
            &admin,
            pb::AdjustStockRequest { product_id: product.clone(), delta, reason: "audit".into(), ..Default::default() },
        )
    };

    let too_far = client.adjust_stock(adjust(-7)).await.unwrap_err();
    assert_eq!((too_far.code(), reason(&too_far).as_str()), (Code::FailedPrecondition, "BELOW_RESERVED"));
    assert!(too_far.message().contains('4'), "{}", too_far.message());

    let level = client.adjust_stock(adjust(-6)).await.unwrap().into_inner().stock.unwrap();
    assert_eq!((level.on_hand, level.reserved, level.available), (Some(4), Some(4), 0));
    let level = client.adjust_stock(adjust(5)).await.unwrap().into_inner().stock.unwrap();
    assert_eq!(level.on_hand, Some(9));

    let count = |on_hand: i32| {
        authed(
            &admin,
            pb::SetStockRequest {
                product_id: product.clone(),
                on_hand,
                reason: "stock take".into(),
                ..Default::default()
            },
        )
    };
    let below = client.set_stock(count(3)).await.unwrap_err();
    assert_eq!(below.code(), Code::FailedPrecondition);
    let level = client.set_stock(count(20)).await.unwrap().into_inner().stock.unwrap();
    assert_eq!((level.on_hand, level.available), (Some(20), 16));

    let ledger = app.ledger(&product).await;
    let kinds: Vec<_> = ledger.iter().rev().map(|m| (m.kind(), m.on_hand_delta, m.reserved_delta)).collect();
    use pb::StockMovementKind as K;
    assert_eq!(
        kinds,
        [
            (K::Initial, 10, 0),
            (K::Reservation, 0, 4),
            (K::Adjustment, -6, 0),
            (K::Adjustment, 5, 0),
            (K::StockTake, 11, 0)
        ]
    );
    assert_eq!(ledger[0].actor_id, "admin-1");
    assert_eq!(ledger[0].reason, "stock take");
    app.assert_ledger_consistent(&product).await;

    // Each admin change was announced.
    let events = announcements.wait_for("three StockAdjusted", |events| events.len() == 4).await;
    let adjusted: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Some(Payload::StockAdjusted(adjusted)) => Some((adjusted.delta, adjusted.on_hand, adjusted.available)),
            _ => None,
        })
        .collect();
    assert_eq!(adjusted, [(-6, 4, 0), (5, 9, 5), (11, 20, 16)]);
    // A redelivered ProductCreated does not reset anything.
    let replay = mart_platform::events::envelope(
        &product,
        Payload::ProductCreated(mart_proto::events::ProductCreated {
            product_id: product.clone(),
            initial_stock: 99,
            ..Default::default()
        }),
    );
    publish_envelope(&app.bus, &replay).await;
    let marker = app.product(1).await;
    assert_eq!(app.level(&marker).await.on_hand, Some(1));
    assert_eq!(app.level(&product).await.on_hand, Some(20));
}

async fn bad_requests_and_callers_are_refused(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let product = app.product(3).await;
    let admin = app.admin();
    let mut client = app.client();

    let status = client
        .adjust_stock(authed(
            &admin,
            pb::AdjustStockRequest { product_id: " ".into(), delta: 0, reason: String::new(), ..Default::default() },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["product_id", "delta", "reason"]);
    let status = client
        .set_stock(authed(
            &admin,
            pb::SetStockRequest {
                product_id: product.clone(),
                on_hand: -1,
                reason: "x".repeat(201),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["on_hand", "reason"]);
    let status = client
        .list_stock_movements(authed(
            &admin,
            pb::ListStockMovementsRequest {
                product_id: product.clone(),
                page_size: -1,
                page_token: "***".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["page_size", "page_token"]);
    // The one id rule of the shop: required, at most 64 characters, no control characters.
    for bad in [String::new(), "x".repeat(65), "a\u{7}b".to_owned()] {
        let status = client.get_stock(pb::GetStockRequest { product_id: bad.clone() }).await.unwrap_err();
        assert_eq!(bad_fields(&status), ["product_id"], "{bad:?}");
    }
    let status = client
        .adjust_stock(authed(
            &admin,
            pb::AdjustStockRequest {
                product_id: product.clone(),
                delta: 1,
                reason: "found\u{0}one".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["reason"]);
    let too_many = pb::BatchGetStockRequest { product_ids: (0..501).map(|n| n.to_string()).collect() };
    assert_eq!(bad_fields(&client.batch_get_stock(too_many).await.unwrap_err()), ["product_ids"]);
    let unknown = client
        .adjust_stock(authed(
            &admin,
            pb::AdjustStockRequest { product_id: "unknown".into(), delta: 1, reason: "r".into(), ..Default::default() },
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    let request = || pb::AdjustStockRequest {
        product_id: product.clone(),
        delta: 5,
        reason: "gift".into(),
        ..Default::default()
    };
    let anonymous = client.adjust_stock(request()).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let customer = client.adjust_stock(authed(&app.tokens.user("u1"), request())).await.unwrap_err();
    assert_eq!(customer.code(), Code::PermissionDenied);
    let ledger = client
        .list_stock_movements(authed(
            &app.tokens.user("u1"),
            pb::ListStockMovementsRequest { product_id: product.clone(), ..Default::default() },
        ))
        .await
        .unwrap_err();
    assert_eq!(ledger.code(), Code::PermissionDenied);
    // Internal RPCs refuse an end user's token.
    let internal = client
        .batch_get_stock(authed(
            &app.tokens.user("u1"),
            pb::BatchGetStockRequest { product_ids: vec![product.clone()] },
        ))
        .await
        .unwrap_err();
    assert_eq!(internal.code(), Code::PermissionDenied);
    // Nothing changed.
    assert_eq!(app.level(&product).await.on_hand, Some(3));
}

async fn a_ledger_page_token_holds_only_for_the_product_it_came_from(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin();
    let mut client = app.client();
    let (first, second) = (app.product(5).await, app.product(5).await);
    for product in [&first, &second] {
        for delta in 1..=4 {
            let request = pb::AdjustStockRequest {
                product_id: product.clone(),
                delta,
                reason: "delivery".into(),
                ..Default::default()
            };
            client.adjust_stock(authed(&admin, request)).await.unwrap();
        }
    }
    let page = |product_id: &str, page_size: i32, page_token: &str| {
        let request = pb::ListStockMovementsRequest {
            product_id: product_id.into(),
            page_size,
            page_token: page_token.into(),
            ..Default::default()
        };
        authed(&admin, request)
    };

    // The same product all along: the pages walk every movement once, newest first.
    let mut deltas = Vec::new();
    let mut token = String::new();
    loop {
        let reply = client.list_stock_movements(page(&first, 2, &token)).await.unwrap().into_inner();
        deltas.extend(reply.movements.iter().map(|m| m.on_hand_delta));
        if reply.next_page_token.is_empty() {
            break;
        }
        token = reply.next_page_token;
    }
    assert_eq!(deltas, [4, 3, 2, 1, 5]);

    let first_page = client.list_stock_movements(page(&first, 2, "")).await.unwrap().into_inner();
    let token = first_page.next_page_token;
    // The page size is not a filter: a larger page goes on where the first ended.
    let rest = client.list_stock_movements(page(&first, 10, &token)).await.unwrap().into_inner();
    assert_eq!(rest.movements.iter().map(|m| m.on_hand_delta).collect::<Vec<_>>(), [2, 1, 5]);

    // Another product's ledger: refused, naming the token.
    let status = client.list_stock_movements(page(&second, 2, &token)).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["page_token"], "{status:?}");

    // A garbled token, and one forged as tokens once were (the bare base64 of a movement id).
    let mut garbled: Vec<char> = token.chars().collect();
    let middle = garbled.len() / 2;
    garbled[middle] = if garbled[middle] == 'A' { 'B' } else { 'A' };
    let garbled: String = garbled.into_iter().collect();
    let forged = B64.encode(&first_page.movements[1].id);
    for bad in [garbled, forged, "not a token".to_owned()] {
        let status = client.list_stock_movements(page(&first, 2, &bad)).await.unwrap_err();
        assert_eq!(bad_fields(&status), ["page_token"], "{bad}: {status:?}");
    }
}
