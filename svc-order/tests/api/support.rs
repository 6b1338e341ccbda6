//! Plumbing for the svc-order tests: a small shop in-process (svc-user, svc-product,
//! svc-inventory and svc-order on free ports, one embedded event bus), customers with an
//! address, products with stock, and shortcuts for what svc-payment would publish.
//! Assertions stay in the tests.

use std::{collections::HashMap, sync::Arc, time::Duration};

pub use mart_platform::test_util::{authed, bad_fields};
use mart_platform::{
    auth::KeySet,
    bus::{EventBus, embedded::EmbeddedBus},
    config::{Config, Service},
    test_util::{Collector, Running, TestDb, eventually, publish},
};
use mart_proto::{
    common::Money,
    events::{
        PaymentCreated, PaymentFailed, PaymentRefunded, PaymentSucceeded, RefundLine, StockReserved, envelope::Payload,
    },
    inventory::{GetStockRequest, inventory_service_client::InventoryServiceClient},
    order::{self as pb, order_service_client::OrderServiceClient},
    product::{self as catalog, catalog_service_client::CatalogServiceClient},
    user::{self as users, user_service_client::UserServiceClient},
};
use tonic::{Status, transport::Channel};

/// The password of every test account.
const PASSWORD: &str = "correct horse battery";

/// A customer: signed in, with one address.
#[derive(Clone, Debug)]
pub struct Customer {
    pub user_id: String,
    pub token: String,
    pub address_id: String,
}

/// The shop around svc-order.
pub struct Shop {
    pub bus: EventBus,
    /// An admin's access token (signed by svc-user, like every token here).
    pub admin: String,
    /// svc-order's configuration, kept for restarts.
    config: svc_order::Config,
    keys: Arc<KeySet>,
    order: Option<Running<svc_order::StartError>>,
    inventory: Option<Running<svc_inventory::StartError>>,
    product: Option<Running<svc_product::StartError>>,
    user: Running<svc_user::StartError>,
    category_id: String,
    /// svc-order's database, the one under test (dropped after the services).
    pub db: TestDb,
    _peer_dbs: Vec<TestDb>,
    _log: TestDb,
}

/// Options for [`Shop::open_with`]; by default svc-order's own defaults.
pub struct Options {
    /// MART_PAYMENT_TIMEOUT of svc-order.
    pub payment_timeout: Duration,
    /// MART_ORDER_EXPIRY_GRACE.
    pub expiry_grace: Duration,
    /// MART_ORDER_MAX_OPEN_UNPAID.
    pub max_open_unpaid: u32,
    /// MART_ORDER_MAX_OPEN_UNPAID_PER_ADDRESS.
    pub max_open_unpaid_per_address: u32,
    /// MART_ORDER_WATCH_RECHECK.
    pub watch_recheck: Duration,
    /// Whether svc-order starts with the shop; if not, [`Shop::restart_order`] starts it
    /// (and migrates its database then).
    pub start_order: bool,
}

impl Default for Options {
    fn default() -> Self {
        let own = svc_order::Settings::default();
        Self {
            payment_timeout: own.payment_timeout,
            expiry_grace: own.expiry_grace,
            max_open_unpaid: own.max_open_unpaid,
            max_open_unpaid_per_address: own.max_open_unpaid_per_address,
            watch_recheck: own.watch_recheck,
            start_order: true,
        }
    }
}

impl Shop {
    /// The shop with svc-order on `db`.
    pub async fn open(db: TestDb) -> Self {
        Self::open_with(db, Options::default()).await
    }

