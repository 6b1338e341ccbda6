//! The cart: what a shopper puts in, priced by the catalog every time they look.

use mart_platform::{db_tests, test_util::TestDb};
use mart_proto::order as pb;
use tonic::Code;

use crate::support::{Shop, authed, bad_fields, eur};

db_tests!(
    the_cart_shows_todays_catalog_prices_and_the_subtotal,
    unknown_and_archived_products_are_refused_naming_the_line,
    quantities_stay_within_bounds,
    without_the_catalog_nothing_is_priced_or_ordered,
);

async fn the_cart_shows_todays_catalog_prices_and_the_subtotal(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 10).await;
    let matcha = shop.product("MATCHA", 2450, 10).await;

    let empty = shop.cart(&ada).await;
    assert_eq!((empty.lines.len(), empty.item_count, empty.subtotal.unwrap().amount_minor), (0, 0, 0));
    assert_eq!(empty.updated_at, None, "a cart never used");

    shop.add(&ada, &sencha, 2).await.unwrap();
    shop.add(&ada, &matcha, 1).await.unwrap();
    let cart = shop.add(&ada, &sencha, 1).await.unwrap();
    let lines: Vec<_> = cart
        .lines
        .iter()
        .map(|l| (l.sku.as_str(), l.quantity, l.unit_price.clone().unwrap(), l.line_total.clone().unwrap()))
        .collect();
    assert_eq!(lines, [("SENCHA", 3, eur(1299), eur(3897)), ("MATCHA", 1, eur(2450), eur(2450))]);
    assert_eq!((cart.subtotal.clone().unwrap(), cart.item_count), (eur(6347), 4));
    assert_eq!(shop.cart(&ada).await, cart, "GetCart shows what the last change returned");

    // The catalog changes its price: the cart follows, no client ever names one.
    shop.reprice(&sencha, 999).await;
    let cart = shop.cart(&ada).await;
    assert_eq!(cart.lines[0].unit_price, Some(eur(999)));
    assert_eq!(cart.lines[0].line_total, Some(eur(2997)));
    assert_eq!(cart.subtotal, Some(eur(5447)));

    // Another shopper's cart is their own.
    let bob = shop.customer("bob@mart.test").await;
    assert!(shop.cart(&bob).await.lines.is_empty());

    let mut orders = shop.orders();
    orders.clear_cart(authed(&ada.token, pb::ClearCartRequest {})).await.unwrap();
    assert!(shop.cart(&ada).await.lines.is_empty());
    orders.clear_cart(authed(&ada.token, pb::ClearCartRequest {})).await.expect("clearing an empty cart is fine");
}

async fn unknown_and_archived_products_are_refused_naming_the_line(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 10).await;
    let retired = shop.product("RETIRED", 500, 10).await;
    let discontinued = shop.product("DISCONTINUED", 700, 10).await;

    let unknown = shop.add(&ada, "0190f0f0-0000-7000-8000-000000000000", 1).await.unwrap_err();
    assert_eq!(bad_fields(&unknown), ["product_id"]);
    shop.archive(&retired).await;
    let archived = shop.add(&ada, &retired, 1).await.unwrap_err();
    assert_eq!(bad_fields(&archived), ["product_id"]);
    assert!(archived.message().contains("archived"), "{}", archived.message());

    // Archived while in the cart: the cart still shows it, the order names the line.
    shop.add(&ada, &sencha, 1).await.unwrap();
    shop.add(&ada, &discontinued, 2).await.unwrap();
    shop.archive(&discontinued).await;
    assert_eq!(shop.cart(&ada).await.lines.len(), 2);
    let refused = shop.place(&ada).await.unwrap_err();
    assert_eq!(bad_fields(&refused), ["cart.lines[1].variant_id"]);
    assert!(refused.message().contains(&discontinued), "{}", refused.message());
    assert_eq!(shop.cart(&ada).await.lines.len(), 2, "a refused order leaves the cart alone");

    let mut orders = shop.orders();
    let request = pb::RemoveCartItemRequest { product_id: discontinued.clone() };
    orders.remove_cart_item(authed(&ada.token, request)).await.unwrap();
    let order = shop.place(&ada).await.unwrap();
    assert_eq!(order.lines.len(), 1);
}

async fn quantities_stay_within_bounds(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 10).await;
    let mut orders = shop.orders();
    let update = |quantity: i32| authed(&ada.token, pb::UpdateCartItemRequest { product_id: sencha.clone(), quantity });

    for quantity in [0, -1, 100] {
        assert_eq!(bad_fields(&shop.add(&ada, &sencha, quantity).await.unwrap_err()), ["quantity"], "{quantity}");
    }
    let missing = shop.add(&ada, "", 1).await.unwrap_err();
    assert_eq!(bad_fields(&missing), ["product_id"]);

    shop.add(&ada, &sencha, 60).await.unwrap();
    let over = shop.add(&ada, &sencha, 40).await.unwrap_err();
    assert_eq!(bad_fields(&over), ["quantity"]);
    assert_eq!(shop.cart(&ada).await.lines[0].quantity, 60, "a refused add changes nothing");
    let cart = shop.add(&ada, &sencha, 39).await.unwrap();
    assert_eq!(cart.lines[0].quantity, 99, "the bound itself is fine");

    let cart = orders.update_cart_item(update(5)).await.unwrap().into_inner().cart.unwrap();
    assert_eq!(cart.lines[0].quantity, 5);
    for quantity in [-1, 100] {
        assert_eq!(bad_fields(&orders.update_cart_item(update(quantity)).await.unwrap_err()), ["quantity"]);
    }
    let cart = orders.update_cart_item(update(0)).await.unwrap().into_inner().cart.unwrap();
    assert!(cart.lines.is_empty(), "0 removes the line");
    assert_eq!(orders.update_cart_item(update(1)).await.unwrap_err().code(), Code::NotFound);
    let remove = pb::RemoveCartItemRequest { product_id: sencha.clone() };
    assert_eq!(orders.remove_cart_item(authed(&ada.token, remove)).await.unwrap_err().code(), Code::NotFound);
}

async fn without_the_catalog_nothing_is_priced_or_ordered(db: TestDb) {
    let mut shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let sencha = shop.product("SENCHA", 1299, 10).await;
    shop.add(&ada, &sencha, 1).await.unwrap();
    shop.stop_catalog().await;

    // No price is better than a made-up one: the shopper is told to try again.
    let mut orders = shop.orders();
    let cart = orders.get_cart(authed(&ada.token, pb::GetCartRequest {})).await.unwrap_err();
    assert_eq!(cart.code(), Code::Unavailable);
    assert_eq!(shop.add(&ada, &sencha, 1).await.unwrap_err().code(), Code::Unavailable);
    assert_eq!(shop.place(&ada).await.unwrap_err().code(), Code::Unavailable);
    let list = orders.list_orders(authed(&ada.token, pb::ListOrdersRequest::default())).await.unwrap();
    assert!(list.into_inner().orders.is_empty());
}
