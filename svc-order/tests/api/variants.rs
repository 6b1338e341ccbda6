//! Carts and orders by variant: the "Tee" in Size {S, M, L} × Colour {Red, Blue}, the M
//! variants 2.00 dearer. A cart line is one variant at its own price; an order line keeps
//! the variant as it was (SKU, option values, price, image) whatever the catalog does
//! next; and a product with several variants is bought by naming one.

use mart_platform::{db_tests, test_util::TestDb};
use mart_proto::{
    common::OptionValue,
    events::envelope::Payload,
    order::{self as pb, OrderStatus as S},
};

use crate::support::{Shop, authed, bad_fields, eur, kinds};

db_tests!(
    a_variant_is_carted_and_ordered_with_its_options_price_and_image,
    a_product_with_several_variants_is_bought_by_naming_one,
    an_order_short_of_one_variant_is_rejected_naming_it,
);

fn options(size: &str, colour: &str) -> Vec<OptionValue> {
    vec![
        OptionValue { name: "Size".into(), value: size.into() },
        OptionValue { name: "Colour".into(), value: colour.into() },
    ]
}

async fn a_variant_is_carted_and_ordered_with_its_options_price_and_image(db: TestDb) {
    let shop = Shop::open(db).await;
    let announcements = shop.announcements().await;
    let ada = shop.customer("ada@mart.test").await;
    let tee = shop.tee(10).await;
    let (red_s, blue_m) = (tee.variant("S", "Red"), tee.variant("M", "Blue"));

    let cart = shop.add_variant(&ada, &red_s, 2).await.unwrap();
    let line = &cart.lines[0];
    assert_eq!((line.product_id.as_str(), line.variant_id.as_str()), (tee.product_id.as_str(), red_s.as_str()));
    assert_eq!((line.sku.as_str(), line.name.as_str()), ("TEE-S-RED", "Tee"));
    assert_eq!(line.option_values, options("S", "Red"));
    assert_eq!(line.image_url, "https://img.mart.test/tee-s-red.png");
    assert_eq!((line.unit_price.clone(), line.line_total.clone()), (Some(eur(1500)), Some(eur(3000))));

    // Two variants of one product are two lines, each at its own price.
    let cart = shop.add_variant(&ada, &blue_m, 1).await.unwrap();
    let lines: Vec<_> =
        cart.lines.iter().map(|l| (l.variant_id.as_str(), l.quantity, l.unit_price.clone().unwrap())).collect();
    assert_eq!(lines, [(red_s.as_str(), 2, eur(1500)), (blue_m.as_str(), 1, eur(1700))]);
    assert_eq!((cart.subtotal, cart.item_count), (Some(eur(4700)), 3));
    // More of a variant goes onto its line; a line is changed and removed by its variant id.
    let cart = shop.add_variant(&ada, &blue_m, 2).await.unwrap();
    assert_eq!((cart.lines.len(), cart.lines[1].quantity), (2, 3));
    let mut orders = shop.orders();
    let update = pb::UpdateCartItemRequest { product_id: blue_m.clone(), quantity: 1 };
    let cart = orders.update_cart_item(authed(&ada.token, update)).await.unwrap().into_inner().cart.unwrap();
    assert_eq!(cart.lines[1].quantity, 1);
    let remove = pb::RemoveCartItemRequest { product_id: blue_m.clone() };
    let cart = orders.remove_cart_item(authed(&ada.token, remove)).await.unwrap().into_inner().cart.unwrap();
    assert_eq!(cart.lines.iter().map(|l| l.variant_id.as_str()).collect::<Vec<_>>(), [red_s.as_str()]);

    let placed = shop.place(&ada).await.unwrap();
    assert_eq!(placed.lines.len(), 1);
    let line = &placed.lines[0];
    assert_eq!((line.product_id.as_str(), line.variant_id.as_str()), (tee.product_id.as_str(), red_s.as_str()));
    assert_eq!((line.sku.as_str(), line.name.as_str(), line.quantity), ("TEE-S-RED", "Tee", 2));
    assert_eq!(line.option_values, options("S", "Red"), "the line says Size: S, Colour: Red");
    assert_eq!(line.image_url, "https://img.mart.test/tee-s-red.png");
    assert_eq!((line.unit_price.clone(), placed.total.clone()), (Some(eur(1500)), Some(eur(3000))));

    // OrderPlaced tells inventory which variant to reserve: only Red/S is.
    let events = announcements
        .wait_for("OrderPlaced", |events| kinds(events, &placed.id).iter().any(|k| k == "OrderPlaced"))
        .await;
    let announced = events
        .iter()
        .find_map(|e| match &e.payload {
            Some(Payload::OrderPlaced(p)) if p.order_id == placed.id => Some(p.clone()),
            _ => None,
        })
        .unwrap();
    let line = &announced.lines[0];
    assert_eq!(
        (line.product_id.as_str(), line.variant_id.as_str(), line.sku.as_str()),
        (tee.product_id.as_str(), red_s.as_str(), "TEE-S-RED")
    );
    assert_eq!(line.option_values, options("S", "Red"));
    shop.wait_for(&ada, &placed.id, S::Reserved).await;
    let stock = shop.available_by_variant(&tee.product_id).await;
    assert_eq!(stock.get(&red_s), Some(&8));
    assert_eq!(stock.values().filter(|available| **available == 10).count(), 5, "no other variant reserved");

    // The catalog moves on: the order reads the same.
    shop.reprice_variant(&tee.product_id, &red_s, 999).await;
    shop.remove_variant_image(&tee.product_id, &red_s).await;
    shop.archive_variant(&tee.product_id, &red_s).await;
    let order = shop.get(&ada.token, &placed.id).await.unwrap();
    assert_eq!(order.lines, placed.lines, "the snapshot outlives the variant's price, image and status");
    assert_eq!(order.total, Some(eur(3000)));
}