    pub async fn open_with(db: TestDb, options: Options) -> Self {
        let log = TestDb::sqlite().await;
        let bus = EventBus::Embedded(EmbeddedBus::open(&log.url, 4).await.unwrap());
        // The neighbours keep their data in SQLite files; the backend under test is svc-order's.
        let (user_db, product_db, inventory_db) =
            (TestDb::sqlite().await, TestDb::sqlite().await, TestDb::sqlite().await);

        // Each neighbour's own settings are its defaults; only the shared ones are set here.
        let mut config = Config::embedded(Service::User);
        config.database_url = user_db.url.clone();
        let user =
            Running::start("svc-user", |listener, shutdown| svc_user::serve(config, bus.clone(), listener, shutdown))
                .await;
        let keys = Arc::new(KeySet::remote(&url(&user)).unwrap());

        let mut config = Config::embedded(Service::Inventory);
        config.database_url = inventory_db.url.clone();
        let inventory = Running::start("svc-inventory", |listener, shutdown| {
            svc_inventory::serve(config, bus.clone(), keys.clone(), listener, shutdown)
        })
        .await;

        let mut config = Config::embedded(Service::Product);
        config.database_url = product_db.url.clone();
        config.peers.inventory = url(&inventory);
        let product = Running::start("svc-product", |listener, shutdown| {
            svc_product::serve(config, bus.clone(), keys.clone(), listener, shutdown)
        })
        .await;

        let mut config = svc_order::Config::embedded(Service::Order);
        config.database_url = db.url.clone();
        config.peers.user = url(&user);
        config.peers.product = url(&product);
        config.peers.inventory = url(&inventory);
        config.own.payment_timeout = options.payment_timeout;
        config.own.expiry_grace = options.expiry_grace;
        config.own.max_open_unpaid = options.max_open_unpaid;
        config.own.max_open_unpaid_per_address = options.max_open_unpaid_per_address;
        config.own.watch_recheck = options.watch_recheck;

        let users_db = mart_platform::db::connect(&user_db.url).await.unwrap();
        svc_user::create_admin(&users_db, "admin@mart.test", PASSWORD).await.expect("an admin");
        let admin = login(&user, "admin@mart.test").await;

        let mut shop = Self {
            bus,
            admin,
            config,
            keys,
            order: None,
            inventory: Some(inventory),
            product: Some(product),
            user,
            category_id: String::new(),
            db,
            _peer_dbs: vec![user_db, product_db, inventory_db],
            _log: log,
        };
        if options.start_order {
            shop.start_order().await;
        }
        let category = shop
            .catalog()
            .create_category(authed(
                &shop.admin,
                catalog::CreateCategoryRequest { name: "Tea".into(), description: String::new() },
            ))
            .await
            .unwrap();
        shop.category_id = category.into_inner().category.unwrap().id;
        shop
    }

    async fn start_order(&mut self) {
        let config = self.config.clone();
        let (bus, keys) = (self.bus.clone(), self.keys.clone());
        self.order = Some(
            Running::start("svc-order", |listener, shutdown| svc_order::serve(config, bus, keys, listener, shutdown))
                .await,
        );
    }

    /// Stops svc-order and starts it again on the same database, with `adjust` applied to
    /// its configuration.
    pub async fn restart_order(&mut self, adjust: impl FnOnce(&mut svc_order::Config)) {
        if let Some(order) = self.order.take() {
            order.stop().await;
        }
        adjust(&mut self.config);
        self.start_order().await;
    }

    /// Stops svc-order, leaving the rest of the shop running.
    pub async fn stop_order(&mut self) {
        if let Some(order) = self.order.take() {
            order.stop().await;
        }
    }

    /// Stops svc-inventory: placed orders stay PENDING until a test publishes what it
    /// would ([`Shop::reserve`]).
    pub async fn stop_inventory(&mut self) {
        if let Some(inventory) = self.inventory.take() {
            inventory.stop().await;
        }
    }

    /// What svc-inventory publishes once it reserved every line of `order`.
    pub async fn reserve(&self, order: &pb::Order) -> mart_proto::events::Envelope {
        let reserved = StockReserved { order_id: order.id.clone(), ..Default::default() };
        publish(&self.bus, &order.id, Payload::StockReserved(reserved)).await
    }

    /// Stops svc-product: the catalog is gone.
    pub async fn stop_catalog(&mut self) {
        if let Some(product) = self.product.take() {
            product.stop().await;
        }
    }

    pub fn orders(&self) -> OrderServiceClient<Channel> {
        OrderServiceClient::new(self.order.as_ref().expect("svc-order is running").channel())
    }

    pub fn catalog(&self) -> CatalogServiceClient<Channel> {
        CatalogServiceClient::new(self.product.as_ref().expect("svc-product is running").channel())
    }

    fn users(&self) -> UserServiceClient<Channel> {
        UserServiceClient::new(self.user.channel())
    }

