//! Plumbing for the svc-product tests: a server on a free port over a fresh database, with
//! tokens from a minter of the test's own, clients, a stand-in svc-inventory, and shortcuts
//! for the steps every story starts with. Assertions stay in the tests.

use std::net::SocketAddr;

use chrono::Utc;
pub use mart_platform::test_util::{authed, bad_fields, reason};
use mart_platform::{
    bus::{EventBus, embedded::EmbeddedBus},
    config::Service,
    test_util::{Running, TestDb, TokenMinter, listener},
};
use mart_proto::{
    common::Money,
    inventory::{self as inv, inventory_service_server},
    product::{self as pb, catalog_service_client::CatalogServiceClient},
};
use svc_product::{
    Config, StartError,
    domain::{NewProduct, ProductInput},
    store::{products, variants},
};
use tonic::{Request, Response, Status, transport::Channel};

/// A running svc-product.
pub struct TestApp {
    pub addr: SocketAddr,
    /// The event bus svc-product publishes to: an embedded log of the test's own.
    pub bus: EventBus,
    /// An admin's access token.
    pub admin: String,
    /// A customer's access token.
    pub customer: String,
    /// The server; dropping it stops the server too.
    running: Running<StartError>,
    /// The bus's log, when the app made its own bus.
    _log: Option<TestDb>,
    /// Where uploaded media goes (`MART_MEDIA_URL`): a folder of the test's own.
    pub media: tempfile::TempDir,
    /// Dropped last: the database outlives the server.
    pub db: TestDb,
}

impl TestApp {
    /// svc-product on the embedded defaults over `db`, with no svc-inventory to ask.
    pub async fn spawn(db: TestDb) -> Self {
        let nobody = format!("http://{}", vacant_addr().await);
        Self::spawn_with(db, |config| config.peers.inventory = nobody).await
    }

    /// svc-product with `adjust` applied to its config.
    pub async fn spawn_with(db: TestDb, adjust: impl FnOnce(&mut Config)) -> Self {
        let log = TestDb::sqlite().await;
        let bus = EventBus::Embedded(EmbeddedBus::open(&log.url, 2).await.unwrap());
        Self::start(db, bus, Some(log), adjust).await
    }

    /// svc-product publishing to `bus` (shared with other services of the test), with
    /// `adjust` applied to its config.
    pub async fn spawn_on(db: TestDb, bus: EventBus, adjust: impl FnOnce(&mut Config)) -> Self {
        Self::start(db, bus, None, adjust).await
    }

    async fn start(db: TestDb, bus: EventBus, log: Option<TestDb>, adjust: impl FnOnce(&mut Config)) -> Self {
        let media = tempfile::tempdir().expect("a media folder");
        let mut config = Config::embedded(Service::Product);
        config.database_url = db.url.clone();
        config.own.media_url = Some(media.path().display().to_string());
        adjust(&mut config);
        let minter = TokenMinter::new();
        let keys = minter.key_set();
        let served = bus.clone();
        // Ready means migrated and serving: the tests may then touch the database directly.
        let running = Running::start("svc-product", move |listener, shutdown| {
            svc_product::serve(config, served, keys, listener, shutdown)
        })
        .await;
        Self {
            addr: running.addr,
            bus,
            admin: minter.admin("admin-1"),
            customer: minter.user("customer-1"),
            running,
            _log: log,
            media,
            db,
        }
    }

    /// Stops the server, waits for it, and hands back the database for a restart.
    pub async fn stop(self) -> TestDb {
        let Self { running, db, .. } = self;
        running.stop().await;
        db
    }

    pub fn channel(&self) -> Channel {
        self.running.channel()
    }

    pub fn client(&self) -> CatalogServiceClient<Channel> {
        CatalogServiceClient::new(self.channel())
    }

    /// Creates category `name` as the admin.
    pub async fn category(&self, name: &str) -> pb::Category {
        self.client()
            .create_category(authed(
                &self.admin,
                pb::CreateCategoryRequest { name: name.into(), description: String::new() },
            ))
            .await
            .expect("create category")
            .into_inner()
            .category
            .unwrap()
    }

    /// Creates `request` as the admin.
    pub async fn create(&self, request: pb::CreateProductRequest) -> Result<pb::Product, Status> {
        self.client().create_product(authed(&self.admin, request)).await.map(|r| r.into_inner().product.unwrap())
    }

    /// Creates a product in `category_id` as the admin.
    pub async fn product(&self, category_id: &str, sku: &str, name: &str, price: i64) -> pb::Product {
        self.create(new_product(category_id, sku, name, price)).await.expect("create product")
    }

    pub async fn get(&self, product_id: &str) -> Result<pb::Product, Status> {
        self.client()
            .get_product(pb::GetProductRequest { product_id: product_id.into() })
            .await
            .map(|r| r.into_inner().product.unwrap())
    }

