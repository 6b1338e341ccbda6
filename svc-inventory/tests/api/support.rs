//! Plumbing for the svc-inventory tests: one or more instances over one fresh database and
//! one event log, tokens, and shortcuts for publishing what the other services would —
//! old-style (a product id alone) and with variants.

use mart_platform::{
    bus::{EventBus, embedded::EmbeddedBus},
    config::Service,
    test_util::{Collector, Running, TestDb, TokenMinter, authed, eventually, publish},
};
use mart_proto::{
    events::{
        NewStock, OrderCancelled, OrderLine, OrderPaid, OrderPlaced, ProductArchived, ProductCreated, VariantAdded,
        VariantArchived, envelope::Payload,
    },
    inventory::{self as pb, inventory_service_client::InventoryServiceClient},
};
use svc_inventory::{Config, StartError};
use tonic::transport::Channel;

/// svc-inventory, possibly several instances sharing one database (as replicas do).
pub struct TestApp {
    pub bus: EventBus,
    pub tokens: TokenMinter,
    /// The first serves the clients; all consume.
    instances: Vec<Running<StartError>>,
    _db: TestDb,
    _log: TestDb,
}

impl TestApp {
    pub async fn spawn(db: TestDb) -> Self {
        Self::spawn_many(db, 1).await
    }

    /// `count` instances over `db`, all consuming in one group: reservations run
    /// concurrently, as with replicas.
    pub async fn spawn_many(db: TestDb, count: usize) -> Self {
        let log = TestDb::sqlite().await;
        let bus = EventBus::Embedded(EmbeddedBus::open(&log.url, 4).await.unwrap());
        let tokens = TokenMinter::new();
        let mut config = Config::embedded(Service::Inventory);
        config.database_url = db.url.clone();
        let mut instances = Vec::new();
        for _ in 0..count {
            let (config, bus, keys) = (config.clone(), bus.clone(), tokens.key_set());
            // One at a time (each is serving before the next starts): they share the
            // database and its migrations.
            let instance = Running::start("svc-inventory", |listener, shutdown| {
                svc_inventory::serve(config, bus, keys, listener, shutdown)
            })
            .await;
            instances.push(instance);
        }
        Self { bus, tokens, instances, _db: db, _log: log }
    }

    pub async fn stop(mut self) {
        for instance in self.instances.drain(..) {
            instance.stop().await;
        }
    }

    pub fn client(&self) -> InventoryServiceClient<Channel> {
        InventoryServiceClient::new(self.instances[0].channel())
    }

    /// The database the instances share, for looking at what is stored.
    pub fn db_url(&self) -> String {
        self._db.url.clone()
    }

    pub fn admin(&self) -> String {
        self.tokens.admin("admin-1")
    }

    /// What an admin sees of `product_id`'s stock: the product's total (for a product
    /// without variants, its one variant's figures).
    pub async fn level(&self, product_id: &str) -> pb::StockLevel {
        self.stock(product_id).await.stock.unwrap()
    }

    /// What an admin sees of `product_id`'s stock: the total and every variant.
    pub async fn stock(&self, product_id: &str) -> pb::GetStockResponse {
        let request = authed(&self.admin(), pb::GetStockRequest { product_id: product_id.into() });
        self.client().get_stock(request).await.unwrap().into_inner()
    }

    /// What an admin sees of one variant's stock.
    pub async fn variant(&self, product_id: &str, variant_id: &str) -> pb::StockLevel {
        let stock = self.stock(product_id).await;
        stock.variants.into_iter().find(|v| v.variant_id == variant_id).unwrap_or_else(|| panic!("no {variant_id}"))
    }

    /// A new product with `initial` units, announced as svc-product did before variants
    /// existed (no variants listed); waits for its stock.
    pub async fn product(&self, initial: i32) -> String {
        let product_id = uuid::Uuid::now_v7().to_string();
        let created = ProductCreated { product_id: product_id.clone(), initial_stock: initial, ..Default::default() };
        publish(&self.bus, &product_id, Payload::ProductCreated(created)).await;
        self.wait_for_variants(&product_id, 1).await;
        product_id
    }

