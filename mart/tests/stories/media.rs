//! Product photos through the edge: an admin uploads the raw file, anyone fetches it back
//! byte for byte with its type and a cache lifetime of a year; a text file with a `.png`
//! name, an image past the media limit and an upload from someone who may not upload are
//! refused as HTTP says, whatever the other limits of the edge are.

use http::StatusCode;
use mart::demo::picture::{Picture, Shape};
use mart_platform::test_util::png_of;
use serde_json::json;

use crate::support::{ADMIN_EMAIL, Payments, TestShop};

/// A real PNG, as `mart demo-data` draws them.
fn photo() -> Vec<u8> {
    Picture { shape: Shape::Circle, colour: [200, 40, 40], band: [20, 20, 80] }.png()
}

#[tokio::test]
async fn photos_go_up_and_come_back_through_the_edge() {
    let shop = TestShop::start(Payments::Manual).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let bearer = format!("Bearer {admin}");
    let upload = |body: Vec<u8>, content_type: &'static str, token: Option<String>| {
        let http = shop.http.clone();
        async move {
            let mut headers = vec![("content-type", content_type)];
            let authorization = token.map(|t| format!("Bearer {t}"));
            if let Some(authorization) = &authorization {
                headers.push(("authorization", authorization.as_str()));
            }
            http.call("POST", "/v1/media", &headers, body).await
        }
    };

    // The PNG goes up and comes back unchanged, to anyone, cacheable for good.
    let photo = photo();
    let uploaded = upload(photo.clone(), "image/png", Some(admin.clone())).await;
    assert_eq!(uploaded.status, StatusCode::OK, "{}", uploaded.json);
    let media_id = uploaded.json["mediaId"].as_str().unwrap().to_owned();
    assert_eq!(media_id.len(), 64, "a SHA-256 in hex: {media_id}");
    assert_eq!(uploaded.json["url"], format!("/v1/media/{media_id}"));
    assert_eq!(uploaded.json["contentType"], "image/png");
    assert_eq!(uploaded.json["sizeBytes"], photo.len().to_string());
    let served = shop.http.get(&format!("/v1/media/{media_id}"), None).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.headers["content-type"], "image/png");
    assert_eq!(served.headers["cache-control"], "public, max-age=31536000, immutable");
    assert!(served.body == photo, "byte for byte");
    // Sent as anything else, the bytes still say PNG.
    let octets = upload(photo.clone(), "application/octet-stream", Some(admin.clone())).await;
    assert_eq!((octets.status, octets.json["mediaId"].as_str()), (StatusCode::OK, Some(media_id.as_str())));

    // A text file renamed .png is not an image.
    let text = shop
        .http
        .call(
            "POST",
            "/v1/media",
            &[
                ("content-type", "image/png"),
                ("content-disposition", "attachment; filename=\"photo.png\""),
                ("authorization", bearer.as_str()),
            ],
            "just some words, honestly a picture\n",
        )
        .await;
    assert_eq!(text.status, StatusCode::BAD_REQUEST, "{}", text.json);
    assert_eq!(text.json["details"][0]["fieldViolations"][0]["field"], "body", "{}", text.json);

    // 2 MB is past the edge's JSON body limit (1 MiB) and goes through; 6 MB is past the
    // media limit (5 MiB), which is what the 413 says.
    let two = upload(png_of(2_000_000), "image/png", Some(admin.clone())).await;
    assert_eq!(two.status, StatusCode::OK, "{}", two.json);
    let fetched = shop.http.get(two.json["url"].as_str().unwrap(), None).await;
    assert_eq!((fetched.status, fetched.body.len()), (StatusCode::OK, 2_000_000));
    let six = upload(png_of(6_000_000), "image/png", Some(admin.clone())).await;
    assert_eq!(six.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", six.json);
    let said = six.json["message"].as_str().unwrap();
    assert!(said.contains("media limit of 5242880 bytes (MART_MEDIA_MAX_BYTES)"), "{said}");

    // Only admins upload.
    let anonymous = upload(photo.clone(), "image/png", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{}", anonymous.json);
    let (customer, _) = shop.customer("ada@example.com").await;
    let customers = upload(photo.clone(), "image/png", Some(customer)).await;
    assert_eq!(customers.status, StatusCode::FORBIDDEN, "{}", customers.json);

    // Fetching what is not there, or is not a media id.
    let missing = shop.http.get(&format!("/v1/media/{}", "0".repeat(64)), None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.json);
    let bad = shop.http.get("/v1/media/not-a-digest", None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.json);

    // A product shows the upload by the URL it is served at.
    let category = shop.http.send("POST", "/v1/categories", Some(&admin), json!({"name": "Mugs"})).await;
    let created = shop
        .http
        .send(
            "POST",
            "/v1/products",
            Some(&admin),
            json!({
                "sku": "MUG", "name": "Mug", "price": {"amountMinor": "900", "currency": "USD"},
                "categoryId": category.json["category"]["id"], "initialStock": 3,
                "images": [{"mediaId": media_id, "alt": "A red mug"}],
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.json);
    assert_eq!(created.json["product"]["images"][0]["url"], format!("/v1/media/{media_id}"));
    let unknown = shop
        .http
        .send(
            "POST",
            "/v1/products",
            Some(&admin),
            json!({
                "sku": "MUG-2", "name": "Mug", "price": {"amountMinor": "900", "currency": "USD"},
                "categoryId": category.json["category"]["id"],
                "images": [{"mediaId": "1".repeat(64)}],
            }),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "never uploaded: {}", unknown.json);
    shop.stop().await;
}