async fn a_product_with_several_variants_is_bought_by_naming_one(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let tee = shop.tee(10).await;

    // The product id names six things: the shopper must pick one.
    let several = shop.add(&ada, &tee.product_id, 1).await.unwrap_err();
    assert_eq!(bad_fields(&several), ["product_id"]);
    assert!(several.message().contains("variant_id"), "{}", several.message());
    assert_eq!(bad_fields(&shop.add_variant(&ada, &tee.product_id, 1).await.unwrap_err()), ["variant_id"]);
    let unknown = shop.add_variant(&ada, "0190f0f0-0000-7000-8000-000000000000", 1).await.unwrap_err();
    assert_eq!(bad_fields(&unknown), ["variant_id"]);
    assert_eq!(bad_fields(&shop.add_variant(&ada, &tee.variant("S", "Red"), 0).await.unwrap_err()), ["quantity"]);

    // An archived variant is no longer sold; the rest of the product is.
    let (red_l, blue_l) = (tee.variant("L", "Red"), tee.variant("L", "Blue"));
    shop.archive_variant(&tee.product_id, &red_l).await;
    let archived = shop.add_variant(&ada, &red_l, 1).await.unwrap_err();
    assert_eq!(bad_fields(&archived), ["variant_id"]);
    assert!(archived.message().contains("archived"), "{}", archived.message());
    assert!(shop.cart(&ada).await.lines.is_empty(), "refused adds change nothing");

    // Archived while in the cart: the order names the line.
    shop.add_variant(&ada, &tee.variant("S", "Blue"), 1).await.unwrap();
    shop.add_variant(&ada, &blue_l, 1).await.unwrap();
    shop.archive_variant(&tee.product_id, &blue_l).await;
    let refused = shop.place(&ada).await.unwrap_err();
    assert_eq!(bad_fields(&refused), ["cart.lines[1].variant_id"]);
    assert!(refused.message().contains(&blue_l), "{}", refused.message());

    // A single-variant product is the same line whichever id the client sends.
    let sencha = shop.product("SENCHA", 1299, 10).await;
    shop.add(&ada, &sencha, 1).await.unwrap();
    let cart = shop.add_variant(&ada, &sencha, 2).await.unwrap();
    let line = cart.lines.iter().find(|l| l.product_id == sencha).unwrap();
    assert_eq!((line.variant_id.as_str(), line.quantity), (sencha.as_str(), 3));
    assert!(line.option_values.is_empty());
    assert_eq!(cart.lines.len(), 3);
}

async fn an_order_short_of_one_variant_is_rejected_naming_it(db: TestDb) {
    let shop = Shop::open(db).await;
    let ada = shop.customer("ada@mart.test").await;
    let tee = shop.tee(1).await;
    let (blue_l, red_l) = (tee.variant("L", "Blue"), tee.variant("L", "Red"));
    shop.add_variant(&ada, &red_l, 1).await.unwrap();
    shop.add_variant(&ada, &blue_l, 2).await.unwrap();

    let placed = shop.place(&ada).await.unwrap();
    let rejected = shop.wait_for(&ada, &placed.id, S::Rejected).await;
    let short: Vec<_> = rejected
        .rejected_lines
        .iter()
        .map(|l| (l.product_id.as_str(), l.variant_id.as_str(), l.requested, l.available))
        .collect();
    assert_eq!(short, [(tee.product_id.as_str(), blue_l.as_str(), 2, 1)]);
    let stock = shop.available_by_variant(&tee.product_id).await;
    assert_eq!((stock.get(&red_l), stock.get(&blue_l)), (Some(&1), Some(&1)), "all or nothing: none reserved");
}
