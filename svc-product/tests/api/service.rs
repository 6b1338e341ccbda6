//! svc-product as an operator sees it: health and reflection for grpcurl and load
//! balancers, the binary's `migrate`, its refusal of bad configuration, and a restart that
//! keeps page tokens valid.

use mart_platform::{
    db_tests,
    test_util::{TestDb, reflected_services, serving_status},
};
use mart_proto::product as pb;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::support::TestApp;

db_tests!(
    reflection_lists_the_catalog_and_health_says_serving,
    page_tokens_survive_a_restart,
    the_binary_migrates_and_refuses_bad_config,
);

async fn reflection_lists_the_catalog_and_health_says_serving(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let names = reflected_services(app.addr).await;
    assert!(names.contains(&"mart.product.v1.CatalogService".to_owned()), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("mart.user")), "{names:?}");

    assert_eq!(serving_status(app.addr, "mart.product.v1.CatalogService").await, ServingStatus::Serving);
    app.stop().await;
}

async fn page_tokens_survive_a_restart(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let shelf = app.category("Shelf").await;
    app.seed(&shelf.id, 3, |i| (format!("SKU-{i}"), format!("Item {i}"), String::new(), 100)).await;
    let first = app.list(pb::ListProductsRequest { page_size: 2, ..Default::default() }).await.unwrap();
    // The key lives in the database: the service restarted (or a replica) honours the
    // tokens it handed out before.
    let app = TestApp::spawn(app.stop().await).await;
    let second = app
        .list(pb::ListProductsRequest { page_size: 2, page_token: first.next_page_token, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(second.products.iter().map(|p| p.sku.as_str()).collect::<Vec<_>>(), ["SKU-2"]);
}

async fn the_binary_migrates_and_refuses_bad_config(db: TestDb) {
    let binary = env!("CARGO_BIN_EXE_svc-product");
    let output =
        tokio::process::Command::new(binary).arg("migrate").env("DATABASE_URL", &db.url).output().await.unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // Migrated already: the service starts on it and serves.
    let app = TestApp::spawn(db).await;
    app.category("Tea").await;

    for (variable, value) in [("MART_GRPC_ADDR", "not-an-address"), ("MART_INVENTORY_ADDR", "127.0.0.1:50054")] {
        let output = tokio::process::Command::new(binary).env(variable, value).output().await.unwrap();
        assert_eq!(output.status.code(), Some(2), "{variable}");
        assert!(String::from_utf8_lossy(&output.stderr).contains(variable));
    }
}
