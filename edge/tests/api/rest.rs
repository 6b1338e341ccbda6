//! REST through the edge: the shopper's and the admin's stories in JSON, every template
//! shape the contract uses, the proto3 JSON mapping both ways, and errors as HTTP.

use http::StatusCode;
use serde_json::json;

use crate::support::{Shop, settings};

#[tokio::test]
async fn a_shopper_registers_signs_in_and_browses_in_json() {
    let shop = Shop::start(settings()).await;
    let admin = shop.admin().await;

    // Register answers lowerCamelCase, enums by name, timestamps in RFC 3339, and never a hash.
    let registered = shop
        .send(
            "POST",
            "/v1/users",
            None,
            // snake_case is accepted on the way in as well as lowerCamelCase.
            json!({"email": "ada@example.com", "password": "correct horse battery", "first_name": "Ada", "lastName": "L"}),
        )
        .await;
    assert_eq!(registered.status, StatusCode::OK, "{}", registered.json);
    let user = &registered.json["user"];
    assert_eq!(user["firstName"], "Ada");
    assert_eq!(user["role"], "ROLE_USER");
    assert!(user["createdAt"].as_str().unwrap().ends_with('Z'), "{user}");
    assert!(!registered.body.windows(8).any(|w| w == b"password"), "{}", registered.json);

    let token = shop.login("ada@example.com").await;
    // The literal `/v1/users/me` wins over `/v1/users/{user_id}`.
    let me = shop.get("/v1/users/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.json);
    assert_eq!(me.json["user"]["email"], "ada@example.com");

    // The admin fills the catalog; Money's int64 travels as a string.
    let product = shop.product(&admin, "TEA-1", 1999, 7).await;
    let id = product["id"].as_str().unwrap();
    assert_eq!(product["price"], json!({"amountMinor": "1999", "currency": "USD"}));
    assert_eq!(product["status"], "PRODUCT_STATUS_ACTIVE");

    // Anyone reads it, with live stock from svc-inventory.
    let fetched = shop.get(&format!("/v1/products/{id}"), None).await;
    assert_eq!(fetched.status, StatusCode::OK, "{}", fetched.json);
    assert_eq!(fetched.json["product"]["sku"], "TEA-1");
    assert_eq!(fetched.json["product"]["availableStock"], 7);
    let stock = shop.get(&format!("/v1/products/{id}/stock"), None).await;
    assert_eq!(stock.json["stock"]["available"], 7, "{}", stock.json);

    // Query parameters: camelCase or snake_case, enums by name, int64 from text.
    shop.product(&admin, "TEA-2", 500, 1).await;
    for query in [
        "orderBy=PRODUCT_ORDER_BY_PRICE&pageSize=1",
        "order_by=PRODUCT_ORDER_BY_PRICE&page_size=1",
        "orderBy=PRODUCT_ORDER_BY_PRICE&pageSize=1&maxPrice=600",
    ] {
        let listed = shop.get(&format!("/v1/products?{query}"), None).await;
        assert_eq!(listed.status, StatusCode::OK, "{query}: {}", listed.json);
        let products = listed.json["products"].as_array().unwrap();
        assert_eq!(products.len(), 1, "{query}");
        assert_eq!(products[0]["sku"], "TEA-2", "{query}");
    }
    let filtered = shop.get("/v1/products?minPrice=1000&q=Product", None).await;
    let skus: Vec<_> = filtered.json["products"].as_array().unwrap().iter().map(|p| p["sku"].clone()).collect();
    assert_eq!(skus, [json!("TEA-1")]);

    // An admin lists accounts by role, given by name.
    let admins = shop.get("/v1/users?role=ROLE_ADMIN", Some(&admin)).await;
    assert_eq!(admins.status, StatusCode::OK, "{}", admins.json);
    let emails: Vec<_> = admins.json["users"].as_array().unwrap().iter().map(|u| u["email"].clone()).collect();
    assert_eq!(emails, [json!(crate::support::ADMIN_EMAIL)]);
    shop.stop().await;
}

#[tokio::test]
async fn an_admin_patches_with_a_field_mask_and_uses_custom_verbs() {
    let shop = Shop::start(settings()).await;
    let admin = shop.admin().await;
    let product = shop.product(&admin, "MUG-1", 1200, 3).await;
    let id = product["id"].as_str().unwrap();

    // PATCH with `body: "*"`, the path variable filling `product_id`, a FieldMask as a string.
    let patched = shop
        .send(
            "PATCH",
            &format!("/v1/products/{id}"),
            Some(&admin),
            json!({"product": {"name": "Big mug", "brand": "ignored"}, "updateMask": "name"}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.json);
    assert_eq!(patched.json["product"]["name"], "Big mug");
    assert_eq!(patched.json["product"]["brand"], "Acme");

    // A custom verb after a variable: `/v1/products/{product_id}/stock:adjust`.
    let adjusted = shop
        .send(
            "POST",
            &format!("/v1/products/{id}/stock:adjust"),
            Some(&admin),
            json!({"delta": 5, "reason": "delivery"}),
        )
        .await;
    assert_eq!(adjusted.status, StatusCode::OK, "{}", adjusted.json);
    let stock = shop.get(&format!("/v1/products/{id}/stock"), Some(&admin)).await;
    assert_eq!(stock.json["stock"]["onHand"], 8, "{}", stock.json);
    // Below what is reserved or on hand: the service's FAILED_PRECONDITION is a 409.
    let too_many = shop
        .send(
            "POST",
            &format!("/v1/products/{id}/stock:adjust"),
            Some(&admin),
            json!({"delta": -100, "reason": "loss"}),
        )
        .await;
    assert_eq!(too_many.status, StatusCode::CONFLICT, "{}", too_many.json);
    assert_eq!(too_many.json["code"], "FAILED_PRECONDITION");

    // DELETE archives: the product leaves the listing, and reads say so.
    let deleted =
        shop.call("DELETE", &format!("/v1/products/{id}"), &[("authorization", &format!("Bearer {admin}"))], "").await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.json);
    let archived = shop.get(&format!("/v1/products/{id}"), None).await;
    assert_eq!(archived.json["product"]["status"], "PRODUCT_STATUS_ARCHIVED");
    assert_eq!(shop.get("/v1/products", None).await.json["products"], json!([]));
    let gone = shop.get("/v1/products/01a21010-bd85-7129-80f5-000000000000", None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.json);
    assert_eq!(gone.json["code"], "NOT_FOUND");
    shop.stop().await;
}

#[tokio::test]
async fn errors_are_json_with_the_right_status() {
    let shop = Shop::start(settings()).await;
    let admin = shop.admin().await;

    // Validation in the service: 400 with the field violations it attached.
    let weak = shop
        .send(
            "POST",
            "/v1/users",
            None,
            json!({"email": "not-an-email", "password": "x", "firstName": "A", "lastName": "B"}),
        )
        .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST, "{}", weak.json);
    assert_eq!(weak.json["code"], "INVALID_ARGUMENT");
    let fields = weak.violations();
    assert!(fields.contains(&"email".to_owned()) && fields.contains(&"password".to_owned()), "{fields:?}");

    // Duplicates: 409.
    shop.customer("bob@example.com").await;
    let again = shop
        .send(
            "POST",
            "/v1/users",
            None,
            json!({"email": "bob@example.com", "password": "correct horse battery", "firstName": "B", "lastName": "B"}),
        )
        .await;
    assert_eq!((again.status, again.json["code"].as_str()), (StatusCode::CONFLICT, Some("ALREADY_EXISTS")));

    // Unknown JSON field: 400 naming it, and the service never sees the request.
    let unknown = shop.send("POST", "/v1/categories", Some(&admin), json!({"name": "Tea", "colour": "green"})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.json);
    assert!(unknown.json["message"].as_str().unwrap().contains("colour"), "{}", unknown.json);
    assert_eq!(unknown.violations(), ["colour"]);
    assert_eq!(shop.get("/v1/categories", None).await.json["categories"], json!([]));

    // Malformed JSON: 400 saying where it broke.
    let broken = shop
        .call(
            "POST",
            "/v1/categories",
            &[("authorization", &format!("Bearer {admin}")), ("content-type", "application/json")],
            "{\"name\": \"Tea\",\n  oops}",
        )
        .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST, "{}", broken.json);
    assert!(broken.json["message"].as_str().unwrap().contains("line 2"), "{}", broken.json);

    // A value of the wrong type, and an unknown query parameter: 400 naming the field.
    let wrong = shop.send("POST", "/v1/categories", Some(&admin), json!({"name": 42})).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.json);
    let bad_query = shop.get("/v1/products?colour=green", None).await;
    assert_eq!(bad_query.status, StatusCode::BAD_REQUEST, "{}", bad_query.json);
    assert_eq!(bad_query.violations(), ["colour"]);
    let bad_enum = shop.get("/v1/products?orderBy=CHEAPEST", None).await;
    assert_eq!(bad_enum.status, StatusCode::BAD_REQUEST, "{}", bad_enum.json);
    let bad_number = shop.get("/v1/products?pageSize=many", None).await;
    assert_eq!(bad_number.status, StatusCode::BAD_REQUEST, "{}", bad_number.json);

    // Unknown path: 404 JSON. Wrong verb: 405 with Allow.
    let nowhere = shop.get("/v1/nowhere", None).await;
    assert_eq!((nowhere.status, nowhere.json["code"].as_str()), (StatusCode::NOT_FOUND, Some("NOT_FOUND")));
    let wrong_verb = shop.call("PUT", "/v1/products", &[], "").await;
    assert_eq!(wrong_verb.status, StatusCode::METHOD_NOT_ALLOWED);
    let allow = wrong_verb.headers["allow"].to_str().unwrap();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");

    // A service that is not running: 503.
    let cart = shop.get("/v1/cart", Some(&shop.customer("carol@example.com").await)).await;
    assert_eq!(cart.status, StatusCode::SERVICE_UNAVAILABLE, "{}", cart.json);
    assert_eq!(cart.json["code"], "UNAVAILABLE");
    shop.stop().await;
}