    /// A new product with one variant per entry of `initial` (its units), as svc-product
    /// announces it; waits for their stock. The product and its variant ids.
    pub async fn product_with_variants(&self, initial: &[i32]) -> (String, Vec<String>) {
        let product_id = uuid::Uuid::now_v7().to_string();
        let variants: Vec<NewStock> = initial
            .iter()
            .map(|units| {
                let variant_id = uuid::Uuid::now_v7().to_string();
                NewStock { sku: format!("SKU-{variant_id}"), variant_id, initial_stock: *units }
            })
            .collect();
        let ids = variants.iter().map(|v| v.variant_id.clone()).collect();
        let created = ProductCreated { product_id: product_id.clone(), variants, ..Default::default() };
        publish(&self.bus, &product_id, Payload::ProductCreated(created)).await;
        self.wait_for_variants(&product_id, initial.len()).await;
        (product_id, ids)
    }

    /// Announces a new variant of `product_id` with `initial` units; waits for its stock.
    pub async fn add_variant(&self, product_id: &str, initial: i32) -> String {
        let variant_id = uuid::Uuid::now_v7().to_string();
        let variant =
            NewStock { variant_id: variant_id.clone(), sku: format!("SKU-{variant_id}"), initial_stock: initial };
        let added = VariantAdded { product_id: product_id.into(), variant: Some(variant), ..Default::default() };
        publish(&self.bus, product_id, Payload::VariantAdded(added)).await;
        eventually("the new variant's stock row", || async {
            let stock = self.client().get_stock(pb::GetStockRequest { product_id: product_id.into() }).await.ok()?;
            stock.into_inner().variants.iter().any(|v| v.variant_id == variant_id).then_some(())
        })
        .await;
        variant_id
    }

    async fn wait_for_variants(&self, product_id: &str, count: usize) {
        eventually("the product's stock rows", || async {
            let request = pb::GetStockRequest { product_id: product_id.into() };
            let stock = self.client().get_stock(request).await.ok()?;
            (stock.into_inner().variants.len() == count).then_some(())
        })
        .await;
    }

    /// Places order `order_id` with `lines` (product, quantity), as svc-order announced it
    /// before variants existed (no variant ids).
    pub async fn place(&self, order_id: &str, lines: &[(&str, i32)]) -> mart_proto::events::Envelope {
        self.place_keyed(order_id, order_id, lines).await
    }

    /// [`TestApp::place`] with the bus key `key`: a marker keyed like another order is
    /// handled after everything published about that order before it.
    pub async fn place_keyed(&self, key: &str, order_id: &str, lines: &[(&str, i32)]) -> mart_proto::events::Envelope {
        let lines: Vec<_> = lines.iter().map(|(product_id, quantity)| (*product_id, "", *quantity)).collect();
        self.place_variants_keyed(key, order_id, &lines).await
    }

    /// Places order `order_id` with `lines` (product, variant, quantity).
    pub async fn place_variants(&self, order_id: &str, lines: &[(&str, &str, i32)]) -> mart_proto::events::Envelope {
        self.place_variants_keyed(order_id, order_id, lines).await
    }

    async fn place_variants_keyed(
        &self,
        key: &str,
        order_id: &str,
        lines: &[(&str, &str, i32)],
    ) -> mart_proto::events::Envelope {
        let lines = lines
            .iter()
            .map(|(product_id, variant_id, quantity)| OrderLine {
                product_id: (*product_id).into(),
                variant_id: (*variant_id).into(),
                quantity: *quantity,
                ..Default::default()
            })
            .collect();
        let placed = OrderPlaced { order_id: order_id.into(), user_id: "u1".into(), lines, ..Default::default() };
        publish(&self.bus, key, Payload::OrderPlaced(placed)).await
    }

    /// Whether `variant_id` (for a product without variants, its id) still takes
    /// reservations, as stored.
    pub async fn orderable(&self, variant_id: &str) -> bool {
        let db = mart_platform::db::connect(&self._db.url).await.unwrap();
        svc_inventory::store::stock::find(&db, variant_id).await.unwrap().is_some_and(|level| level.orderable)
    }

    pub async fn pay(&self, order_id: &str) -> mart_proto::events::Envelope {
        let paid = OrderPaid {
            order_id: order_id.into(),
            user_id: "u1".into(),
            payment_id: "p1".into(),
            ..Default::default()
        };
        publish(&self.bus, order_id, Payload::OrderPaid(paid)).await
    }

