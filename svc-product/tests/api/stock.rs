//! GetProduct tells a shopper how many units are left when svc-inventory knows, and still
//! shows the product when svc-inventory is down or slow.

use std::time::{Duration, Instant};

use mart_platform::{db_tests, test_util::TestDb};
use mart_proto::product as pb;

use crate::support::{Inventory, TestApp, stand_in_inventory};

db_tests!(
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
