//! `mart demo-data`: a fresh shop gets a catalog to browse — pictures, and a few products in
//! sizes, weights or colours — and a customer who can sign in, and running it again adds
//! nothing twice.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::StatusCode;
use mart::demo::{self, CATEGORIES, CUSTOMER_EMAIL, CUSTOMER_PASSWORD, DemoProduct, Options, PRODUCTS, Summary};
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
            images_added: PRODUCTS.iter().map(DemoProduct::image_count).sum(),
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
            images_added: 0,
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

    // Every product shows its pictures (a variant's own among them, once each), the first
    // its own, served to anyone as the PNG it was drawn as.
    for product in PRODUCTS {
        let listed = listed.iter().find(|p| p["sku"] == product.sku).unwrap();
        let images = listed["images"].as_array().cloned().unwrap_or_default();
        assert_eq!(images.len(), product.image_count(), "{}: {listed}", product.sku);
        assert_eq!(picture(&shop, &images[0]["url"]).await, product.picture().png(), "{}", product.sku);
        assert_eq!(images[0]["alt"], product.name);
    }

    // The products sold in sizes, weights or colours show each variant with its own SKU,
    // price and stock; a variant in a colour of its own shows its own picture.
    let with_variants: Vec<&DemoProduct> = PRODUCTS.iter().filter(|p| !p.variants.is_empty()).collect();
    assert!(with_variants.len() >= 3, "a few products have variants");
    for product in with_variants {
        let id = listed.iter().find(|p| p["sku"] == product.sku).unwrap()["id"].as_str().unwrap().to_owned();
        let shown = eventually(&format!("the stock of each variant of {}", product.sku), || async {
            let got = shop.http.get(&format!("/v1/products/{id}"), None).await;
            let variants = got.json["product"]["variants"].as_array().cloned().unwrap_or_default();
            let stocked = variants.len() == product.variants.len()
                && variants.iter().zip(product.variants).all(|(shown, demo)| shown["availableStock"] == demo.stock);
            stocked.then_some(variants)
        })
        .await;
        for (shown, demo) in shown.iter().zip(product.variants) {
            assert_eq!(shown["sku"], demo.sku);
            let price = demo.price_minor.unwrap_or(product.price_minor);
            assert_eq!(
                shown["unitPrice"],
                json!({"amountMinor": price.to_string(), "currency": "USD"}),
                "{}",
                demo.sku
            );
            let title: Vec<String> =
                product.options.iter().zip(demo.values).map(|((name, _), value)| format!("{name}: {value}")).collect();
            assert_eq!(shown["title"], title.join(", "));
            if let Some(own) = product.picture_of(demo) {
                assert_eq!(picture(&shop, &shown["imageUrl"]).await, own.png(), "{}", demo.sku);
            }
        }
    }
    let apron = PRODUCTS.iter().find(|p| p.sku == "DEMO-GEAR-011").unwrap();
    let prices: Vec<i64> = apron.variants.iter().map(|v| v.price_minor.unwrap_or(apron.price_minor)).collect();
    assert!(prices[2] > prices[1] && prices[1] == prices[0], "the L apron is a little dearer: {prices:?}");

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

/// The picture at `url` as the edge serves it to anyone, checked to be a PNG.
async fn picture(shop: &TestShop, url: &Value) -> Bytes {
    let url = url.as_str().expect("an image URL");
    let served = shop.http.get(url, None).await;
    assert_eq!(served.status, StatusCode::OK, "{url}: {}", served.json);
    assert_eq!(served.headers["content-type"], "image/png", "{url}");
    served.body
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