    pub async fn cancel(&self, order_id: &str) -> mart_proto::events::Envelope {
        let cancelled = OrderCancelled { order_id: order_id.into(), user_id: "u1".into(), ..Default::default() };
        publish(&self.bus, order_id, Payload::OrderCancelled(cancelled)).await
    }

    pub async fn archive(&self, product_id: &str) {
        publish(
            &self.bus,
            product_id,
            Payload::ProductArchived(ProductArchived { product_id: product_id.into(), sku: String::new() }),
        )
        .await;
    }

    pub async fn archive_variant(&self, product_id: &str, variant_id: &str) {
        let archived =
            VariantArchived { product_id: product_id.into(), variant_id: variant_id.into(), sku: String::new() };
        publish(&self.bus, product_id, Payload::VariantArchived(archived)).await;
    }

    /// Collects what svc-inventory announces.
    pub async fn announcements(&self) -> Collector {
        Collector::start(&self.bus, &["mart.inventory.events"]).await
    }

    /// Every ledger row of `product_id` (a product with one variant), newest first.
    pub async fn ledger(&self, product_id: &str) -> Vec<pb::StockMovement> {
        self.variant_ledger(product_id, "").await
    }

    /// Every ledger row of `variant_id` of `product_id`, newest first, walking all pages.
    pub async fn variant_ledger(&self, product_id: &str, variant_id: &str) -> Vec<pb::StockMovement> {
        let mut rows = Vec::new();
        let mut token = String::new();
        loop {
            let request = pb::ListStockMovementsRequest {
                product_id: product_id.into(),
                variant_id: variant_id.into(),
                page_size: 7,
                page_token: token,
            };
            let page = self.client().list_stock_movements(authed(&self.admin(), request)).await.unwrap().into_inner();
            rows.extend(page.movements);
            if page.next_page_token.is_empty() {
                return rows;
            }
            token = page.next_page_token;
        }
    }

    /// Asserts the ledger explains the level of a product with one variant.
    pub async fn assert_ledger_consistent(&self, product_id: &str) -> pb::StockLevel {
        let level = self.assert_variant_consistent(product_id, product_id).await;
        let total = self.level(product_id).await;
        assert_eq!((total.available, total.on_hand, total.reserved), (level.available, level.on_hand, level.reserved));
        level
    }

    /// Asserts the ledger explains a variant's level: on hand and reserved are the sums of
    /// their deltas, each row's figures after it are the running sums, and nothing is
    /// negative.
    pub async fn assert_variant_consistent(&self, product_id: &str, variant_id: &str) -> pb::StockLevel {
        let level = self.variant(product_id, variant_id).await;
        let ledger = self.variant_ledger(product_id, variant_id).await;
        let (mut on_hand_after, mut reserved_after) = (0, 0);
        for movement in ledger.iter().rev() {
            assert_eq!((movement.product_id.as_str(), movement.variant_id.as_str()), (product_id, variant_id));
            on_hand_after += movement.on_hand_delta;
            reserved_after += movement.reserved_delta;
            assert_eq!(
                (movement.on_hand_after, movement.reserved_after),
                (on_hand_after, reserved_after),
                "{movement:?}"
            );
        }
        let on_hand: i64 = ledger.iter().map(|m| i64::from(m.on_hand_delta)).sum();
        let reserved: i64 = ledger.iter().map(|m| i64::from(m.reserved_delta)).sum();
        assert_eq!(Some(on_hand as i32), level.on_hand, "on hand is the sum of its movements");
        assert_eq!(Some(reserved as i32), level.reserved, "reserved is the sum of its movements");
        assert!(level.available >= 0 && level.reserved <= level.on_hand, "{level:?}");
        assert_eq!(level.available, level.on_hand.unwrap() - level.reserved.unwrap());
        level
    }
}

/// The order ids of `announcements` of one kind.
pub fn orders_with(events: &[mart_proto::events::Envelope], kind: fn(&Payload) -> bool) -> Vec<String> {
    events.iter().filter(|e| e.payload.as_ref().is_some_and(kind)).map(|e| e.aggregate_id.clone()).collect()
}
