//! Plumbing for the whole-shop stories: the shop on a temporary data directory with a real
//! SMTP sink, on the embedded bus or on a Kafka mock cluster, stopped and started again on
//! the same data, and the steps every story starts with. Assertions stay in the stories.

use std::{sync::Arc, time::Duration};

use edge::test_client::{Answer, HttpClient};
use http::StatusCode;
use mart::shop::{Shop, ShopConfig};
use mart_platform::{
    bus::{
        EventBus, headers,
        kafka::{KafkaBus, KafkaSettings, MockKafka, TopicCreation},
    },
    config::{Service, Vars},
    test_util::{Backend, TestDb, eventually, listener, smtp::SmtpSink},
};
use serde_json::{Value, json};
use svc_payment::stripe_fake::{FakeStripe, Webhook};

pub const ADMIN_EMAIL: &str = "admin@shop.example";
pub const PASSWORD: &str = "correct horse battery";

/// A running shop and what the story needs around it.
pub struct TestShop {
    pub shop: Shop,
    pub http: HttpClient,
    pub smtp: SmtpSink,
    /// How it was started, to start it again the same way.
    settings: Settings,
    /// The Kafka cluster of [`Bus::Kafka`]; it outlives a restart of the shop.
    kafka: Option<MockKafka>,
    /// The databases and the embedded event log; they outlive a restart of the shop.
    dir: tempfile::TempDir,
    /// With [`Settings::postgres`], each service's PostgreSQL database, dropped last.
    databases: Arc<Vec<TestDb>>,
}

/// How a story's shop is set up.
#[derive(Clone)]
pub struct Settings {
    pub payments: Payments,
    /// `MART_PAYMENT_TIMEOUT`, when the story needs its own.
    pub payment_timeout: Option<Duration>,
    pub bus: Bus,
    /// Each service on a PostgreSQL database of its own instead of a SQLite file.
    pub postgres: bool,
    /// More variables the story sets, as an operator would.
    pub vars: Vec<(&'static str, &'static str)>,
}

impl Settings {
    /// The embedded bus, the default payment timeout, SQLite and `payments`.
    pub fn new(payments: Payments) -> Self {
        Self { payments, payment_timeout: None, bus: Bus::Embedded, postgres: false, vars: Vec::new() }
    }
}

/// How the payments are taken.
#[derive(Clone)]
pub enum Payments {
    Manual,
    Stripe { base_url: String, secret_key: String, webhook_secret: String },
}

impl Payments {
    /// Card payments through `stripe`.
    pub fn stripe(stripe: &FakeStripe) -> Self {
        Payments::Stripe {
            base_url: stripe.base_url(),
            secret_key: stripe.secret_key(),
            webhook_secret: stripe.webhook_secret(),
        }
    }
}

/// Which event bus the services share.
#[derive(Clone, Copy)]
pub enum Bus {
    /// The durable log in a SQLite file of the data directory, as `mart up` runs.
    Embedded,
    /// Kafka: librdkafka's mock cluster, started for the story.
    Kafka,
}

impl TestShop {
    pub async fn start(payments: Payments) -> Self {
        Self::start_with(Settings::new(payments)).await
    }

    pub async fn start_with(settings: Settings) -> Self {
        let kafka = match settings.bus {
            Bus::Embedded => None,
            Bus::Kafka => Some(MockKafka::start(1).await.expect("the kafka mock cluster starts")),
        };
        let dir = tempfile::tempdir().unwrap();
        let mut databases = Vec::new();
        if settings.postgres {
            for _ in 0..6 {
                databases.push(TestDb::new(Backend::Postgres).await);
            }
        }
        Self::open(settings, kafka, dir, Arc::new(databases), SmtpSink::start().await).await
    }

