//! Plumbing for the whole-shop stories: the shop on a temporary data directory with a real
//! SMTP sink, and the steps every story starts with. Assertions stay in the stories.

use std::time::Duration;

use edge::test_client::HttpClient;
use http::StatusCode;
use mart::shop::Shop;
use mart_platform::{
    config::{BootstrapAdmin, Config, PaymentProviderKind, Service},
    test_util::{eventually, listener, smtp::SmtpSink},
};
use serde_json::{Value, json};

pub const ADMIN_EMAIL: &str = "admin@shop.example";
pub const PASSWORD: &str = "correct horse battery";

/// A running shop and what the story needs around it.
pub struct TestShop {
    pub shop: Shop,
    pub http: HttpClient,
    pub smtp: SmtpSink,
    _dir: tempfile::TempDir,
}

/// How the payments are taken.
pub enum Payments {
    Manual,
    Stripe { base_url: String, secret_key: String, webhook_secret: String },
}

impl TestShop {
    pub async fn start(payments: Payments) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let smtp = SmtpSink::start().await;
        let data_dir = dir.path().to_owned();
        let smtp_url = smtp.url();
        let config_for = move |service: Service| {
            let mut config = Config::embedded(service);
            config.data_dir = data_dir.clone();
            config.database_url = mart_platform::config::sqlite_url(&data_dir, service);
            config.events.log_url = format!("sqlite://{}?mode=rwc", data_dir.join("events.db").display());
            config.bootstrap_admin =
                Some(BootstrapAdmin { email: ADMIN_EMAIL.to_owned(), password: PASSWORD.to_owned() });
            config.mail.smtp_url = Some(smtp_url.clone());
            config.edge.rate_per_ip = 0;
            config.edge.rate_per_user = 0;
            if let Payments::Stripe { base_url, secret_key, webhook_secret } = &payments {
                config.payment.provider = PaymentProviderKind::Stripe;
                config.payment.stripe_api_base = Some(base_url.clone());
                config.payment.stripe_secret_key = Some(secret_key.clone());
                config.payment.stripe_webhook_secret = Some(webhook_secret.clone());
            }
            config
        };
        let http = listener().await;
        let mut shop = Shop::start(config_for, http).await.expect("the shop starts");
        shop.ready(Duration::from_secs(30)).await.expect("the shop gets ready");
        let http = HttpClient { addr: shop.http_addr };
        Self { shop, http, smtp, _dir: dir }
    }

    pub async fn stop(self) {
        self.shop.stop().await.expect("the shop stops cleanly");
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

    /// Waits until order `id` is in `status`; the order.
    pub async fn order_reaches(&self, id: &str, token: &str, status: &str) -> Value {
        eventually(&format!("order {id} in {status}"), || async {
            let order = self.http.get(&format!("/v1/orders/{id}"), Some(token)).await;
            (order.json["order"]["status"] == status).then(|| order.json["order"].clone())
        })
        .await
    }

    /// The kinds of the notifications in `token`'s inbox, oldest first.
    pub async fn inbox(&self, token: &str) -> Vec<String> {
        let listed = self.http.get("/v1/notifications", Some(token)).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.json);
        let mut kinds: Vec<String> = listed.json["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["kind"].as_str().unwrap().trim_start_matches("NOTIFICATION_KIND_").to_owned())
            .collect();
        kinds.reverse();
        kinds
    }
}