    /// One page of ListProducts, anonymously.
    pub async fn list(&self, request: pb::ListProductsRequest) -> Result<pb::ListProductsResponse, Status> {
        self.client().list_products(request).await.map(Response::into_inner)
    }

    /// The SKUs ListProducts returns for `request`, all pages.
    pub async fn list_skus(&self, request: pb::ListProductsRequest) -> Vec<String> {
        let mut skus = Vec::new();
        let mut request = pb::ListProductsRequest { page_size: 100, ..request };
        loop {
            let page = self.list(request.clone()).await.expect("list products");
            skus.extend(page.products.into_iter().map(|p| p.sku));
            if page.next_page_token.is_empty() {
                return skus;
            }
            request.page_token = page.next_page_token;
        }
    }

    /// Puts products straight into the database (no events): fast enough for thousands.
    /// `make(i)` gives the i-th product's sku, name, brand and price. Their ids.
    pub async fn seed(
        &self,
        category_id: &str,
        count: usize,
        make: impl Fn(usize) -> (String, String, String, i64),
    ) -> Vec<String> {
        let db = mart_platform::db::connect(&self.db.url).await.unwrap();
        let now = Utc::now();
        let mut ids = Vec::with_capacity(count);
        let mut rows = Vec::with_capacity(count);
        let mut defaults = Vec::with_capacity(count);
        for i in 0..count {
            let (sku, name, brand, price) = make(i);
            let product = NewProduct::try_from(ProductInput {
                sku,
                name,
                brand,
                price: Some((price, "EUR".into())),
                category_id: category_id.into(),
                now,
                ..ProductInput::default()
            })
            .unwrap();
            let id = uuid::Uuid::now_v7().to_string();
            ids.push(id.clone());
            defaults.push((id.clone(), product.sku.as_str().to_owned()));
            rows.push(products::new_row(id, &product, now));
        }
        products::insert_many(&db, rows).await.unwrap();
        variants::insert_defaults(&db, defaults, now).await.unwrap();
        ids
    }
}

/// A CreateProductRequest with the required fields, in EUR.
pub fn new_product(category_id: &str, sku: &str, name: &str, price: i64) -> pb::CreateProductRequest {
    pb::CreateProductRequest {
        sku: sku.into(),
        name: name.into(),
        price: Some(eur(price)),
        category_id: category_id.into(),
        ..Default::default()
    }
}

pub fn eur(amount_minor: i64) -> Money {
    Money { amount_minor, currency: "EUR".into() }
}

/// An address nothing listens on: a port that was free a moment ago.
pub async fn vacant_addr() -> SocketAddr {
    listener().await.local_addr().unwrap()
}

// === a stand-in svc-inventory ===

/// How the stand-in answers BatchGetStock.
#[derive(Clone, Copy)]
pub enum Inventory {
    /// Every product has this many units available.
    Available(i32),
    /// Never answers.
    Hangs,
}

/// Serves InventoryService on a free port, answering BatchGetStock as `behaviour` says;
/// its address (`http://…`). It stops with the test's runtime.
pub async fn stand_in_inventory(behaviour: Inventory) -> String {
    let listener = listener().await;
    let addr = listener.local_addr().unwrap();
    let service = inventory_service_server::InventoryServiceServer::new(StandIn(behaviour));
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    format!("http://{addr}")
}

struct StandIn(Inventory);

#[tonic::async_trait]
impl inventory_service_server::InventoryService for StandIn {
    async fn batch_get_stock(
        &self,
        request: Request<inv::BatchGetStockRequest>,
    ) -> Result<Response<inv::BatchGetStockResponse>, Status> {
        match self.0 {
            Inventory::Available(available) => Ok(Response::new(inv::BatchGetStockResponse {
                stocks: request
                    .into_inner()
                    .product_ids
                    .into_iter()
                    .map(|product_id| inv::StockLevel {
                        variant_id: product_id.clone(),
                        product_id,
                        available,
                        on_hand: Some(available),
                        reserved: Some(0),
                        updated_at: None,
                    })
                    .collect(),
            })),
            Inventory::Hangs => std::future::pending().await,
        }
    }

    async fn get_stock(&self, _: Request<inv::GetStockRequest>) -> Result<Response<inv::GetStockResponse>, Status> {
        Err(Status::unimplemented("not part of the stand-in"))
    }

    async fn adjust_stock(
        &self,
        _: Request<inv::AdjustStockRequest>,
    ) -> Result<Response<inv::AdjustStockResponse>, Status> {
        Err(Status::unimplemented("not part of the stand-in"))
    }

    async fn set_stock(&self, _: Request<inv::SetStockRequest>) -> Result<Response<inv::SetStockResponse>, Status> {
        Err(Status::unimplemented("not part of the stand-in"))
    }

    async fn list_stock_movements(
        &self,
        _: Request<inv::ListStockMovementsRequest>,
    ) -> Result<Response<inv::ListStockMovementsResponse>, Status> {
        Err(Status::unimplemented("not part of the stand-in"))
    }
}
