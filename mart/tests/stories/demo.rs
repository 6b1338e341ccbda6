//! `mart demo-data`: a fresh shop gets a catalog to browse and a customer who can sign in,
//! and running it again adds nothing twice.

use std::collections::BTreeMap;

use http::StatusCode;
use mart::demo::{self, CATEGORIES, CUSTOMER_EMAIL, CUSTOMER_PASSWORD, Options, PRODUCTS, Summary};
use mart_platform::test_util::eventually;
use serde_json::{Value, json};

use crate::support::{ADMIN_EMAIL, PASSWORD, Payments, TestShop};

#[tokio::test]
async fn demo_data_fills_the_shop_once_however_often_it_runs() {
    let shop = TestShop::start(Payments::Manual).await;
    let options = Options {
        url: format!("http://{}", shop.shop.http_addr),
        admin_email: ADMIN_EMAIL.to_owned(),
        admin_password: PASSWORD.to_owned(),
    };

    let first = demo::demo_data(&options).await.expect("the demo data goes in");
    assert_eq!(
        first,
        Summary {
            categories_created: CATEGORIES.len(),
            categories_existing: 0,
            products_created: PRODUCTS.len(),
            products_existing: 0,
            customer_created: true,
        }
    );
    let again = demo::demo_data(&options).await.expect("a second run succeeds");
    assert_eq!(
        again,
        Summary {
            categories_created: 0,
            categories_existing: CATEGORIES.len(),
            products_created: 0,
            products_existing: PRODUCTS.len(),
            customer_created: false,
        }
    );

    // Every demo product exists exactly once, with its price, and its stock arrives.
    assert!((40..=60).contains(&PRODUCTS.len()), "about fifty products");
    let listed = all(&shop, "/v1/products", "products").await;
    let mut skus = BTreeMap::new();
    for product in &listed {
        *skus.entry(product["sku"].as_str().unwrap().to_owned()).or_insert(0) += 1;
    }
    for product in PRODUCTS {
        assert_eq!(skus.get(product.sku), Some(&1), "{} is in the catalog once", product.sku);
    }
    assert_eq!(listed.len(), PRODUCTS.len());
    assert_eq!(all(&shop, "/v1/categories", "categories").await.len(), CATEGORIES.len());
    let sencha = listed.iter().find(|p| p["sku"] == "DEMO-TEA-001").unwrap();
    assert_eq!(sencha["price"], json!({"amountMinor": "1250", "currency": "USD"}));
    let id = sencha["id"].as_str().unwrap().to_owned();
    eventually("the sencha's stock", || async {
        let product = shop.http.get(&format!("/v1/products/{id}"), None).await;
        (product.json["product"]["availableStock"] == 40).then_some(())
    })
    .await;

    // The demo customer signs in with the printed password and has somewhere to ship to.
    let login = shop
        .http
        .send("POST", "/v1/auth/login", None, json!({"email": CUSTOMER_EMAIL, "password": CUSTOMER_PASSWORD}))
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.json);
    let token = login.json["accessToken"].as_str().unwrap();
    let addresses = shop.http.get("/v1/users/me/addresses", Some(token)).await;
    assert_eq!(addresses.json["addresses"].as_array().map(Vec::len), Some(1), "{}", addresses.json);

    shop.stop().await;
}

#[tokio::test]
async fn demo_data_says_what_is_wrong_with_the_url_or_the_credentials() {
    let shop = TestShop::start(Payments::Manual).await;
    let options = |url: String, password: &str| Options {
        url,
        admin_email: ADMIN_EMAIL.to_owned(),
        admin_password: password.to_owned(),
    };
    let url = format!("http://{}", shop.shop.http_addr);

    let wrong = demo::demo_data(&options(url.clone(), "not the password")).await.unwrap_err();
    assert!(wrong.is_usage() && wrong.to_string().contains("refused the admin credentials"), "{wrong}");
    let tls = demo::demo_data(&options(url.replace("http:", "https:"), PASSWORD)).await.unwrap_err();
    assert!(tls.is_usage() && tls.to_string().contains("only http://"), "{tls}");

    let closed = mart_platform::test_util::listener().await;
    let nobody = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = demo::demo_data(&options(nobody, PASSWORD)).await.unwrap_err();
    assert!(unreachable.is_usage() && unreachable.to_string().contains("is `mart up` running"), "{unreachable}");

    shop.stop().await;
}

/// Every item of the public list at `path`, page by page.
async fn all(shop: &TestShop, path: &str, field: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut token = String::new();
    loop {
        let page = shop.http.get(&format!("{path}?pageSize=20&pageToken={token}"), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.json);
        items.extend(page.json[field].as_array().cloned().unwrap_or_default());
        match page.json["nextPageToken"].as_str() {
            Some(next) if !next.is_empty() => token = next.to_owned(),
            _ => return items,
        }
    }
}
