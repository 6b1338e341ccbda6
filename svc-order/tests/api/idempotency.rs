//! PlaceOrder under retries and races: one key, one order; no key, one cart, never an
//! order made of a cart that changed underneath it.

use futures::future::join_all;
use mart_platform::{
    db_tests,
    test_util::{TestDb, reason},
};
use mart_proto::order as pb;
use tonic::Code;

use crate::support::{Shop, authed, bad_fields};

db_tests!(
    ten_concurrent_calls_with_one_key_place_one_order,
    a_key_returns_its_order_and_refuses_a_different_cart,
    ten_concurrent_calls_without_a_key_order_the_cart_once,
    placing_needs_a_cart_and_an_address_of_ones_own,
);

async fn ten_concurrent_calls_with_one_key_place_one_order(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 10).await;
    shop.add(&ada, &sencha, 2).await.unwrap();

    let request = || pb::PlaceOrderRequest { address_id: ada.address_id.clone(), ..Default::default() };
    let results = join_all((0..10).map(|_| shop.place_with(&ada, request(), Some("checkout-7f3a")))).await;
    let ids: Vec<String> = results.into_iter().map(|r| r.expect("every duplicate gets the order").id).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");

    let list = shop.orders().list_orders(authed(&ada.token, pb::ListOrdersRequest::default())).await.unwrap();
    assert_eq!(list.into_inner().orders.len(), 1);
    let placed = shop.history(&ids[0]).await;
    assert_eq!(placed.iter().filter(|h| h.from_status.is_none()).count(), 1, "placed once");
    assert!(shop.cart(&ada).await.lines.is_empty());
}

async fn a_key_returns_its_order_and_refuses_a_different_cart(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 10).await;
    let matcha = shop.product("MATCHA", 2450, 10).await;
    let by_field = |key: &str| pb::PlaceOrderRequest {
        address_id: ada.address_id.clone(),
        request_id: key.into(),
        ..Default::default()
    };

    shop.add(&ada, &sencha, 1).await.unwrap();
    let first = shop.place_with(&ada, by_field("k-1"), None).await.unwrap();
    // The retry after a lost response: the cart is empty now, the answer is the order.
    let retried = shop.place_with(&ada, by_field("k-1"), None).await.unwrap();
    assert_eq!(retried.id, first.id);
    // Header and field name the same key.
    let by_header = pb::PlaceOrderRequest { address_id: ada.address_id.clone(), ..Default::default() };
    assert_eq!(shop.place_with(&ada, by_header, Some("k-1")).await.unwrap().id, first.id);

    // The same key for a different cart is a mistake, not a new order.
    shop.add(&ada, &matcha, 1).await.unwrap();
    let reused = shop.place_with(&ada, by_field("k-1"), None).await.unwrap_err();
    assert_eq!((reused.code(), reason(&reused).as_str()), (Code::FailedPrecondition, "IDEMPOTENCY_KEY_REUSED"));
    let mismatch = shop.place_with(&ada, by_field("k-2"), Some("k-3")).await.unwrap_err();
    assert_eq!(bad_fields(&mismatch), ["request_id"]);
    assert_eq!(shop.cart(&ada).await.lines.len(), 1, "refused calls leave the cart alone");

    // A new key places a new order; keys are per user.
    let second = shop.place_with(&ada, by_field("k-2"), None).await.unwrap();
    assert_ne!(second.id, first.id);
    let bob = shop.customer("bob@mart.test").await;
    shop.add(&bob, &sencha, 1).await.unwrap();
    let bobs =
        pb::PlaceOrderRequest { address_id: bob.address_id.clone(), request_id: "k-1".into(), ..Default::default() };
    let bobs = shop.place_with(&bob, bobs, None).await.unwrap();
    assert_ne!(bobs.id, first.id);
    assert_eq!(bobs.user_id, bob.user_id);
}

async fn ten_concurrent_calls_without_a_key_order_the_cart_once(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 50).await;
    let matcha = shop.product("MATCHA", 2450, 50).await;
    shop.add(&ada, &sencha, 3).await.unwrap();
    shop.add(&ada, &matcha, 2).await.unwrap();

    let results = join_all((0..10).map(|_| shop.place(&ada))).await;
    let mut placed = Vec::new();
    for result in results {
        match result {
            Ok(order) => placed.push(order),
            Err(status) if status.code() == Code::FailedPrecondition => assert_eq!(reason(&status), "CART_CHANGED"),
            Err(status) => assert_eq!(bad_fields(&status), ["cart"], "an empty cart: {status:?}"),
        }
    }
    assert_eq!(placed.len(), 1, "one cart, one order");
    let lines: Vec<_> = placed[0].lines.iter().map(|l| (l.product_id.as_str(), l.quantity)).collect();
    assert_eq!(lines, [(sencha.as_str(), 3), (matcha.as_str(), 2)], "the whole cart, once");
    assert!(shop.cart(&ada).await.lines.is_empty());

    // A cart changed while an order is being placed is never half-ordered: racing adds and
    // placements end with every unit either in exactly one order or still in the cart.
    for _ in 0..3 {
        shop.add(&ada, &sencha, 1).await.unwrap();
    }
    let adds = join_all((0..5).map(|_| shop.add(&ada, &matcha, 1)));
    let places = join_all((0..5).map(|_| shop.place(&ada)));
    let (adds, places) = futures::join!(adds, places);
    assert!(adds.iter().all(Result::is_ok));
    let ordered: i32 =
        places.iter().filter_map(|r| r.as_ref().ok()).flat_map(|order| order.lines.iter().map(|l| l.quantity)).sum();
    let left: i32 = shop.cart(&ada).await.lines.iter().map(|l| l.quantity).sum();
    assert_eq!(ordered + left, 3 + 5);
}

async fn placing_needs_a_cart_and_an_address_of_ones_own(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let bob = shop.customer("bob@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 10).await;

    assert_eq!(bad_fields(&shop.place(&ada).await.unwrap_err()), ["cart"]);
    shop.add(&ada, &sencha, 1).await.unwrap();
    let nowhere = pb::PlaceOrderRequest { note: Some("x".repeat(501)), ..Default::default() };
    assert_eq!(bad_fields(&shop.place_with(&ada, nowhere, None).await.unwrap_err()), ["address_id", "note"]);
    let bobs_address = pb::PlaceOrderRequest { address_id: bob.address_id.clone(), ..Default::default() };
    let status = shop.place_with(&ada, bobs_address, None).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "another user's address is not found: {status:?}");
    assert_eq!(shop.cart(&ada).await.lines.len(), 1);
}