/// A page on another site can make a visitor's browser post a `text/plain` or form body
/// without asking first (no CORS preflight), but never one labelled JSON; so a JSON body
/// must say it is JSON.
#[tokio::test]
async fn a_body_that_does_not_say_json_is_415() {
    let shop = Shop::start(settings()).await;
    let signup = r#"{"email":"forged@example.com","password":"correct horse battery","firstName":"F","lastName":"G"}"#;
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=xyz"),
        None,
    ] {
        let headers: Vec<(&str, &str)> = content_type.iter().map(|ct| ("content-type", *ct)).collect();
        let posted = shop.call("POST", "/v1/users", &headers, signup).await;
        assert_eq!(posted.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type:?}: {}", posted.json);
        assert_eq!(posted.json["code"], "UNSUPPORTED_MEDIA_TYPE", "{content_type:?}");
        assert!(posted.json["message"].as_str().unwrap().contains("application/json"), "{}", posted.json);
    }
    // None of them made an account.
    let login = shop
        .send(
            "POST",
            "/v1/auth/login",
            None,
            json!({"email": "forged@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED, "{}", login.json);

    // JSON with a charset is JSON.
    let json_utf8 =
        shop.call("POST", "/v1/users", &[("content-type", "application/json; charset=utf-8")], signup).await;
    assert_eq!(json_utf8.status, StatusCode::OK, "{}", json_utf8.json);
    // A body-less POST needs no type.
    let admin = shop.admin().await;
    let bearer = format!("Bearer {admin}");
    let empty = shop.call("POST", "/v1/categories", &[("authorization", &bearer)], "").await;
    assert_ne!(empty.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", empty.json);
    // A raw HttpBody route keeps whatever type it is sent with: the webhook passes the door
    // and meets the absent payment service (503), not a 415.
    let webhook = shop.call("POST", "/v1/payments/stripe/webhook", &[("content-type", "text/plain")], "{}").await;
    assert_eq!(webhook.status, StatusCode::SERVICE_UNAVAILABLE, "{}", webhook.json);
    shop.stop().await;
}

#[tokio::test]
async fn request_ids_are_kept_or_made_and_always_echoed() {
    let shop = Shop::start(settings()).await;
    let given = shop.call("GET", "/v1/categories", &[("x-request-id", "trace-me-42")], "").await;
    assert_eq!(given.headers["x-request-id"], "trace-me-42");
    let made = shop.get("/v1/categories", None).await;
    let id = made.headers["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "{id}");
    let failed = shop.get("/v1/nowhere", None).await;
    assert!(failed.headers.contains_key("x-request-id"));
    shop.stop().await;
}

#[tokio::test]
async fn edge_only_paths_answer() {
    let shop = Shop::start(settings()).await;
    assert_eq!(shop.get("/healthz", None).await.status, StatusCode::OK);
    // Order, notify and payment are not running: not ready, and it says which.
    let ready = shop.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE, "{}", ready.json);
    let failing: Vec<_> =
        ready.json["failing"].as_array().unwrap().iter().map(|f| f["service"].as_str().unwrap().to_owned()).collect();
    let mut failing = failing;
    failing.sort();
    assert_eq!(
        failing,
        ["mart.notify.v1.NotificationService", "mart.order.v1.OrderService", "mart.payment.v1.PaymentService"]
    );
    // Which, but never where: the internal addresses are the operator's (in the log).
    let text = String::from_utf8_lossy(&ready.body);
    assert!(!text.contains("127.0.0.1") && !text.contains("http://") && !text.contains("address"), "{text}");
    // The business figures are not on the public port: /metrics is on MART_METRICS_ADDR.
    let metrics = shop.get("/metrics", None).await;
    assert_eq!(metrics.status, StatusCode::NOT_FOUND, "{}", String::from_utf8_lossy(&metrics.body));
    assert!(!String::from_utf8_lossy(&metrics.body).contains("mart_http_requests_total"));
    shop.stop().await;
}
