//! Who sees what: a customer acts on their own cart and orders only (another user's order
//! is NOT_FOUND, exactly like a missing one), admins see and filter every order.

use mart_platform::{
    db_tests,
    test_util::{TestDb, bad_fields},
};
use mart_proto::order as pb;
use pb::OrderStatus as S;
use tonic::Code;

use crate::support::{Shop, authed};

db_tests!(another_users_order_is_not_found, admins_list_every_order_by_status_and_user, callers_need_the_right_role,);

async fn another_users_order_is_not_found(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let eve = shop.customer("eve@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 10).await;
    shop.add(&ada, &sencha, 1).await.unwrap();
    let adas = shop.place(&ada).await.unwrap();
    shop.add(&ada, &sencha, 2).await.unwrap();
    let mut orders = shop.orders();

    let peek = shop.get(&eve.token, &adas.id).await.unwrap_err();
    assert_eq!(peek.code(), Code::NotFound);
    let missing = shop.get(&eve.token, "0190f0f0-0000-7000-8000-000000000000").await.unwrap_err();
    assert_eq!(missing.message(), peek.message(), "indistinguishable from an order that does not exist");
    let cancel = pb::CancelOrderRequest { order_id: adas.id.clone(), reason: String::new() };
    assert_eq!(orders.cancel_order(authed(&eve.token, cancel)).await.unwrap_err().code(), Code::NotFound);
    let with_adas_address = pb::PlaceOrderRequest { address_id: ada.address_id.clone(), ..Default::default() };
    shop.add(&eve, &sencha, 1).await.unwrap();
    assert_eq!(shop.place_with(&eve, with_adas_address, None).await.unwrap_err().code(), Code::NotFound);
    // Cart RPCs name products and act on the caller's cart: once Eve's own line is gone,
    // the same product in Ada's cart is out of her reach.
    let own = pb::RemoveCartItemRequest { product_id: sencha.clone() };
    orders.remove_cart_item(authed(&eve.token, own)).await.unwrap();
    let update = pb::UpdateCartItemRequest { product_id: sencha.clone(), quantity: 5 };
    assert_eq!(orders.update_cart_item(authed(&eve.token, update)).await.unwrap_err().code(), Code::NotFound);
    let remove = pb::RemoveCartItemRequest { product_id: sencha.clone() };
    assert_eq!(orders.remove_cart_item(authed(&eve.token, remove)).await.unwrap_err().code(), Code::NotFound);
    orders.clear_cart(authed(&eve.token, pb::ClearCartRequest {})).await.unwrap();
    let list = orders.list_orders(authed(&eve.token, pb::ListOrdersRequest::default())).await.unwrap();
    assert!(list.into_inner().orders.is_empty());

    // Nothing of Ada's changed; an admin sees her order.
    assert_eq!(shop.cart(&ada).await.lines[0].quantity, 2);
    assert_ne!(shop.get(&ada.token, &adas.id).await.unwrap().status(), S::Cancelled);
    assert_eq!(shop.get(&shop.admin, &adas.id).await.unwrap().user_id, ada.user_id);
}

async fn admins_list_every_order_by_status_and_user(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let bob = shop.customer("bob@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 100).await;
    let mut placed = Vec::new();
    for who in [&ada, &bob, &ada, &ada, &bob] {
        shop.add(who, &sencha, 1).await.unwrap();
        placed.push(shop.place(who).await.unwrap());
    }
    for order in &placed {
        let who = if order.user_id == ada.user_id { &ada } else { &bob };
        shop.wait_for(who, &order.id, S::Reserved).await;
    }
    let cancel = pb::CancelOrderRequest { order_id: placed[2].id.clone(), reason: "duplicate".into() };
    let cancelled = shop.orders().cancel_order(authed(&shop.admin, cancel)).await.unwrap().into_inner();
    assert_eq!(cancelled.order.unwrap().cancellation_source(), pb::CancellationSource::Admin);

    let all = |status: S, user_id: &str, page_size: i32, page_token: String| {
        let request =
            pb::ListAllOrdersRequest { page_size, page_token, status: status.into(), user_id: user_id.into() };
        let mut orders = shop.orders();
        let admin = shop.admin.clone();
        async move { orders.list_all_orders(authed(&admin, request)).await.map(|r| r.into_inner()) }
    };
    // Newest first, two to a page, across every user.
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let page = all(S::Unspecified, "", 2, token).await.unwrap();
        assert!(page.orders.len() <= 2);
        ids.extend(page.orders.into_iter().map(|o| o.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let newest_first: Vec<_> = placed.iter().rev().map(|o| o.id.clone()).collect();
    assert_eq!(ids, newest_first);

    let adas = all(S::Unspecified, &ada.user_id, 0, String::new()).await.unwrap();
    assert_eq!(adas.orders.len(), 3);
    let waiting = all(S::Reserved, &ada.user_id, 0, String::new()).await.unwrap();
    assert_eq!(
        waiting.orders.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        [placed[3].id.as_str(), placed[0].id.as_str()]
    );
    let cancelled = all(S::Cancelled, "", 0, String::new()).await.unwrap();
    assert_eq!(cancelled.orders.len(), 1);

    // A customer's own list filters the same way.
    let mine = pb::ListOrdersRequest { status: S::Cancelled.into(), ..Default::default() };
    let mine = shop.orders().list_orders(authed(&ada.token, mine)).await.unwrap().into_inner();
    assert_eq!(mine.orders.len(), 1);

    // A token is for the filters it came with.
    let first = all(S::Unspecified, "", 1, String::new()).await.unwrap();
    let other_filter = all(S::Cancelled, "", 1, first.next_page_token).await.unwrap_err();
    assert_eq!(bad_fields(&other_filter), ["page_token"]);
    let bad = all(S::Unspecified, "", -1, "***".into()).await.unwrap_err();
    assert_eq!(bad_fields(&bad), ["page_size", "page_token"]);
}

async fn callers_need_the_right_role(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let mut orders = shop.orders();

    let anonymous = orders.get_cart(pb::GetCartRequest {}).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let list_all = orders.list_all_orders(authed(&ada.token, pb::ListAllOrdersRequest::default())).await.unwrap_err();
    assert_eq!(list_all.code(), Code::PermissionDenied);
    let ship = pb::ShipOrderRequest { order_id: "x".into(), carrier: "DHL".into(), ..Default::default() };
    assert_eq!(orders.ship_order(authed(&ada.token, ship)).await.unwrap_err().code(), Code::PermissionDenied);
    let deliver = pb::DeliverOrderRequest { order_id: "x".into() };
    assert_eq!(orders.deliver_order(authed(&ada.token, deliver)).await.unwrap_err().code(), Code::PermissionDenied);

    let no_carrier =
        pb::ShipOrderRequest { order_id: String::new(), carrier: " ".into(), tracking_number: "t".repeat(101) };
    let status = orders.ship_order(authed(&shop.admin, no_carrier)).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["order_id", "carrier", "tracking_number"]);
    let unknown = pb::DeliverOrderRequest { order_id: "0190f0f0-0000-7000-8000-000000000000".into() };
    assert_eq!(orders.deliver_order(authed(&shop.admin, unknown)).await.unwrap_err().code(), Code::NotFound);
}