    /// Registers `email`, signs in and adds an address.
    pub async fn customer(&self, email: &str) -> Customer {
        let registered = self
            .users()
            .register(users::RegisterRequest {
                email: email.into(),
                password: PASSWORD.into(),
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                phone: None,
            })
            .await
            .expect("register");
        let user_id = registered.into_inner().user.unwrap().id;
        let token = login(&self.user, email).await;
        let address = self
            .users()
            .add_address(authed(
                &token,
                users::AddAddressRequest {
                    label: "Home".into(),
                    line1: "12 Analytical Row".into(),
                    city: "London".into(),
                    postal_code: "N1 9GU".into(),
                    country: "GB".into(),
                    ..Default::default()
                },
            ))
            .await
            .expect("add address");
        Customer { user_id, token, address_id: address.into_inner().address.unwrap().id }
    }

    /// A product at `price` EUR cents with `stock` units; waits until inventory holds them.
    pub async fn product(&self, sku: &str, price: i64, stock: i32) -> String {
        let created = self
            .catalog()
            .create_product(authed(
                &self.admin,
                catalog::CreateProductRequest {
                    sku: sku.into(),
                    name: format!("Tea {sku}"),
                    price: Some(eur(price)),
                    category_id: self.category_id.clone(),
                    initial_stock: Some(stock),
                    ..Default::default()
                },
            ))
            .await
            .expect("create product");
        let product_id = created.into_inner().product.unwrap().id;
        eventually("inventory to stock the product", || async {
            self.available(&product_id).await.filter(|available| *available == stock)
        })
        .await;
        product_id
    }

    /// Units of `product_id` available, as inventory says.
    pub async fn available(&self, product_id: &str) -> Option<i32> {
        let mut client =
            InventoryServiceClient::new(self.inventory.as_ref().expect("svc-inventory is running").channel());
        let stock = client.get_stock(GetStockRequest { product_id: product_id.into() }).await.ok()?;
        Some(stock.into_inner().stock?.available)
    }

    /// Sets the catalog price of `product_id`.
    pub async fn reprice(&self, product_id: &str, price: i64) {
        let product = catalog::Product { price: Some(eur(price)), ..Default::default() };
        self.catalog()
            .update_product(authed(
                &self.admin,
                catalog::UpdateProductRequest {
                    product_id: product_id.into(),
                    product: Some(product),
                    update_mask: Some(prost_types::FieldMask { paths: vec!["price".into()] }),
                },
            ))
            .await
            .expect("reprice");
    }

    /// Archives `product_id`.
    pub async fn archive(&self, product_id: &str) {
        self.catalog()
            .delete_product(authed(&self.admin, catalog::DeleteProductRequest { product_id: product_id.into() }))
            .await
            .expect("archive");
    }

    /// AddCartItem by product id, as clients from before variants send it.
    pub async fn add(&self, who: &Customer, product_id: &str, quantity: i32) -> Result<pb::Cart, Status> {
        let request = pb::AddCartItemRequest { product_id: product_id.into(), quantity, ..Default::default() };
        let response = self.orders().add_cart_item(authed(&who.token, request)).await?;
        Ok(response.into_inner().cart.unwrap())
    }

    /// AddCartItem by variant id.
    pub async fn add_variant(&self, who: &Customer, variant_id: &str, quantity: i32) -> Result<pb::Cart, Status> {
        let request = pb::AddCartItemRequest { variant_id: variant_id.into(), quantity, ..Default::default() };
        let response = self.orders().add_cart_item(authed(&who.token, request)).await?;
        Ok(response.into_inner().cart.unwrap())
    }

