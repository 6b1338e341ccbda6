//! What happens to the catalog reaches the rest of the shop: ProductCreated (with the
//! initial stock svc-inventory starts from), ProductUpdated (current values and what
//! changed) and ProductArchived, in order, through the outbox and the bus.

use std::time::Duration;

use mart_platform::{
    db_tests,
    test_util::{Collector, TestDb},
};
use mart_proto::{
    events::{Envelope, envelope::Payload},
    product as pb,
};

use crate::support::{TestApp, authed, eur, new_product};

db_tests!(product_changes_reach_a_consumer_in_order);

async fn product_changes_reach_a_consumer_in_order(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let consumer = Collector::start(&app.bus, &["mart.product.events"]).await;

    let tea = app.category("Tea").await;
    let product = app
        .create(pb::CreateProductRequest {
            brand: "Leafwise".into(),
            initial_stock: Some(25),
            ..new_product(&tea.id, "TEA-001", "Sencha", 1299)
        })
        .await
        .unwrap();
    let mut client = app.client();
    client
        .update_product(authed(
            &app.admin,
            pb::UpdateProductRequest {
                product_id: product.id.clone(),
                // The name stays as it is: only the price really changes.
                product: Some(pb::Product { name: "Sencha".into(), price: Some(eur(1499)), ..Default::default() }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["price".into(), "name".into()] }),
            },
        ))
        .await
        .unwrap();
    client
        .delete_product(authed(&app.admin, pb::DeleteProductRequest { product_id: product.id.clone() }))
        .await
        .unwrap();
    // Archiving twice announces it once.
    client
        .delete_product(authed(&app.admin, pb::DeleteProductRequest { product_id: product.id.clone() }))
        .await
        .unwrap();

    let events = consumer.wait_for("three events", |events| events.len() >= 3).await;
    let [created, updated, archived] = <[Envelope; 3]>::try_from(events).unwrap();
    assert_eq!(
        (created.aggregate_id.as_str(), created.r#type.as_str()),
        (product.id.as_str(), "mart.events.v1.ProductCreated")
    );
    let Some(Payload::ProductCreated(payload)) = created.payload else { panic!("{created:?}") };
    assert_eq!(
        (payload.sku.as_str(), payload.name.as_str(), payload.brand.as_str()),
        ("TEA-001", "Sencha", "Leafwise")
    );
    assert_eq!(
        (payload.category_id.as_str(), payload.price, payload.initial_stock),
        (tea.id.as_str(), Some(eur(1299)), 25)
    );

    let Some(Payload::ProductUpdated(payload)) = updated.payload else { panic!("{updated:?}") };
    assert_eq!((payload.product_id.as_str(), payload.sku.as_str()), (product.id.as_str(), "TEA-001"));
    assert_eq!((payload.name.as_str(), payload.price), ("Sencha", Some(eur(1499))));
    assert_eq!(payload.changed_fields, ["price"]);

    let Some(Payload::ProductArchived(payload)) = archived.payload else { panic!("{archived:?}") };
    assert_eq!((payload.product_id.as_str(), payload.sku.as_str()), (product.id.as_str(), "TEA-001"));

    // Nothing else: the second archive was silent. (An absence has no event to wait for;
    // a later one about this product would arrive behind it on its partition.)
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(consumer.events().len(), 3, "unexpected events {:?}", consumer.events());

    consumer.stop().await;
    app.stop().await;
}
