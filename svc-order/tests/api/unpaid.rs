//! Nobody can hold all the stock: an account may have `MART_ORDER_MAX_OPEN_UNPAID` unpaid
//! orders (PENDING, RESERVED or AWAITING_PAYMENT) open, and every account placing from one client
//! address together `MART_ORDER_MAX_OPEN_UNPAID_PER_ADDRESS`. One more is refused with
//! FAILED_PRECONDITION (HTTP 409 at the edge) naming the limit, and the cart is kept; paying
//! or cancelling an order frees a place. Concurrent calls never pass a cap together.

use mart_platform::{
    db_tests,
    test_util::{TestDb, reason},
};
use mart_proto::order as pb;
use pb::OrderStatus as S;
use tonic::{Code, Status};

use crate::support::{Customer, Options, Shop, authed, bad_fields};

db_tests!(
    a_fourth_unpaid_order_is_refused_until_one_is_paid_or_cancelled,
    one_client_address_is_capped_over_every_account,
    concurrent_orders_from_one_address_never_pass_the_cap,
    concurrent_orders_of_one_account_never_pass_the_cap,
);

/// `status` is the refusal of one order too many, naming `limit` and its variable.
#[track_caller]
fn assert_capped(status: &Status, why: &str, limit: u32, variable: &str) {
    assert_eq!((status.code(), reason(status).as_str()), (Code::FailedPrecondition, why), "{status:?}");
    let expected = format!("{limit} unpaid orders");
    assert!(status.message().contains(&expected), "the limit is named: {}", status.message());
    assert!(status.message().contains(variable), "the variable is named: {}", status.message());
}

