//! What happens to the catalog reaches the rest of the shop: ProductCreated (with the
//! initial stock svc-inventory starts from), ProductUpdated (current values and what
//! changed) and ProductArchived, in order, through the outbox and the bus.

use std::{sync::Arc, time::Duration};

use futures::future::BoxFuture;
use mart_platform::{
    bus::{self, DatabaseTransaction, Handler, HandlerError, RetryPolicy, Subscription},
    db_tests,
    test_util::TestDb,
};
use mart_proto::{
    events::{Envelope, envelope::Payload},
    product as pb,
};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use tokio::sync::{mpsc, watch};

use crate::support::{TestApp, authed, eur, new_product};

db_tests!(product_changes_reach_a_consumer_in_order);

/// A consumer elsewhere in the shop: hands every envelope to the test.
struct Forward(mpsc::UnboundedSender<Envelope>);

impl Handler for Forward {
    fn handle<'a>(
        &'a self,
        _txn: &'a DatabaseTransaction,
        event: &'a bus::Event,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            self.0.send(event.envelope.clone()).map_err(|_| HandlerError("the test stopped listening".into()))
        })
    }
}

struct InboxOnly;

impl MigratorTrait for InboxOnly {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(bus::inbox::Migration)]
    }
}

async fn next(received: &mut mpsc::UnboundedReceiver<Envelope>) -> Envelope {
    tokio::time::timeout(Duration::from_secs(10), received.recv()).await.expect("an event within 10 s").unwrap()
}

async fn product_changes_reach_a_consumer_in_order(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let consumer_db = TestDb::sqlite().await;
    let inbox = mart_platform::db::connect_and_migrate::<InboxOnly>(&consumer_db.url).await.unwrap();
    let (events, mut received) = mpsc::unbounded_channel();
    let (stop, shutdown) = watch::channel(false);
    let consumer = app.bus.subscribe(
        Subscription {
            group: "test-consumer".into(),
            topics: vec!["mart.product.events".into()],
            db: inbox,
            handler: Arc::new(Forward(events)),
            retry: RetryPolicy::new(3),
            metrics: None,
            wake_relay: None,
        },
        shutdown,
    );

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

    let created = next(&mut received).await;
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

    let updated = next(&mut received).await;
    let Some(Payload::ProductUpdated(payload)) = updated.payload else { panic!("{updated:?}") };
    assert_eq!((payload.product_id.as_str(), payload.sku.as_str()), (product.id.as_str(), "TEA-001"));
    assert_eq!((payload.name.as_str(), payload.price), ("Sencha", Some(eur(1499))));
    assert_eq!(payload.changed_fields, ["price"]);

    let archived = next(&mut received).await;
    let Some(Payload::ProductArchived(payload)) = archived.payload else { panic!("{archived:?}") };
    assert_eq!((payload.product_id.as_str(), payload.sku.as_str()), (product.id.as_str(), "TEA-001"));

    // Nothing else: the second archive was silent.
    let later = tokio::time::timeout(Duration::from_millis(300), received.recv()).await;
    assert!(later.is_err(), "unexpected event {later:?}");

    stop.send(true).unwrap();
    consumer.await.unwrap();
    app.stop().await;
}
