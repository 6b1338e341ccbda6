//! A clothing shop through the edge, on SQLite files and on PostgreSQL: the admin lists a
//! Tee in three sizes and two colours, a customer picks Red/S, the stock of that one
//! variant is reserved and sold, the order line keeps its size, colour and picture after
//! the catalog moves on; twenty customers race for the last Blue/L; an order for two
//! variants gets both or neither; and the storefront filters by size.

use http::StatusCode;
use mart_platform::test_util::eventually;
use serde_json::{Value, json};

use mart::demo::picture::{Picture, Shape};

use crate::support::{ADMIN_EMAIL, Payments, Settings, TestShop};

#[tokio::test]
async fn a_customer_buys_a_size_and_colour_on_sqlite() {
    Box::pin(a_customer_buys_a_size_and_colour(false)).await;
}

#[tokio::test]
async fn a_customer_buys_a_size_and_colour_on_postgres() {
    Box::pin(a_customer_buys_a_size_and_colour(true)).await;
}

#[tokio::test]
async fn twenty_customers_race_for_the_last_blue_l_on_sqlite() {
    Box::pin(twenty_customers_race_for_the_last_blue_l(false)).await;
}

#[tokio::test]
async fn twenty_customers_race_for_the_last_blue_l_on_postgres() {
    Box::pin(twenty_customers_race_for_the_last_blue_l(true)).await;
}

async fn start(postgres: bool) -> TestShop {
    TestShop::start_with(Settings { postgres, ..Settings::new(Payments::Manual) }).await
}

