//! WatchOrder: Ada watches her order from the moment she places it. She sees it PENDING,
//! then every step of the saga as the events arrive (and a refund recorded on it), and the
//! stream ends once it is delivered or cancelled. Nobody else may watch her order (NOT_FOUND,
//! as GetOrder says), an admin may. A change committed behind this process's back (another
//! replica) still arrives, through the slow re-read; streams are bounded per account and per
//! process, a client that goes away gives its place back, and a stream ends after its
//! maximum life, or when the service stops.

use std::time::Duration;

use chrono::Utc;
use mart_platform::{
    db_tests,
    test_util::{TestDb, reason, within},
};
use mart_proto::order as pb;
use pb::OrderStatus as S;
use svc_order::{
    domain::{CancellationSource, Change, OrderStatus},
    store::orders,
};
use tonic::{Code, Status, Streaming};

use crate::support::{Customer, Options, Refund, Shop, authed, eur};

db_tests!(
    a_watcher_sees_every_step_of_the_saga_until_delivery,
    a_cancellation_is_the_last_message,
    only_the_owner_and_admins_may_watch,
    a_change_made_elsewhere_is_seen_by_the_re_read,
    watchers_are_bounded_and_a_client_that_leaves_frees_its_place,
    a_stream_ends_after_its_maximum_life,
    the_streams_end_when_the_service_stops,
);

/// How long any one update may take to arrive: generous, for behaviour, not speed.
const PATIENCE: Duration = Duration::from_secs(5);

/// The shop with svc-order re-reading watched orders only once an hour: what arrives
/// sooner came from this process's own commits.
async fn told_at_once(db: TestDb) -> Shop {
    Shop::open_with(db, Options { watch_recheck: Duration::from_secs(3600), ..Options::default() }).await
}

/// Opens WatchOrder on `order_id` as `token`.
async fn watch(shop: &Shop, token: &str, order_id: &str) -> Result<Streaming<pb::WatchOrderResponse>, Status> {
    let request = pb::WatchOrderRequest { order_id: order_id.into() };
    Ok(shop.orders().watch_order(authed(token, request)).await?.into_inner())
}

/// The stream's next order; `None` once it ended.
async fn next(stream: &mut Streaming<pb::WatchOrderResponse>) -> Option<pb::Order> {
    let message = tokio::time::timeout(PATIENCE, stream.message()).await.expect("a message or the end within 5 s");
    message.expect("no error on the stream").map(|m| m.order.expect("an order in every message"))
}

/// Ada's order of two SENCHA, PENDING: svc-inventory is stopped, so it stays so until the
/// test reserves it.
async fn pending_order(shop: &mut Shop, ada: &Customer) -> pb::Order {
    let sencha = shop.product("SENCHA", 1299, 5).await;
    shop.stop_inventory().await;
    shop.add(ada, &sencha, 2).await.unwrap();
    shop.place(ada).await.unwrap()
}