    /// Stops the shop the way SIGTERM does and starts it again on the same databases, event
    /// log or cluster, and mail sink: a deploy, or a crash and restart, seen from outside.
    /// Tokens stay valid (svc-user keeps its keys); the edge gets a new port. Boxed, like
    /// [`TestShop::stop`].
    pub fn restart(self) -> std::pin::Pin<Box<dyn std::future::Future<Output = Self> + Send>> {
        Box::pin(async move {
            let Self { shop, smtp, settings, kafka, dir, databases, .. } = self;
            shop.stop().await.expect("the shop stops cleanly");
            Self::open(settings, kafka, dir, databases, smtp).await
        })
    }

    async fn open(
        settings: Settings,
        kafka: Option<MockKafka>,
        dir: tempfile::TempDir,
        databases: Arc<Vec<TestDb>>,
        smtp: SmtpSink,
    ) -> Self {
        let data_dir = dir.path().to_owned();
        let smtp_url = smtp.url();
        let brokers = kafka.as_ref().map(|k| k.bootstrap_servers().to_owned());
        // The shop as its operator would configure it, through the variables it reads.
        let data_dir = data_dir.display().to_string();
        let mut vars = Vars::from_pairs([
            ("MART_DATA_DIR", data_dir.as_str()),
            ("MART_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL),
            ("MART_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD),
            ("SMTP_URL", smtp_url.as_str()),
            ("MART_EDGE_RATE_PER_IP", "0"),
            ("MART_EDGE_RATE_PER_USER", "0"),
        ]);
        if let Some(brokers) = &brokers {
            vars.set("MART_EVENT_BUS", "kafka");
            vars.set("KAFKA_BROKERS", brokers.clone());
        }
        if let Payments::Stripe { base_url, secret_key, webhook_secret } = &settings.payments {
            vars.set("MART_PAYMENT_PROVIDER", "stripe");
            vars.set("STRIPE_API_BASE", base_url.clone());
            vars.set("STRIPE_SECRET_KEY", secret_key.clone());
            vars.set("STRIPE_WEBHOOK_SECRET", webhook_secret.clone());
        }
        for (variable, value) in &settings.vars {
            vars.set(variable, *value);
        }
        let mut config = ShopConfig::from_vars(&vars).expect("the stories' configuration is valid");
        if let Some(timeout) = settings.payment_timeout {
            // Shorter than a variable can say (milliseconds): set on the typed settings.
            config.order.own.payment_timeout = timeout;
            config.payment.own.payment_timeout = timeout;
        }
        if let [user, product, inventory, order, notify, payment] = databases.as_slice() {
            config.user.database_url = user.url.clone();
            config.product.database_url = product.url.clone();
            config.inventory.database_url = inventory.url.clone();
            config.order.database_url = order.url.clone();
            config.notify.database_url = notify.url.clone();
            config.payment.database_url = payment.url.clone();
        }
        let http = listener().await;
        let mut shop = match &kafka {
            None => Shop::start(config, http).await,
            Some(kafka) => Shop::start_on(kafka_bus(kafka).await, config, http).await,
        }
        .expect("the shop starts");
        shop.ready(Duration::from_secs(30)).await.expect("the shop gets ready");
        let http = HttpClient { addr: shop.http_addr };
        Self { shop, http, smtp, settings, kafka, dir, databases }
    }

    /// Stops the shop the way SIGTERM does. Boxed: a shop is a large value to hold in a
    /// future.
    pub fn stop(self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async move { self.shop.stop().await.expect("the shop stops cleanly") })
    }

    /// Stops one service (as SIGTERM would) while the rest of the shop keeps going.
    pub async fn down(&mut self, service: Service) {
        self.shop.stop_service(service).await.expect("the service stops cleanly");
    }

    /// Starts a service [`TestShop::down`] stopped, and waits until it serves.
    pub async fn up(&mut self, service: Service) {
        self.shop.start_service(service).await.expect("the service starts again");
        self.shop.ready(Duration::from_secs(30)).await.expect("the service gets ready");
    }

    /// Logs `email` in; the access token.
    pub async fn login(&self, email: &str) -> String {
        let login = self.http.send("POST", "/v1/auth/login", None, json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.json);
        login.json["accessToken"].as_str().unwrap().to_owned()
    }

    /// Registers a customer with a shipping address: (token, address id).
    pub async fn customer(&self, email: &str) -> (String, String) {
        let registered = self
            .http
            .send(
                "POST",
                "/v1/users",
                None,
                json!({"email": email, "password": PASSWORD, "firstName": "Ada", "lastName": "Lovelace"}),
            )
            .await;
        assert_eq!(registered.status, StatusCode::OK, "{}", registered.json);
        let token = self.login(email).await;
        let address = self
            .http
            .send(
                "POST",
                "/v1/users/me/addresses",
                Some(&token),
                json!({"label": "home", "line1": "1 Analytical Way", "city": "London", "postalCode": "N1 7AA", "country": "GB"}),
            )
            .await;
        assert_eq!(address.status, StatusCode::OK, "{}", address.json);
        (token, address.json["address"]["id"].as_str().unwrap().to_owned())
    }

    /// A product with `stock` units, created by the admin; its id.
    pub async fn product(&self, admin: &str, sku: &str, price_minor: i64, stock: i32) -> String {
        let category = self.http.send("POST", "/v1/categories", Some(admin), json!({"name": format!("c-{sku}")})).await;
        assert_eq!(category.status, StatusCode::OK, "{}", category.json);
        let created = self
            .http
            .send(
                "POST",
                "/v1/products",
                Some(admin),
                json!({
                    "sku": sku, "name": format!("Product {sku}"), "description": "Fine", "brand": "Acme",
                    "price": {"amountMinor": price_minor.to_string(), "currency": "USD"},
                    "categoryId": category.json["category"]["id"], "initialStock": stock,
                }),
            )
            .await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.json);
        let id = created.json["product"]["id"].as_str().unwrap().to_owned();
        self.stock_is(&id, admin, stock, 0).await;
        id
    }