/// The Tee: Size {S, M, L} × Colour {Red, Blue}, the M ones 2.00 dearer, Blue/L with one
/// unit, the rest with 10, Red/S with its own picture. Its product JSON.
async fn tee(shop: &TestShop, admin: &str) -> Value {
    let category = shop.http.send("POST", "/v1/categories", Some(admin), json!({"name": "Clothes"})).await;
    assert_eq!(category.status, StatusCode::OK, "{}", category.json);
    // Red/S's own picture, uploaded first as a photo would be.
    let red = Picture { shape: Shape::Circle, colour: [200, 30, 30], band: [30, 30, 30] }.png();
    let bearer = format!("Bearer {admin}");
    let headers = [("content-type", "image/png"), ("authorization", bearer.as_str())];
    let uploaded = shop.http.call("POST", "/v1/media", &headers, red).await;
    assert_eq!(uploaded.status, StatusCode::OK, "{}", uploaded.json);
    let red_photo = uploaded.json["mediaId"].as_str().unwrap().to_owned();
    let mut variants = Vec::new();
    for size in ["S", "M", "L"] {
        for colour in ["Red", "Blue"] {
            let mut variant = json!({
                "sku": format!("TEE-{}-{size}", colour.to_uppercase()),
                "optionValues": [{"name": "Size", "value": size}, {"name": "Colour", "value": colour}],
                "initialStock": if (size, colour) == ("L", "Blue") { 1 } else { 10 },
            });
            if size == "M" {
                variant["price"] = json!({"amountMinor": "1700", "currency": "USD"});
            }
            if (size, colour) == ("S", "Red") {
                variant["image"] = json!({"mediaId": red_photo, "alt": "A red tee"});
            }
            variants.push(variant);
        }
    }
    let created = shop
        .http
        .send(
            "POST",
            "/v1/products",
            Some(admin),
            json!({
                "sku": "TEE", "name": "Tee", "brand": "Threadly",
                "price": {"amountMinor": "1500", "currency": "USD"},
                "categoryId": category.json["category"]["id"],
                "options": [{"name": "Size", "values": ["S", "M", "L"]}, {"name": "Colour", "values": ["Red", "Blue"]}],
                "variants": variants,
                "images": [{"url": "https://cdn.example/tee.png", "alt": "The tee"}],
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.json);
    created.json["product"].clone()
}

/// The id of `product`'s variant titled `title` ("Size: S, Colour: Red").
fn variant_id(product: &Value, title: &str) -> String {
    product["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["title"] == title)
        .and_then(|v| v["id"].as_str())
        .unwrap_or_else(|| panic!("no variant {title} in {product}"))
        .to_owned()
}

/// Each variant's (title, on hand, reserved), as the admin sees GetStock; `None` while
/// svc-inventory has not yet heard of the product.
async fn stock(shop: &TestShop, admin: &str, product: &Value) -> Option<Vec<(String, i64, i64)>> {
    let id = product["id"].as_str().unwrap();
    let stock = shop.http.get(&format!("/v1/products/{id}/stock"), Some(admin)).await;
    if stock.status == StatusCode::NOT_FOUND {
        return None;
    }
    assert_eq!(stock.status, StatusCode::OK, "{}", stock.json);
    let mut levels: Vec<_> = stock.json["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|level| {
            let title = product["variants"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["id"] == level["variantId"])
                .map(|v| v["title"].as_str().unwrap().to_owned())
                .unwrap_or_default();
            (title, level["onHand"].as_i64().unwrap_or(0), level["reserved"].as_i64().unwrap_or(0))
        })
        .collect();
    levels.sort();
    Some(levels)
}

/// Waits until `title`'s stock is (`on_hand`, `reserved`) and every other variant's is
/// untouched (what [`tee`] gave it, nothing reserved).
async fn only_moved(shop: &TestShop, admin: &str, product: &Value, title: &str, on_hand: i64, reserved: i64) {
    eventually(&format!("{title} at {on_hand} on hand, {reserved} reserved, the rest untouched"), || async {
        let levels = stock(shop, admin, product).await?;
        let ok = levels.len() == 6
            && levels.iter().all(|(t, have, held)| {
                if t == title {
                    (*have, *held) == (on_hand, reserved)
                } else {
                    (*have, *held) == (if t == "Size: L, Colour: Blue" { 1 } else { 10 }, 0)
                }
            });
        ok.then_some(())
    })
    .await;
}

async fn a_customer_buys_a_size_and_colour(postgres: bool) {
    let shop = start(postgres).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let product = tee(&shop, &admin).await;
    let id = product["id"].as_str().unwrap().to_owned();
    let red_s = variant_id(&product, "Size: S, Colour: Red");

    // The product page: six variants, each with its price and, once svc-inventory has
    // opened the stock, its units.
    let page = eventually("the Tee's stock to open", || async {
        let page = shop.http.get(&format!("/v1/products/{id}"), None).await;
        (page.json["product"]["availableStock"] == 51).then_some(page.json["product"].clone())
    })
    .await;
    assert_eq!(page["variants"].as_array().unwrap().len(), 6);
    let red_m = page["variants"].as_array().unwrap().iter().find(|v| v["title"] == "Size: M, Colour: Red").unwrap();
    assert_eq!(
        (red_m["unitPrice"]["amountMinor"].clone(), red_m["availableStock"].clone()),
        (json!("1700"), json!(10))
    );
    assert_eq!(page["priceRange"]["min"]["amountMinor"], "1500");
    assert_eq!(page["priceRange"]["max"]["amountMinor"], "1700");

    // Adding "the Tee" does not say which one; Red/S ×2 does.
    let (ada, address) = shop.customer("ada@example.com").await;
    let vague = shop.http.send("POST", "/v1/cart/items", Some(&ada), json!({"productId": id, "quantity": 1})).await;
    assert_eq!(vague.status, StatusCode::BAD_REQUEST, "{}", vague.json);
    assert!(vague.json.to_string().contains("product_id"), "{}", vague.json);
    let added = shop.http.send("POST", "/v1/cart/items", Some(&ada), json!({"variantId": red_s, "quantity": 2})).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.json);
    let line = &added.json["cart"]["lines"][0];
    assert_eq!((line["variantId"].as_str(), line["sku"].as_str()), (Some(red_s.as_str()), Some("TEE-RED-S")));
    assert_eq!(added.json["cart"]["subtotal"]["amountMinor"], "3000");

    let placed = shop.http.send("POST", "/v1/orders", Some(&ada), json!({"addressId": address})).await;
    assert_eq!(placed.status, StatusCode::OK, "{}", placed.json);
    let order_id = placed.json["order"]["id"].as_str().unwrap().to_owned();
    shop.order_reaches(&order_id, &ada, "ORDER_STATUS_AWAITING_PAYMENT").await;
    only_moved(&shop, &admin, &product, "Size: S, Colour: Red", 10, 2).await;

    let confirmed =
        shop.http.send("POST", &format!("/v1/orders/{order_id}/payment:confirm"), Some(&admin), json!({})).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.json);
    shop.order_reaches(&order_id, &ada, "ORDER_STATUS_PAID").await;
    only_moved(&shop, &admin, &product, "Size: S, Colour: Red", 8, 0).await;

    // The catalog moves on: Red/S is re-priced, loses its picture and is archived. The
    // order reads as it did.
    let image_id = page["variants"].as_array().unwrap().iter().find(|v| v["id"] == red_s.as_str()).unwrap()["imageId"]
        .as_str()
        .unwrap()
        .to_owned();
    let red_s_image =
        page["variants"].as_array().unwrap().iter().find(|v| v["id"] == red_s.as_str()).unwrap()["imageUrl"]
            .as_str()
            .unwrap()
            .to_owned();
    assert!(red_s_image.starts_with("/v1/media/"), "{red_s_image}");
    let bearer = format!("Bearer {admin}");
    let delete = |path: String| {
        let bearer = bearer.clone();
        let http = shop.http.clone();
        async move { http.call("DELETE", &path, &[("authorization", bearer.as_str())], String::new()).await }
    };
    let removed = delete(format!("/v1/products/{id}/images/{image_id}")).await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.json);
    let archived = delete(format!("/v1/products/{id}/variants/{red_s}")).await;
    assert_eq!(archived.status, StatusCode::OK, "{}", archived.json);
    let order = shop.http.get(&format!("/v1/orders/{order_id}"), Some(&ada)).await;
    let line = &order.json["order"]["lines"][0];
    assert_eq!(line["variantId"], red_s.as_str());
    assert_eq!(line["sku"], "TEE-RED-S");
    assert_eq!(line["optionValues"], json!([{"name": "Size", "value": "S"}, {"name": "Colour", "value": "Red"}]));
    assert_eq!(line["imageUrl"], red_s_image.as_str(), "the picture it was sold with");
    let still = shop.http.get(&red_s_image, None).await;
    assert_eq!((still.status, still.headers["content-type"].to_str().unwrap()), (StatusCode::OK, "image/png"));
    assert_eq!(line["unitPrice"]["amountMinor"], "1500");
    let again = shop.http.send("POST", "/v1/cart/items", Some(&ada), json!({"variantId": red_s, "quantity": 1})).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "an archived variant is not for sale: {}", again.json);

    // Two variants in one order: Red/M fits, Blue/M does not; neither is reserved.
    let red_m = variant_id(&product, "Size: M, Colour: Red");
    let blue_m = variant_id(&product, "Size: M, Colour: Blue");
    for (variant, quantity) in [(&red_m, 1), (&blue_m, 11)] {
        let added = shop
            .http
            .send("POST", "/v1/cart/items", Some(&ada), json!({"variantId": variant, "quantity": quantity}))
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.json);
    }
    let placed = shop.http.send("POST", "/v1/orders", Some(&ada), json!({"addressId": address})).await;
    assert_eq!(placed.status, StatusCode::OK, "{}", placed.json);
    let rejected = placed.json["order"]["id"].as_str().unwrap().to_owned();
    let order = shop.order_reaches(&rejected, &ada, "ORDER_STATUS_REJECTED").await;
    assert_eq!(order["lines"].as_array().unwrap().len(), 2);
    let levels = stock(&shop, &admin, &product).await.expect("the Tee's stock");
    assert!(levels.iter().all(|(_, _, reserved)| *reserved == 0), "nothing held: {levels:?}");

    // The storefront filters by size and colour, and counts.
    let listed = shop.http.get("/v1/products?option=Size:M&option=Colour:Blue&inStock=true", None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.json);
    assert_eq!(listed.json["products"][0]["id"], id.as_str());
    let sizes = listed.json["facets"]["options"].as_array().unwrap().iter().find(|o| o["name"] == "Size").cloned();
    // The facets count the listed products: the one Tee comes in every size.
    assert_eq!(
        sizes.unwrap()["values"],
        json!([
            {"value": "L", "label": "L", "count": 1},
            {"value": "M", "label": "M", "count": 1},
            {"value": "S", "label": "S", "count": 1},
        ])
    );
    assert_eq!(listed.json["facets"]["brands"], json!([{"value": "Threadly", "label": "Threadly", "count": 1}]));
    let none = shop.http.get("/v1/products?option=Size:XL", None).await;
    assert_eq!(none.json["products"], json!([]));
    shop.stop().await;
}

