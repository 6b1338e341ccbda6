//! Page tokens carry a client to the next page of the same list, and nowhere else: svc-order
//! signs them and binds them to the query that issued them (the list, whose orders, which
//! status), so a token reused with another filter, by another caller, garbled or made up is
//! INVALID_ARGUMENT naming `page_token` — never a page of some other list.

use mart_platform::{
    db_tests,
    test_util::{TestDb, bad_fields},
};
use mart_proto::order as pb;
use pb::OrderStatus as S;
use tonic::Status;

use crate::support::{Customer, Shop, authed};

db_tests!(a_customer_pages_through_their_own_orders, an_admin_pages_through_every_order_by_filter);

async fn a_customer_pages_through_their_own_orders(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let bob = shop.customer("bob@mart.test").await;
    let placed = orders_of(&shop, &[&ada, &bob, &ada, &ada, &bob]).await;
    let cancel = pb::CancelOrderRequest { order_id: placed[2].id.clone(), reason: String::new() };
    shop.orders().cancel_order(authed(&ada.token, cancel)).await.unwrap();

    // One order a page, all of Ada's and only hers, newest first; and so by status.
    assert_eq!(walk_mine(&shop, &ada, S::Unspecified).await, ids(&placed, [3, 2, 0]));
    assert_eq!(walk_mine(&shop, &ada, S::Reserved).await, ids(&placed, [3, 0]));
    assert_eq!(walk_mine(&shop, &ada, S::Cancelled).await, ids(&placed, [2]));
    assert_eq!(walk_mine(&shop, &bob, S::Unspecified).await, ids(&placed, [4, 1]));

    let first = mine(&shop, &ada, S::Unspecified, 1, String::new()).await.unwrap().next_page_token;
    assert!(!first.is_empty());
    // The same filters may ask for a larger page.
    assert_eq!(mine(&shop, &ada, S::Unspecified, 5, first.clone()).await.unwrap().orders.len(), 2);
    // Another status, another caller, a garbled or a made-up token: refused.
    let refused = [
        mine(&shop, &ada, S::Cancelled, 1, first.clone()).await,
        mine(&shop, &bob, S::Unspecified, 1, first.clone()).await,
        mine(&shop, &ada, S::Unspecified, 1, garbled(&first)).await,
        mine(&shop, &ada, S::Unspecified, 1, MADE_UP.into()).await,
    ];
    for (case, answer) in refused.into_iter().enumerate() {
        assert_eq!(bad_fields(&answer.unwrap_err()), ["page_token"], "case {case}");
    }
}

async fn an_admin_pages_through_every_order_by_filter(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let bob = shop.customer("bob@mart.test").await;
    let placed = orders_of(&shop, &[&ada, &bob, &ada, &bob, &ada]).await;
    let cancel = pb::CancelOrderRequest { order_id: placed[4].id.clone(), reason: "duplicate".into() };
    shop.orders().cancel_order(authed(&shop.admin, cancel)).await.unwrap();

    assert_eq!(walk_all(&shop, S::Unspecified, "").await, ids(&placed, [4, 3, 2, 1, 0]));
    assert_eq!(walk_all(&shop, S::Unspecified, &ada.user_id).await, ids(&placed, [4, 2, 0]));
    assert_eq!(walk_all(&shop, S::Reserved, &ada.user_id).await, ids(&placed, [2, 0]));
    assert_eq!(walk_all(&shop, S::Reserved, "").await, ids(&placed, [3, 2, 1, 0]));

    let adas = all(&shop, S::Unspecified, &ada.user_id, 1, String::new()).await.unwrap().next_page_token;
    assert!(!adas.is_empty());
    // Another customer, no customer, another status, a garbled or a made-up token: refused.
    let refused = [
        all(&shop, S::Unspecified, &bob.user_id, 1, adas.clone()).await,
        all(&shop, S::Unspecified, "", 1, adas.clone()).await,
        all(&shop, S::Cancelled, &ada.user_id, 1, adas.clone()).await,
        all(&shop, S::Unspecified, &ada.user_id, 1, garbled(&adas)).await,
        all(&shop, S::Unspecified, &ada.user_id, 1, MADE_UP.into()).await,
    ];
    for (case, answer) in refused.into_iter().enumerate() {
        assert_eq!(bad_fields(&answer.unwrap_err()), ["page_token"], "case {case}");
    }
    // Nor does a page of the admin's list continue in Ada's own, though it lists her orders.
    let own = mine(&shop, &ada, S::Unspecified, 1, adas).await.unwrap_err();
    assert_eq!(bad_fields(&own), ["page_token"]);
}