    /// Waits until `product` has `on_hand` units with `reserved` of them reserved.
    pub async fn stock_is(&self, product: &str, admin: &str, on_hand: i32, reserved: i32) {
        eventually(&format!("stock of {product} at {on_hand} on hand, {reserved} reserved"), || async {
            let stock = self.http.get(&format!("/v1/products/{product}/stock"), Some(admin)).await;
            (stock.json["stock"]["onHand"] == on_hand && stock.json["stock"]["reserved"] == reserved).then_some(())
        })
        .await;
    }

    /// The kinds of `product`'s stock movements (INITIAL, RESERVATION, RELEASE, COMMIT…),
    /// oldest first: the ledger of everything that happened to its stock.
    pub async fn movements(&self, product: &str, admin: &str) -> Vec<String> {
        let listed = self.http.get(&format!("/v1/products/{product}/stock/movements"), Some(admin)).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.json);
        let mut kinds: Vec<String> = listed.json["movements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["kind"].as_str().unwrap().trim_start_matches("STOCK_MOVEMENT_KIND_").to_owned())
            .collect();
        kinds.reverse();
        kinds
    }

    /// Waits until order `id` is in `status`; the order.
    pub async fn order_reaches(&self, id: &str, token: &str, status: &str) -> Value {
        eventually(&format!("order {id} in {status}"), || async {
            let order = self.http.get(&format!("/v1/orders/{id}"), Some(token)).await;
            (order.json["order"]["status"] == status).then(|| order.json["order"].clone())
        })
        .await
    }

    /// Fills `customer`'s cart with `lines` (product id, units) and places the order to
    /// `address`; the new order's id.
    pub async fn order(&self, customer: &str, address: &str, lines: &[(&str, i32)]) -> String {
        for (product, quantity) in lines {
            let added = self
                .http
                .send("POST", "/v1/cart/items", Some(customer), json!({"productId": product, "quantity": quantity}))
                .await;
            assert_eq!(added.status, StatusCode::OK, "{}", added.json);
        }
        let placed = self.http.send("POST", "/v1/orders", Some(customer), json!({"addressId": address})).await;
        assert_eq!(placed.status, StatusCode::OK, "{}", placed.json);
        placed.json["order"]["id"].as_str().unwrap().to_owned()
    }