    /// The "Tee": Size {S, M, L} × Colour {Red, Blue}, 15.00 EUR, the M variants 17.00,
    /// each variant with its own SKU (`TEE-S-RED`), image and `stock` units; waits until
    /// inventory holds them all.
    pub async fn tee(&self, stock: i32) -> Tee {
        use mart_proto::common::OptionValue;
        let option = |name: &str, values: &[&str]| catalog::ProductOption {
            name: name.into(),
            values: values.iter().map(|v| (*v).into()).collect(),
        };
        let mut variants = Vec::new();
        for size in ["S", "M", "L"] {
            for colour in ["Red", "Blue"] {
                let sku = format!("TEE-{size}-{}", colour.to_uppercase());
                variants.push(catalog::NewVariant {
                    option_values: vec![
                        OptionValue { name: "Size".into(), value: size.into() },
                        OptionValue { name: "Colour".into(), value: colour.into() },
                    ],
                    price: (size == "M").then(|| eur(1700)),
                    initial_stock: Some(stock),
                    image: Some(catalog::NewProductImage {
                        url: format!("https://img.mart.test/{}.png", sku.to_lowercase()),
                        alt: format!("Tee, {colour}, size {size}"),
                        ..Default::default()
                    }),
                    sku,
                });
            }
        }
        let created = self
            .catalog()
            .create_product(authed(
                &self.admin,
                catalog::CreateProductRequest {
                    sku: "TEE".into(),
                    name: "Tee".into(),
                    price: Some(eur(1500)),
                    category_id: self.category_id.clone(),
                    options: vec![option("Size", &["S", "M", "L"]), option("Colour", &["Red", "Blue"])],
                    variants,
                    ..Default::default()
                },
            ))
            .await
            .expect("create the Tee");
        let product = created.into_inner().product.unwrap();
        let variants = product.variants.iter().map(|v| (v.sku.clone(), v.id.clone())).collect();
        eventually("inventory to stock the Tee", || async {
            self.available(&product.id).await.filter(|available| *available == 6 * stock)
        })
        .await;
        Tee { product_id: product.id, variants }
    }

    /// Units of each variant of `product_id` available, by variant id, as inventory says.
    pub async fn available_by_variant(&self, product_id: &str) -> HashMap<String, i32> {
        let mut client =
            InventoryServiceClient::new(self.inventory.as_ref().expect("svc-inventory is running").channel());
        let request = GetStockRequest { product_id: product_id.into() };
        let stock = client.get_stock(request).await.expect("GetStock").into_inner();
        stock.variants.into_iter().map(|level| (level.variant_id, level.available)).collect()
    }

    /// Sets the price of `product_id`'s variant `variant_id`.
    pub async fn reprice_variant(&self, product_id: &str, variant_id: &str, price: i64) {
        let variant = catalog::Variant { price: Some(eur(price)), ..Default::default() };
        self.catalog()
            .update_variant(authed(
                &self.admin,
                catalog::UpdateVariantRequest {
                    product_id: product_id.into(),
                    variant_id: variant_id.into(),
                    variant: Some(variant),
                    update_mask: Some(prost_types::FieldMask { paths: vec!["price".into()] }),
                },
            ))
            .await
            .expect("reprice the variant");
    }

    /// Archives `product_id`'s variant `variant_id`.
    pub async fn archive_variant(&self, product_id: &str, variant_id: &str) {
        let request = catalog::ArchiveVariantRequest { product_id: product_id.into(), variant_id: variant_id.into() };
        self.catalog().archive_variant(authed(&self.admin, request)).await.expect("archive the variant");
    }

    /// Removes the image `product_id`'s variant `variant_id` shows from the product.
    pub async fn remove_variant_image(&self, product_id: &str, variant_id: &str) {
        let request = catalog::GetProductRequest { product_id: product_id.into() };
        let product = self
            .catalog()
            .get_product(authed(&self.admin, request))
            .await
            .expect("GetProduct")
            .into_inner()
            .product
            .unwrap();
        let variant = product.variants.iter().find(|v| v.id == variant_id).expect("the variant");
        let request =
            catalog::RemoveProductImageRequest { product_id: product_id.into(), image_id: variant.image_id.clone() };
        self.catalog().remove_product_image(authed(&self.admin, request)).await.expect("remove the image");
    }

    pub async fn cart(&self, who: &Customer) -> pb::Cart {
        self.orders().get_cart(authed(&who.token, pb::GetCartRequest {})).await.unwrap().into_inner().cart.unwrap()
    }

    /// PlaceOrder to `who`'s address, with no key.
    pub async fn place(&self, who: &Customer) -> Result<pb::Order, Status> {
        self.place_with(who, pb::PlaceOrderRequest { address_id: who.address_id.clone(), ..Default::default() }, None)
            .await
    }