async fn twenty_customers_race_for_the_last_blue_l(postgres: bool) {
    let shop = start(postgres).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let product = tee(&shop, &admin).await;
    let blue_l = variant_id(&product, "Size: L, Colour: Blue");
    only_moved(&shop, &admin, &product, "Size: L, Colour: Blue", 1, 0).await;

    let mut customers = Vec::new();
    for i in 0..20 {
        customers.push(shop.customer(&format!("racer{i}@example.com")).await);
    }
    // All at once, each on its own task: the reservations race in svc-inventory.
    let mut placing = tokio::task::JoinSet::new();
    for (i, (token, address)) in customers.iter().enumerate() {
        let (http, token, address, blue_l) = (shop.http.clone(), token.clone(), address.clone(), blue_l.clone());
        placing.spawn(async move {
            let added =
                http.send("POST", "/v1/cart/items", Some(&token), json!({"variantId": blue_l, "quantity": 1})).await;
            assert_eq!(added.status, StatusCode::OK, "{}", added.json);
            let placed = http.send("POST", "/v1/orders", Some(&token), json!({"addressId": address})).await;
            assert_eq!(placed.status, StatusCode::OK, "{}", placed.json);
            (i, placed.json["order"]["id"].as_str().unwrap().to_owned())
        });
    }
    let mut orders = vec![String::new(); customers.len()];
    for (i, id) in placing.join_all().await {
        orders[i] = id;
    }

    let mut outcomes = Vec::new();
    for (order, (token, _)) in orders.iter().zip(&customers) {
        let status = eventually("the order to be decided", || async {
            let order = shop.http.get(&format!("/v1/orders/{order}"), Some(token)).await;
            let status = order.json["order"]["status"].as_str()?.to_owned();
            (status != "ORDER_STATUS_PENDING" && status != "ORDER_STATUS_RESERVED").then_some(status)
        })
        .await;
        outcomes.push(status);
    }
    let won = outcomes.iter().filter(|s| *s == "ORDER_STATUS_AWAITING_PAYMENT").count();
    let lost = outcomes.iter().filter(|s| *s == "ORDER_STATUS_REJECTED").count();
    assert_eq!((won, lost), (1, 19), "{outcomes:?}");
    only_moved(&shop, &admin, &product, "Size: L, Colour: Blue", 1, 1).await;
    shop.stop().await;
}