/// A token no server issued: the base64 of "not-a-token".
const MADE_UP: &str = "bm90LWEtdG9rZW4";

/// Places one order of one unit for each of `who`, in turn, and waits until each is
/// reserved (so the status filters hold still: no payment opens here); the orders, oldest
/// first.
async fn orders_of(shop: &Shop, who: &[&Customer]) -> Vec<pb::Order> {
    let sencha = shop.product("SENCHA", 1299, 100).await;
    let mut placed = Vec::new();
    for customer in who {
        shop.add(customer, &sencha, 1).await.unwrap();
        placed.push(shop.place(customer).await.unwrap());
    }
    for (order, customer) in placed.iter().zip(who) {
        shop.wait_for(customer, &order.id, S::Reserved).await;
    }
    placed
}

/// ListOrders as `who`.
async fn mine(
    shop: &Shop,
    who: &Customer,
    status: S,
    page_size: i32,
    page_token: String,
) -> Result<pb::ListOrdersResponse, Status> {
    let request = pb::ListOrdersRequest { page_size, page_token, status: status.into() };
    Ok(shop.orders().list_orders(authed(&who.token, request)).await?.into_inner())
}

/// ListAllOrders as the admin.
async fn all(
    shop: &Shop,
    status: S,
    user_id: &str,
    page_size: i32,
    page_token: String,
) -> Result<pb::ListAllOrdersResponse, Status> {
    let request = pb::ListAllOrdersRequest { page_size, page_token, status: status.into(), user_id: user_id.into() };
    Ok(shop.orders().list_all_orders(authed(&shop.admin, request)).await?.into_inner())
}

/// The ids on every page of `who`'s ListOrders with `status`, one order a page.
async fn walk_mine(shop: &Shop, who: &Customer, status: S) -> Vec<String> {
    let mut ids = Vec::new();
    let mut token = String::new();
    for _ in 0..PAGES {
        let page = mine(shop, who, status, 1, token).await.expect("a page");
        ids.extend(page.orders.into_iter().map(|o| o.id));
        if page.next_page_token.is_empty() {
            return ids;
        }
        token = page.next_page_token;
    }
    panic!("the pages never ended: {ids:?}");
}

/// The ids on every page of ListAllOrders with `status` and `user_id`, one order a page.
async fn walk_all(shop: &Shop, status: S, user_id: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut token = String::new();
    for _ in 0..PAGES {
        let page = all(shop, status, user_id, 1, token).await.expect("a page");
        ids.extend(page.orders.into_iter().map(|o| o.id));
        if page.next_page_token.is_empty() {
            return ids;
        }
        token = page.next_page_token;
    }
    panic!("the pages never ended: {ids:?}");
}

/// More pages than any walk here needs: a walk that takes more never ends.
const PAGES: usize = 20;

fn ids<const N: usize>(placed: &[pb::Order], which: [usize; N]) -> Vec<String> {
    which.iter().map(|&i| placed[i].id.clone()).collect()
}

/// `token` with one bit of its fourth character flipped: still of the base64url alphabet,
/// and still ASCII underneath, so only a signature can tell.
fn garbled(token: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = token.as_bytes().to_vec();
    let six = ALPHABET.iter().position(|&c| c == bytes[3]).expect("a base64url token");
    bytes[3] = ALPHABET[six ^ 1];
    String::from_utf8(bytes).expect("still ASCII")
}
