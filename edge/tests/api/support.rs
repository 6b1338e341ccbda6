//! Plumbing for the edge tests: a shop of real services (svc-user, svc-product,
//! svc-inventory) in-process on free ports, sharing one embedded event log, with the edge in
//! front; an HTTP/1.1 client; shortcuts for signing in. Assertions stay in the tests.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use edge::{Edge, Settings, test_client::HttpClient};
use http::StatusCode;
use mart_platform::{
    auth::KeySet,
    bus::{EventBus, embedded::EmbeddedBus},
    config::Service,
    test_util::{TestDb, eventually, listener, wait_until_serving},
};
use serde_json::{Value, json};
use tokio::{sync::watch, task::JoinSet};

pub const ADMIN_EMAIL: &str = "admin@shop.example";
pub const PASSWORD: &str = "correct horse battery";

/// The shop behind an edge.
pub struct Shop {
    /// The edge's address.
    pub addr: SocketAddr,
    http: HttpClient,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    _dbs: Vec<TestDb>,
}

/// An address nothing listens on.
pub async fn vacant_addr() -> SocketAddr {
    let listener = listener().await;
    listener.local_addr().unwrap()
}

/// Settings with no rate limits, a short deadline, one browser origin, and the defaults
/// for everything else.
pub fn settings() -> Settings {
    Settings {
        request_timeout: Duration::from_secs(5),
        rate_per_ip: None,
        rate_per_user: None,
        cors_origins: vec!["https://shop.example".to_owned()],
        ..Settings::default()
    }
}

impl Shop {
    /// svc-user (with a bootstrap admin), svc-product and svc-inventory on SQLite, the other
    /// services absent, and the edge with `settings`.
    pub async fn start(settings: Settings) -> Self {
        Self::start_with(settings, |_, _| {}).await
    }

    /// As [`Shop::start`], with `adjust` applied to the edge's config (its peers) and the keys
    /// it trusts (svc-user's JWKS unless replaced).
    pub async fn start_with(settings: Settings, adjust: impl FnOnce(&mut edge::Config, &mut Arc<KeySet>)) -> Self {
        let log = TestDb::sqlite().await;
        let bus = EventBus::Embedded(EmbeddedBus::open(&log.url, 2).await.unwrap());
        let (stop, _) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let mut dbs = vec![log];
        let shutdown = |stop: &watch::Sender<bool>| {
            let mut rx = stop.subscribe();
            async move {
                let _ = rx.wait_for(|stopped| *stopped).await;
            }
        };

        let user_db = TestDb::sqlite().await;
        let mut user_config = svc_user::Config::embedded(Service::User);
        user_config.database_url = user_db.url.clone();
        user_config.own.bootstrap_admin =
            Some(svc_user::config::BootstrapAdmin { email: ADMIN_EMAIL.to_owned(), password: PASSWORD.to_owned() });
        let user_listener = listener().await;
        let user_addr = user_listener.local_addr().unwrap();
        let keys = || Arc::new(KeySet::remote(&format!("http://{user_addr}")).unwrap());
        tasks.spawn({
            let (bus, shutdown) = (bus.clone(), shutdown(&stop));
            async move { svc_user::serve(user_config, bus, user_listener, shutdown).await.expect("svc-user runs") }
        });

        let inventory_db = TestDb::sqlite().await;
        let mut inventory_config = svc_inventory::Config::embedded(Service::Inventory);
        inventory_config.database_url = inventory_db.url.clone();
        let inventory_listener = listener().await;
        let inventory_addr = inventory_listener.local_addr().unwrap();
        tasks.spawn({
            let (bus, keys, shutdown) = (bus.clone(), keys(), shutdown(&stop));
            async move {
                svc_inventory::serve(inventory_config, bus, keys, inventory_listener, shutdown)
                    .await
                    .expect("svc-inventory runs")
            }
        });

        let product_db = TestDb::sqlite().await;
        let mut product_config = svc_product::Config::embedded(Service::Product);
        product_config.database_url = product_db.url.clone();
        product_config.peers.inventory = format!("http://{inventory_addr}");
        let product_listener = listener().await;
        let product_addr = product_listener.local_addr().unwrap();
        tasks.spawn({
            let (bus, keys, shutdown) = (bus.clone(), keys(), shutdown(&stop));
            async move {
                svc_product::serve(product_config, bus, keys, product_listener, shutdown)
                    .await
                    .expect("svc-product runs")
            }
        });
        dbs.extend([user_db, inventory_db, product_db]);

        let mut edge_config = edge::Config { settings, ..edge::Config::embedded() };
        let absent = format!("http://{}", vacant_addr().await);
        edge_config.peers.user = format!("http://{user_addr}");
        edge_config.peers.product = format!("http://{product_addr}");
        edge_config.peers.inventory = format!("http://{inventory_addr}");
        edge_config.peers.order = absent.clone();
        edge_config.peers.notify = absent.clone();
        edge_config.peers.payment = absent;
        let mut edge_keys = keys();
        adjust(&mut edge_config, &mut edge_keys);
        let edge = Edge::new(&edge_config, edge_keys).expect("the edge builds");
        let edge_listener = listener().await;
        let addr = edge_listener.local_addr().unwrap();
        tasks.spawn({
            let shutdown = shutdown(&stop);
            async move { edge::serve(edge, edge_listener, shutdown).await.expect("the edge runs") }
        });

        for service in [user_addr, inventory_addr, product_addr] {
            wait_until_serving(service).await;
        }
        Self { addr, http: HttpClient { addr }, stop, tasks, _dbs: dbs }
    }