    /// PlaceOrder to `who`'s address, with no key, as the edge passes on a call from the
    /// end client `ip`.
    pub async fn place_from(&self, who: &Customer, ip: &str) -> Result<pb::Order, Status> {
        let request = pb::PlaceOrderRequest { address_id: who.address_id.clone(), ..Default::default() };
        let mut request = authed(&who.token, request);
        request.metadata_mut().insert(mart_platform::rpc::CLIENT_IP, ip.parse().unwrap());
        Ok(self.orders().place_order(request).await?.into_inner().order.unwrap())
    }

    /// PlaceOrder with `request` and, if given, an `idempotency-key` header.
    pub async fn place_with(
        &self,
        who: &Customer,
        request: pb::PlaceOrderRequest,
        key: Option<&str>,
    ) -> Result<pb::Order, Status> {
        let mut request = authed(&who.token, request);
        if let Some(key) = key {
            request.metadata_mut().insert("idempotency-key", key.parse().unwrap());
        }
        Ok(self.orders().place_order(request).await?.into_inner().order.unwrap())
    }

    pub async fn get(&self, token: &str, order_id: &str) -> Result<pb::Order, Status> {
        let request = pb::GetOrderRequest { order_id: order_id.into() };
        Ok(self.orders().get_order(authed(token, request)).await?.into_inner().order.unwrap())
    }

    /// Waits until `who`'s order `order_id` is `status`; the order then.
    pub async fn wait_for(&self, who: &Customer, order_id: &str, status: pb::OrderStatus) -> pb::Order {
        eventually(&format!("the order to become {status:?}"), || async {
            self.get(&who.token, order_id).await.ok().filter(|order| order.status() == status)
        })
        .await
    }

    /// What svc-payment publishes once it has opened `order`'s payment `payment_id`, for
    /// the order's total.
    pub async fn open_payment(&self, order: &pb::Order, payment_id: &str) -> mart_proto::events::Envelope {
        let created = PaymentCreated {
            payment_id: payment_id.into(),
            order_id: order.id.clone(),
            user_id: order.user_id.clone(),
            amount: order.total.clone(),
            ..Default::default()
        };
        publish(&self.bus, &order.id, Payload::PaymentCreated(created)).await
    }

    /// Waits until `who`'s order `order_id` is reserved, opens its payment as svc-payment
    /// would, and waits until it awaits that payment; the order then.
    pub async fn awaiting_payment(&self, who: &Customer, order_id: &str) -> pb::Order {
        let reserved = self.wait_for(who, order_id, pb::OrderStatus::Reserved).await;
        self.open_payment(&reserved, &format!("pay-{order_id}")).await;
        self.wait_for(who, order_id, pb::OrderStatus::AwaitingPayment).await
    }

    /// What svc-payment publishes when it gave `refund` back from `order`'s payment.
    pub async fn refund(&self, order: &pb::Order, refund: Refund<'_>) -> mart_proto::events::Envelope {
        let currency = order.total.as_ref().map(|total| total.currency.clone()).unwrap_or_default();
        let money = |amount_minor| Some(Money { amount_minor, currency: currency.clone() });
        let refunded = PaymentRefunded {
            payment_id: "pay-1".into(),
            order_id: order.id.clone(),
            user_id: order.user_id.clone(),
            amount: money(refund.amount),
            reason: refund.reason.into(),
            refund_id: refund.id.into(),
            full: refund.full,
            refunded_total: money(refund.so_far),
            lines: refund
                .lines
                .iter()
                .map(|(product_id, quantity)| RefundLine { product_id: (*product_id).into(), quantity: *quantity })
                .collect(),
            ..Default::default()
        };
        publish(&self.bus, &order.id, Payload::PaymentRefunded(refunded)).await
    }

    /// Why each event svc-order refused from the payment topic was refused (its DLQ),
    /// oldest first.
    pub async fn refused_payment_events(&self) -> Vec<String> {
        use mart_platform::bus::{dlq_topic, headers};
        let EventBus::Embedded(log) = &self.bus else { panic!("the tests run on the embedded bus") };
        let letters = log.read(&dlq_topic("mart.payment.events"), None, 0, 100).await.unwrap();
        letters.iter().filter_map(|l| l.record.header(headers::DLQ_ERROR)).map(ToOwned::to_owned).collect()
    }