    /// Waits until order `id` has a payment; the payment.
    pub async fn payment(&self, id: &str, token: &str) -> Value {
        eventually(&format!("the payment of order {id}"), || async {
            let payment = self.http.get(&format!("/v1/orders/{id}/payment"), Some(token)).await;
            (payment.status == StatusCode::OK).then(|| payment.json["payment"].clone())
        })
        .await
    }

    /// Delivers a webhook from Stripe to the shop, through the edge, as Stripe sends it.
    pub async fn deliver(&self, webhook: &Webhook) -> Answer {
        self.http
            .call(
                "POST",
                "/v1/payments/stripe/webhook",
                &[("content-type", "application/json"), ("stripe-signature", &webhook.signature)],
                webhook.body.clone(),
            )
            .await
    }

    /// `token`'s inbox, oldest first.
    pub async fn notifications(&self, token: &str) -> Vec<Value> {
        let listed = self.http.get("/v1/notifications", Some(token)).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.json);
        let mut notifications = listed.json["notifications"].as_array().cloned().unwrap_or_default();
        notifications.reverse();
        notifications
    }

    /// The kinds of the notifications in `token`'s inbox, oldest first.
    pub async fn inbox(&self, token: &str) -> Vec<String> {
        self.notifications(token)
            .await
            .iter()
            .map(|n| n["kind"].as_str().unwrap().trim_start_matches("NOTIFICATION_KIND_").to_owned())
            .collect()
    }

    /// The subjects of the emails `email` received so far, in arrival order.
    pub fn mail_subjects(&self, email: &str) -> Vec<String> {
        self.smtp.mails().iter().filter(|m| m.to == [email]).filter_map(|m| m.subject()).collect()
    }
}

impl TestShop {
    /// The types of the events about `key` on `topic`, in log order, read from Kafka itself
    /// (for a shop on [`Bus::Kafka`]).
    pub async fn kafka_events(&self, topic: &str, key: &str) -> Vec<String> {
        let EventBus::Kafka(bus) = &self.shop.bus else { panic!("this shop is not on Kafka") };
        let records = bus.read_all(topic, 1000).await.expect("the topic can be read");
        records
            .iter()
            .filter(|delivery| delivery.record.key == key)
            .filter_map(|delivery| delivery.record.header(headers::EVENT_TYPE))
            .map(|kind| kind.trim_start_matches("mart.events.v1.").to_owned())
            .collect()
    }

    /// How many events any consumer gave up on, on every topic.
    pub async fn dead_letters(&self) -> usize {
        let mut count = 0;
        for topic in mart_platform::events::TOPICS {
            count += self.shop.bus.dead_letters(topic, 1000).await.expect("the dead letters can be read").len();
        }
        count
    }
}

/// A Kafka bus on `kafka` with every domain topic.
async fn kafka_bus(kafka: &MockKafka) -> EventBus {
    let topics = mart_platform::events::TOPICS.iter().map(|t| (*t).to_owned()).collect();
    let partitions = mart_platform::config::Config::<()>::embedded(Service::User).events.partitions;
    let settings = KafkaSettings {
        // The least brokers accept: the mock cluster keeps a group its last member left
        // rebalancing for a session timeout, so a restarted consumer waits that long.
        session_timeout: Duration::from_secs(6),
        // The mock cluster waits out every fetch; a saga is a dozen hops.
        fetch_wait_max: Duration::from_millis(20),
        ..KafkaSettings::new(kafka.bootstrap_servers(), partitions, topics, TopicCreation::Mock(kafka.clone()))
    };
    EventBus::Kafka(KafkaBus::connect(settings).await.expect("the kafka bus connects"))
}