    /// Stops everything and waits for it.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while let Some(result) = self.tasks.join_next().await {
            result.expect("a task of the shop panicked");
        }
    }

    /// Registers `email` and returns an access token for it.
    pub async fn customer(&self, email: &str) -> String {
        let registered = self
            .send(
                "POST",
                "/v1/users",
                None,
                json!({"email": email, "password": PASSWORD, "firstName": "Ada", "lastName": "Lovelace"}),
            )
            .await;
        assert_eq!(registered.status, StatusCode::OK, "{}", registered.json);
        self.login(email).await
    }

    /// Logs `email` in.
    pub async fn login(&self, email: &str) -> String {
        let login = self.send("POST", "/v1/auth/login", None, json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.json);
        login.json["accessToken"].as_str().expect("an access token").to_owned()
    }

    pub async fn admin(&self) -> String {
        self.login(ADMIN_EMAIL).await
    }

    /// A category and a product in it, created by `admin`; the product's JSON.
    pub async fn product(&self, admin: &str, sku: &str, price_minor: i64, stock_count: i32) -> Value {
        let category = self.send("POST", "/v1/categories", Some(admin), json!({"name": format!("cat-{sku}")})).await;
        assert_eq!(category.status, StatusCode::OK, "{}", category.json);
        let category_id = category.json["category"]["id"].as_str().unwrap().to_owned();
        let created = self
            .send(
                "POST",
                "/v1/products",
                Some(admin),
                json!({
                    "sku": sku, "name": format!("Product {sku}"), "description": "A thing", "brand": "Acme",
                    "price": {"amountMinor": price_minor.to_string(), "currency": "USD"},
                    "categoryId": category_id, "initialStock": stock_count,
                }),
            )
            .await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.json);
        // svc-inventory learns of the product from its event; wait until the stock shows.
        let id = created.json["product"]["id"].as_str().unwrap().to_owned();
        eventually("the stock of the new product", || async {
            let stock = self.get(&format!("/v1/products/{id}/stock"), None).await;
            (stock.status == StatusCode::OK && stock.json["stock"]["available"] == stock_count).then_some(())
        })
        .await;
        created.json["product"].clone()
    }
}

impl std::ops::Deref for Shop {
    type Target = HttpClient;

    fn deref(&self) -> &HttpClient {
        &self.http
    }
}