async fn a_fourth_unpaid_order_is_refused_until_one_is_paid_or_cancelled(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let bob = shop.customer("bob@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 100).await;

    // Three unpaid orders, by default: one still PENDING counts as much as one reserved.
    let mut placed = Vec::new();
    for n in 0..3 {
        shop.add(&ada, &sencha, 1).await.unwrap();
        let key = format!("ada-{n}");
        let request = pb::PlaceOrderRequest { address_id: ada.address_id.clone(), ..Default::default() };
        placed.push(shop.place_with(&ada, request, Some(&key)).await.unwrap());
    }
    // A retry of an order already placed is that order, not one more.
    let retry = pb::PlaceOrderRequest { address_id: ada.address_id.clone(), ..Default::default() };
    assert_eq!(shop.place_with(&ada, retry, Some("ada-2")).await.unwrap().id, placed[2].id);
    shop.add(&ada, &sencha, 2).await.unwrap();
    let refused = shop.place(&ada).await.unwrap_err();
    assert_capped(&refused, "TOO_MANY_UNPAID_ORDERS", 3, "MART_ORDER_MAX_OPEN_UNPAID");
    let cart = shop.cart(&ada).await;
    assert_eq!(cart.lines.iter().map(|l| l.quantity).collect::<Vec<_>>(), [2], "the cart is kept");

    // Another account is not affected.
    shop.add(&bob, &sencha, 1).await.unwrap();
    shop.place(&bob).await.expect("bob has no unpaid order");

    // A paid order frees a place…
    let awaiting = shop.awaiting_payment(&ada, &placed[0].id).await;
    shop.pay(&awaiting, "pay-1").await;
    shop.wait_for(&ada, &placed[0].id, S::Paid).await;
    let fourth = shop.place(&ada).await.expect("one of three was paid");
    assert_eq!(fourth.status(), S::Pending);
    shop.add(&ada, &sencha, 1).await.unwrap();
    assert_capped(&shop.place(&ada).await.unwrap_err(), "TOO_MANY_UNPAID_ORDERS", 3, "MART_ORDER_MAX_OPEN_UNPAID");

    // …and so does a cancelled one.
    let cancel = pb::CancelOrderRequest { order_id: placed[1].id.clone(), reason: String::new() };
    shop.orders().cancel_order(authed(&ada.token, cancel)).await.unwrap();
    shop.place(&ada).await.expect("one was cancelled");
}

async fn one_client_address_is_capped_over_every_account(db: TestDb) {
    let options = Options { max_open_unpaid_per_address: 4, ..Options::default() };
    let shop = Shop::open_with(db, options).await;
    let sencha = shop.product("SENCHA", 1299, 100).await;
    let [ada, bob, carol, dave] = customers(&shop, ["ada", "bob", "carol", "dave"]).await;
    let place_from = async |who: &Customer, ip: &str| {
        shop.add(who, &sencha, 1).await.unwrap();
        shop.place_from(who, ip).await
    };

    // IPv4: one address, whatever the account.
    let mut adas = Vec::new();
    for _ in 0..3 {
        adas.push(place_from(&ada, "203.0.113.7").await.unwrap());
    }
    place_from(&bob, "203.0.113.7").await.expect("four from one address");
    let refused = place_from(&bob, "203.0.113.7").await.unwrap_err();
    assert_capped(&refused, "TOO_MANY_UNPAID_ORDERS_FROM_ADDRESS", 4, "MART_ORDER_MAX_OPEN_UNPAID_PER_ADDRESS");
    // Bob's cart is kept; from elsewhere it goes through.
    shop.place_from(&bob, "198.51.100.1").await.expect("another address");

    // IPv6: one /64 is one client.
    for _ in 0..3 {
        place_from(&carol, "2001:db8:0:1::1").await.unwrap();
    }
    place_from(&dave, "2001:db8:0:1::ffff").await.expect("four from one /64");
    let refused = place_from(&dave, "2001:db8:0:1:abcd::2").await.unwrap_err();
    assert_capped(&refused, "TOO_MANY_UNPAID_ORDERS_FROM_ADDRESS", 4, "MART_ORDER_MAX_OPEN_UNPAID_PER_ADDRESS");
    shop.place_from(&dave, "2001:db8:0:2::1").await.expect("another /64");

    // A cancelled order frees a place at its address.
    let cancel = pb::CancelOrderRequest { order_id: adas[0].id.clone(), reason: String::new() };
    shop.orders().cancel_order(authed(&ada.token, cancel)).await.unwrap();
    place_from(&bob, "203.0.113.7").await.expect("one was cancelled");
}

async fn concurrent_orders_from_one_address_never_pass_the_cap(db: TestDb) {
    let options = Options { max_open_unpaid_per_address: 3, ..Options::default() };
    let shop = Shop::open_with(db, options).await;
    let sencha = shop.product("SENCHA", 1299, 100).await;
    let names = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"];
    let everyone = customers(&shop, names).await;
    for who in &everyone {
        shop.add(who, &sencha, 1).await.unwrap();
    }

    let answers = futures::future::join_all(everyone.iter().map(|who| shop.place_from(who, "192.0.2.9"))).await;
    let placed = answers.iter().filter(|answer| answer.is_ok()).count();
    for refused in answers.iter().filter_map(|answer| answer.as_ref().err()) {
        assert_capped(refused, "TOO_MANY_UNPAID_ORDERS_FROM_ADDRESS", 3, "MART_ORDER_MAX_OPEN_UNPAID_PER_ADDRESS");
    }
    assert_eq!(placed, 3, "{answers:?}");
}

async fn concurrent_orders_of_one_account_never_pass_the_cap(db: TestDb) {
    let shop = Shop::open(db).await;
    let sencha = shop.product("SENCHA", 1299, 100).await;
    let ada = shop.customer("ada@mart.test").await;
    let mut open = 0;
    // Rounds of six calls at once from one cart: each round places at most one order (the
    // cart is taken once), and once three are open every call is refused.
    for _ in 0..5 {
        shop.add(&ada, &sencha, 1).await.unwrap();
        let answers = futures::future::join_all((0..6).map(|_| shop.place(&ada))).await;
        for refused in answers.iter().filter_map(|answer| answer.as_ref().err()) {
            // Losers of the race for the cart find it changed, or already emptied.
            let emptied = refused.code() == Code::InvalidArgument && bad_fields(refused) == ["cart"];
            let lost = emptied || reason(refused) == "CART_CHANGED";
            assert!(lost || reason(refused) == "TOO_MANY_UNPAID_ORDERS", "{refused:?}");
            if open == 3 {
                assert_capped(refused, "TOO_MANY_UNPAID_ORDERS", 3, "MART_ORDER_MAX_OPEN_UNPAID");
            }
        }
        open += answers.iter().filter(|answer| answer.is_ok()).count();
        assert!(open <= 3, "{open} open: {answers:?}");
    }
    assert_eq!(open, 3);
    let mine = shop.orders().list_orders(authed(&ada.token, pb::ListOrdersRequest::default())).await.unwrap();
    assert_eq!(mine.into_inner().orders.len(), 3);
}

/// Customers named `names`, signed up one after the other.
async fn customers<const N: usize>(shop: &Shop, names: [&str; N]) -> [Customer; N] {
    let mut customers = Vec::with_capacity(N);
    for name in names {
        customers.push(shop.customer(&format!("{name}@mart.test")).await);
    }
    customers.try_into().expect("one customer per name")
}
