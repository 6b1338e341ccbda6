//! Plumbing for the svc-inventory tests: one or more instances over one fresh database and
//! one event log, tokens, and shortcuts for publishing what the other services would.

use mart_platform::{
    bus::{EventBus, embedded::EmbeddedBus},
    config::Service,
    test_util::{Collector, Running, TestDb, TokenMinter, authed, eventually, publish},
};
use mart_proto::{
    events::{OrderCancelled, OrderLine, OrderPaid, OrderPlaced, ProductArchived, ProductCreated, envelope::Payload},
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

    pub fn admin(&self) -> String {
        self.tokens.admin("admin-1")
    }

    /// What an admin sees of `product_id`'s stock.
    pub async fn level(&self, product_id: &str) -> pb::StockLevel {
        let request = authed(&self.admin(), pb::GetStockRequest { product_id: product_id.into() });
        self.client().get_stock(request).await.unwrap().into_inner().stock.unwrap()
    }

    /// A new product with `initial` units, as svc-product announces it; waits for its stock.
    pub async fn product(&self, initial: i32) -> String {
        let product_id = uuid::Uuid::now_v7().to_string();
        let created = ProductCreated { product_id: product_id.clone(), initial_stock: initial, ..Default::default() };
        publish(&self.bus, &product_id, Payload::ProductCreated(created)).await;
        eventually("the product's stock row", || async {
            let request = pb::GetStockRequest { product_id: product_id.clone() };
            self.client().get_stock(request).await.ok()
        })
        .await;
        product_id
    }

    /// Places order `order_id` with `lines` (product, quantity), as svc-order announces it.
    pub async fn place(&self, order_id: &str, lines: &[(&str, i32)]) -> mart_proto::events::Envelope {
        self.place_keyed(order_id, order_id, lines).await
    }

    /// [`TestApp::place`] with the bus key `key`: a marker keyed like another order is
    /// handled after everything published about that order before it.
    pub async fn place_keyed(&self, key: &str, order_id: &str, lines: &[(&str, i32)]) -> mart_proto::events::Envelope {
        let lines = lines
            .iter()
            .map(|(product_id, quantity)| OrderLine {
                product_id: (*product_id).into(),
                quantity: *quantity,
                ..Default::default()
            })
            .collect();
        let placed = OrderPlaced { order_id: order_id.into(), user_id: "u1".into(), lines, ..Default::default() };
        publish(&self.bus, key, Payload::OrderPlaced(placed)).await
    }

    /// Whether `product_id` still takes reservations, as stored.
    pub async fn orderable(&self, product_id: &str) -> bool {
        let db = mart_platform::db::connect(&self._db.url).await.unwrap();
        svc_inventory::store::stock::find(&db, product_id).await.unwrap().is_some_and(|level| level.orderable)
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

    /// Collects what svc-inventory announces.
    pub async fn announcements(&self) -> Collector {
        Collector::start(&self.bus, &["mart.inventory.events"]).await
    }

    /// Every ledger row of `product_id`, newest first, walking all pages.
    pub async fn ledger(&self, product_id: &str) -> Vec<pb::StockMovement> {
        let mut rows = Vec::new();
        let mut token = String::new();
        loop {
            let request =
                pb::ListStockMovementsRequest { product_id: product_id.into(), page_size: 7, page_token: token };
            let page = self.client().list_stock_movements(authed(&self.admin(), request)).await.unwrap().into_inner();
            rows.extend(page.movements);
            if page.next_page_token.is_empty() {
                return rows;
            }
            token = page.next_page_token;
        }
    }

    /// Asserts the ledger explains the level: on hand and reserved are the sums of their
    /// deltas, and nothing is negative.
    pub async fn assert_ledger_consistent(&self, product_id: &str) -> pb::StockLevel {
        let level = self.level(product_id).await;
        let ledger = self.ledger(product_id).await;
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