async fn a_watcher_sees_every_step_of_the_saga_until_delivery(db: TestDb) {
    let mut shop = told_at_once(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let placed = pending_order(&mut shop, &ada).await;

    let mut stream = watch(&shop, &ada.token, &placed.id).await.expect("Ada watches her order");
    let now = next(&mut stream).await.unwrap();
    assert_eq!((now.id.as_str(), now.status()), (placed.id.as_str(), S::Pending), "the order as it is now first");
    assert_eq!(now.lines.len(), 1, "the whole order, lines included");

    shop.reserve(&placed).await;
    let reserved = next(&mut stream).await.unwrap();
    assert_eq!(reserved.status(), S::Reserved);
    assert!(reserved.payment_due_by.is_some(), "with its payment deadline");

    shop.open_payment(&reserved, "pay-1").await;
    assert_eq!(next(&mut stream).await.unwrap().status(), S::AwaitingPayment);
    shop.pay(&reserved, "pay-1").await;
    let paid = next(&mut stream).await.unwrap();
    assert_eq!(paid.status(), S::Paid);

    // A change that is not a move is a change too.
    shop.refund(&paid, Refund { id: "re-1", amount: 500, so_far: 500, full: false, reason: "", lines: &[] }).await;
    let refunded = next(&mut stream).await.unwrap();
    assert_eq!((refunded.status(), refunded.refunded), (S::Paid, Some(eur(500))));

    let ship = pb::ShipOrderRequest { order_id: placed.id.clone(), carrier: "DHL".into(), ..Default::default() };
    shop.orders().ship_order(authed(&shop.admin, ship)).await.unwrap();
    let shipped = next(&mut stream).await.unwrap();
    assert_eq!((shipped.status(), shipped.shipment.map(|s| s.carrier)), (S::Shipped, Some("DHL".to_owned())));
    let deliver = pb::DeliverOrderRequest { order_id: placed.id.clone() };
    shop.orders().deliver_order(authed(&shop.admin, deliver)).await.unwrap();
    assert_eq!(next(&mut stream).await.unwrap().status(), S::Delivered);
    assert_eq!(next(&mut stream).await, None, "nothing follows DELIVERED: the stream ends");

    // Watching a finished order tells it once.
    let mut again = watch(&shop, &ada.token, &placed.id).await.unwrap();
    assert_eq!(next(&mut again).await.unwrap().status(), S::Delivered);
    assert_eq!(next(&mut again).await, None);
}

async fn a_cancellation_is_the_last_message(db: TestDb) {
    let mut shop = told_at_once(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let placed = pending_order(&mut shop, &ada).await;
    let mut stream = watch(&shop, &ada.token, &placed.id).await.unwrap();
    assert_eq!(next(&mut stream).await.unwrap().status(), S::Pending);

    let cancel = pb::CancelOrderRequest { order_id: placed.id.clone(), reason: "changed my mind".into() };
    shop.orders().cancel_order(authed(&ada.token, cancel)).await.unwrap();
    let cancelled = next(&mut stream).await.unwrap();
    assert_eq!((cancelled.status(), cancelled.cancellation_reason.as_str()), (S::Cancelled, "changed my mind"));
    assert_eq!(next(&mut stream).await, None, "nothing follows CANCELLED");
}

async fn only_the_owner_and_admins_may_watch(db: TestDb) {
    let mut shop = told_at_once(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let bob = shop.customer("bob@mart.test").await;
    let placed = pending_order(&mut shop, &ada).await;

    let status = watch(&shop, &bob.token, &placed.id).await.expect_err("Bob may not watch Ada's order");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let unknown = watch(&shop, &bob.token, "0190a8d1-0000-7000-8000-000000000000").await.unwrap_err();
    assert_eq!((unknown.code(), unknown.message()), (Code::NotFound, status.message()), "the same answer as for none");
    let get = shop.get(&bob.token, &placed.id).await.unwrap_err();
    assert_eq!((get.code(), get.message()), (status.code(), status.message()), "as GetOrder answers");
    assert_eq!(watch(&shop, "", &placed.id).await.unwrap_err().code(), Code::Unauthenticated);

    let mut admin = watch(&shop, &shop.admin, &placed.id).await.expect("an admin watches any order");
    assert_eq!(next(&mut admin).await.unwrap().status(), S::Pending);
    shop.reserve(&placed).await;
    assert_eq!(next(&mut admin).await.unwrap().status(), S::Reserved);
}

async fn a_change_made_elsewhere_is_seen_by_the_re_read(db: TestDb) {
    let mut shop =
        Shop::open_with(db, Options { watch_recheck: Duration::from_millis(200), ..Options::default() }).await;
    let ada = shop.customer("ada@mart.test").await;
    let placed = pending_order(&mut shop, &ada).await;
    let mut stream = watch(&shop, &ada.token, &placed.id).await.unwrap();
    assert_eq!(next(&mut stream).await.unwrap().status(), S::Pending);

    // Another replica cancels it: this process is not told, it only reads the database.
    let replica = mart_platform::db::connect(&shop.db.url).await.unwrap();
    let change = Change::Cancelled { source: CancellationSource::Admin, reason: "by another replica".into() };
    assert!(orders::apply(&replica, &placed.id, OrderStatus::Pending, &change, Utc::now()).await.unwrap());
    let cancelled = next(&mut stream).await.unwrap();
    assert_eq!((cancelled.status(), cancelled.cancellation_reason.as_str()), (S::Cancelled, "by another replica"));
    assert_eq!(next(&mut stream).await, None);
}

async fn watchers_are_bounded_and_a_client_that_leaves_frees_its_place(db: TestDb) {
    let mut shop = Shop::open(db).await;
    shop.restart_order(|config| {
        config.own.max_watchers_per_user = 2;
        config.own.max_watchers = 3;
    })
    .await;
    let ada = shop.customer("ada@mart.test").await;
    let placed = pending_order(&mut shop, &ada).await;
    let exhausted = |status: Status, expected: &str| {
        assert_eq!((status.code(), reason(&status)), (Code::ResourceExhausted, expected.to_owned()), "{status:?}");
    };

    let first = watch(&shop, &ada.token, &placed.id).await.expect("one tab");
    let _second = watch(&shop, &ada.token, &placed.id).await.expect("two tabs");
    exhausted(watch(&shop, &ada.token, &placed.id).await.unwrap_err(), "TOO_MANY_WATCHES");
    // An admin is an account of its own; the process holds three in all.
    let _admin = watch(&shop, &shop.admin, &placed.id).await.expect("another account");
    let bob = shop.customer("bob@mart.test").await;
    exhausted(watch(&shop, &bob.token, &placed.id).await.unwrap_err(), "WATCH_CAPACITY");

    // Ada closes a tab: her place comes back, and is not leaked.
    drop(first);
    let mut third =
        within(PATIENCE, "Ada's place to come back", || async { watch(&shop, &ada.token, &placed.id).await.ok() })
            .await;
    assert_eq!(next(&mut third).await.unwrap().status(), S::Pending, "a working stream");
    exhausted(watch(&shop, &ada.token, &placed.id).await.unwrap_err(), "TOO_MANY_WATCHES");
}

async fn a_stream_ends_after_its_maximum_life(db: TestDb) {
    let mut shop = Shop::open(db).await;
    shop.restart_order(|config| config.own.watch_max_life = Duration::from_secs(1)).await;
    let ada = shop.customer("ada@mart.test").await;
    let placed = pending_order(&mut shop, &ada).await;
    let mut stream = watch(&shop, &ada.token, &placed.id).await.unwrap();
    assert_eq!(next(&mut stream).await.unwrap().status(), S::Pending);
    assert_eq!(next(&mut stream).await, None, "the stream ends cleanly, the order still PENDING");
    watch(&shop, &ada.token, &placed.id).await.expect("and the client watches again");
}

async fn the_streams_end_when_the_service_stops(db: TestDb) {
    let mut shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let placed = pending_order(&mut shop, &ada).await;
    let mut stream = watch(&shop, &ada.token, &placed.id).await.unwrap();
    assert_eq!(next(&mut stream).await.unwrap().status(), S::Pending);

    // Its maximum life is 30 minutes: the drain must not wait for it.
    tokio::time::timeout(Duration::from_secs(10), shop.stop_order()).await.expect("svc-order stops with a stream open");
    assert_eq!(next(&mut stream).await, None, "the stream ended cleanly: the client watches again elsewhere");
}