    /// Waits until order `order_id` has an entry in its history for the event `event`.
    pub async fn wait_for_handled(&self, order_id: &str, event: &mart_proto::events::Envelope) {
        eventually(&format!("{} to be handled", event.r#type), || async {
            let history = self.history(order_id).await;
            history.iter().any(|h| h.event_id.as_deref() == Some(event.id.as_str())).then_some(())
        })
        .await;
    }

    /// What svc-payment publishes when `order` is paid.
    pub async fn pay(&self, order: &pb::Order, payment_id: &str) -> mart_proto::events::Envelope {
        let paid = PaymentSucceeded {
            payment_id: payment_id.into(),
            order_id: order.id.clone(),
            user_id: order.user_id.clone(),
            amount: order.total.clone(),
            ..Default::default()
        };
        publish(&self.bus, &order.id, Payload::PaymentSucceeded(paid)).await
    }

    /// What svc-payment publishes when `order`'s payment fails for good.
    pub async fn fail_payment(&self, order: &pb::Order, reason: &str) {
        let failed = PaymentFailed {
            payment_id: "pay-failed".into(),
            order_id: order.id.clone(),
            user_id: order.user_id.clone(),
            amount: order.total.clone(),
            reason: reason.into(),
            ..Default::default()
        };
        publish(&self.bus, &order.id, Payload::PaymentFailed(failed)).await;
    }

    /// Collects what svc-order announces from now on.
    pub async fn announcements(&self) -> Collector {
        Collector::start(&self.bus, &["mart.order.events"]).await
    }

    /// The history of order `order_id`, oldest first (the contract has no field for it).
    pub async fn history(&self, order_id: &str) -> Vec<svc_order::store::history::Model> {
        let db = mart_platform::db::connect(&self.db.url).await.unwrap();
        svc_order::store::history::of(&db, order_id).await.unwrap()
    }

    /// The status of order `order_id` as stored (for when svc-order is down).
    pub async fn stored_status(&self, order_id: &str) -> String {
        let db = mart_platform::db::connect(&self.db.url).await.unwrap();
        svc_order::store::orders::find(&db, order_id, None).await.unwrap().unwrap().status
    }
}

/// The Tee of [`Shop::tee`].
pub struct Tee {
    pub product_id: String,
    /// Variant ids by SKU (`TEE-S-RED`).
    variants: HashMap<String, String>,
}

impl Tee {
    /// The id of the variant `size`/`colour` (`"S"`, `"Red"`).
    pub fn variant(&self, size: &str, colour: &str) -> String {
        let sku = format!("TEE-{size}-{}", colour.to_uppercase());
        self.variants.get(&sku).unwrap_or_else(|| panic!("the Tee has no {sku}")).clone()
    }
}

/// A refund svc-payment made (see [`Shop::refund`]), in minor units of the order's
/// currency.
pub struct Refund<'a> {
    /// svc-payment's id of it.
    pub id: &'a str,
    /// This refund.
    pub amount: i64,
    /// Every refund of the payment so far, this one included.
    pub so_far: i64,
    /// Everything captured went back.
    pub full: bool,
    /// Why.
    pub reason: &'a str,
    /// Product ids and units it is for.
    pub lines: &'a [(&'a str, i32)],
}

/// Where `service` is reached, as a peer address.
fn url<E>(service: &Running<E>) -> String {
    format!("http://{}", service.addr)
}

async fn login<E: std::fmt::Display + Send + 'static>(user: &Running<E>, email: &str) -> String {
    let mut client = UserServiceClient::new(user.channel());
    let request = users::LoginRequest { email: email.into(), password: PASSWORD.into() };
    client.login(request).await.expect("login").into_inner().access_token
}

pub fn eur(amount_minor: i64) -> Money {
    Money { amount_minor, currency: "EUR".into() }
}

/// The kinds of `events` about `order_id`, in order.
pub fn kinds(events: &[mart_proto::events::Envelope], order_id: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.aggregate_id == order_id)
        .map(|e| e.r#type.trim_start_matches("mart.events.v1.").to_owned())
        .collect()
}
