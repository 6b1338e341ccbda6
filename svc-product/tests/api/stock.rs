//! GetProduct tells a shopper how many units are left when svc-inventory knows, and still
//! shows the product when svc-inventory is down or slow.

use std::time::{Duration, Instant};

use mart_platform::{
    bus::{EventBus, embedded::EmbeddedBus},
    config::Service,
    db_tests,
    test_util::{Running, TestDb, TokenMinter},
};
use mart_proto::product as pb;

use crate::support::{Inventory, TestApp, authed, new_product, stand_in_inventory};

db_tests!(
    the_real_inventory_shows_live_stock,
    get_product_shows_the_available_stock,
    without_inventory_the_product_still_shows,
    a_hanging_inventory_does_not_hold_the_product_up,
);

async fn get_product_shows_the_available_stock(db: TestDb) {
    let inventory = stand_in_inventory(Inventory::Available(7)).await;
    let app = TestApp::spawn_with(db, |config| config.peers.inventory = inventory).await;
    let tea = app.category("Tea").await;
    let sencha = app.product(&tea.id, "TEA-001", "Sencha", 1299).await;

    assert_eq!(app.get(&sencha.id).await.unwrap().available_stock, Some(7));
    // Lists never ask: `available_stock` is GetProduct's alone.
    let listed = app.list(pb::ListProductsRequest::default()).await.unwrap();
    assert_eq!(listed.products[0].available_stock, None);
}

async fn without_inventory_the_product_still_shows(db: TestDb) {
    // TestApp::spawn points svc-product at an address where nothing listens.
    let app = TestApp::spawn(db).await;
    let tea = app.category("Tea").await;
    let sencha = app.product(&tea.id, "TEA-001", "Sencha", 1299).await;

    let got = app.get(&sencha.id).await.unwrap();
    assert_eq!(got.available_stock, None);
    assert_eq!(got, sencha);
}

async fn a_hanging_inventory_does_not_hold_the_product_up(db: TestDb) {
    let inventory = stand_in_inventory(Inventory::Hangs).await;
    let app = TestApp::spawn_with(db, |config| config.peers.inventory = inventory).await;
    let tea = app.category("Tea").await;
    let sencha = app.product(&tea.id, "TEA-001", "Sencha", 1299).await;

    let started = Instant::now();
    let got = app.get(&sencha.id).await.unwrap();
    assert_eq!(got.available_stock, None);
    // The deadline is 300 ms; allow a slow machine plenty, but not "forever".
    assert!(started.elapsed() < Duration::from_secs(3), "GetProduct took {:?}", started.elapsed());
}

/// The whole path: a product created with stock, svc-inventory opening it from the event,
/// GetProduct asking it over gRPC, and an order's reservation showing at once.
async fn the_real_inventory_shows_live_stock(db: TestDb) {
    let log = TestDb::sqlite().await;
    let bus = EventBus::Embedded(EmbeddedBus::open(&log.url, 2).await.unwrap());
    let inventory_db = TestDb::new(db.backend).await;
    let mut config = mart_platform::config::Config::embedded(Service::Inventory);
    config.database_url = inventory_db.url.clone();
    let keys = TokenMinter::new().key_set();
    let served = bus.clone();
    let inventory = Running::start("svc-inventory", move |listener, shutdown| {
        svc_inventory::serve(config, served, keys, listener, shutdown)
    })
    .await;
    let inventory_addr = format!("http://{}", inventory.addr);
    let app = TestApp::spawn_on(db, bus, |config| config.peers.inventory = inventory_addr).await;

    let tea = app.category("Tea").await;
    let sencha = app
        .create(pb::CreateProductRequest { initial_stock: Some(5), ..new_product(&tea.id, "TEA-001", "Sencha", 1299) })
        .await
        .unwrap();
    let stock_of = |wanted: i32| {
        let app = &app;
        let id = sencha.id.clone();
        async move { (app.get(&id).await.ok()?.available_stock == Some(wanted)).then_some(()) }
    };
    mart_platform::test_util::eventually("inventory to open the stock", || stock_of(5)).await;

    let placed = mart_proto::events::OrderPlaced {
        order_id: "order-1".into(),
        lines: vec![mart_proto::events::OrderLine { product_id: sencha.id.clone(), quantity: 2, ..Default::default() }],
        ..Default::default()
    };
    mart_platform::test_util::publish(&app.bus, "order-1", mart_proto::events::envelope::Payload::OrderPlaced(placed))
        .await;
    // The product page may be reused for a moment (MART_CATALOG_CACHE_TTL), so the figure
    // follows within it rather than at once.
    mart_platform::test_util::eventually("the reservation to show", || stock_of(3)).await;

    // The catalog's own change shows at once: an update drops the reused answer.
    app.client()
        .update_product(authed(
            &app.admin,
            pb::UpdateProductRequest {
                product_id: sencha.id.clone(),
                product: Some(pb::Product { name: "Sencha Superior".into(), ..Default::default() }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["name".into()] }),
            },
        ))
        .await
        .expect("update");
    let page = app.get(&sencha.id).await.unwrap();
    assert_eq!((page.name.as_str(), page.available_stock), ("Sencha Superior", Some(3)));

    inventory.stop().await;
}
