//! Every paged list through the edge: a page token carries a client to the next page of
//! the same query, and only that. Reused with other filters (or for another product's
//! ledger), garbled, or forged, it is refused with 400 naming `page_token` — as
//! `common.proto` promises — instead of a page of some other query.

use http::StatusCode;
use mart_platform::test_util::eventually;
use serde_json::Value;

use crate::support::{ADMIN_EMAIL, Payments, TestShop};

/// The `nextPageToken` of the first page of `path` (one item a page); panics if there is
/// no second page.
async fn first_token(shop: &TestShop, path: &str, token: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    let page = shop.http.get(&format!("{path}{separator}pageSize=1"), Some(token)).await;
    assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.json);
    let next = page.json["nextPageToken"].as_str().unwrap_or_default().to_owned();
    assert!(!next.is_empty(), "{path} has a second page: {}", page.json);
    next
}

/// The fields the 400 answer names.
fn bad_fields(json: &Value) -> Vec<String> {
    json["details"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|detail| detail["fieldViolations"].as_array().cloned().unwrap_or_default())
        .filter_map(|violation| violation["field"].as_str().map(str::to_owned))
        .collect()
}

/// Asks `path` with `page_token`; asserts 400 naming `page_token`.
async fn refused(shop: &TestShop, path: &str, page_token: &str, token: &str) {
    let separator = if path.contains('?') { '&' } else { '?' };
    let answer = shop.http.get(&format!("{path}{separator}pageSize=1&pageToken={page_token}"), Some(token)).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path} with another query's token: {}", answer.json);
    assert_eq!(answer.json["code"], "INVALID_ARGUMENT", "{}", answer.json);
    assert_eq!(bad_fields(&answer.json), ["page_token"], "{path}: {}", answer.json);
}

/// Asks `path` with `page_token`; asserts the second page comes.
async fn accepted(shop: &TestShop, path: &str, page_token: &str, token: &str) {
    let separator = if path.contains('?') { '&' } else { '?' };
    let answer = shop.http.get(&format!("{path}{separator}pageSize=1&pageToken={page_token}"), Some(token)).await;
    assert_eq!(answer.status, StatusCode::OK, "{path}, page two: {}", answer.json);
}

#[tokio::test]
async fn a_page_token_serves_only_the_query_it_came_from() {
    let shop = TestShop::start(Payments::Manual).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let tea = shop.product(&admin, "TEA-1", 1250, 5).await;
    let cup = shop.product(&admin, "CUP-1", 800, 5).await;
    let (ada, address) = shop.customer("ada@example.com").await;
    shop.customer("eve@example.com").await;
    let first = shop.order(&ada, &address, &[(&tea, 1)]).await;
    let second = shop.order(&ada, &address, &[(&tea, 1)]).await;
    for order in [&first, &second] {
        shop.order_reaches(order, &ada, "ORDER_STATUS_AWAITING_PAYMENT").await;
    }
    eventually("two notifications", || async { (shop.notifications(&ada).await.len() >= 2).then_some(()) }).await;

    let tea_ledger = format!("/v1/products/{tea}/stock/movements");
    let cup_ledger = format!("/v1/products/{cup}/stock/movements");
    // (the list, who asks, the same query with another filter)
    let lists: [(&str, &String, &str); 7] = [
        ("/v1/users", &admin, "/v1/users?emailPrefix=ada"),
        ("/v1/products", &ada, "/v1/products?q=tea"),
        ("/v1/products?orderBy=PRODUCT_ORDER_BY_PRICE", &ada, "/v1/products?orderBy=PRODUCT_ORDER_BY_NAME"),
        ("/v1/orders", &ada, "/v1/orders?status=ORDER_STATUS_CANCELLED"),
        ("/v1/admin/orders", &admin, "/v1/admin/orders?status=ORDER_STATUS_PAID"),
        ("/v1/notifications", &ada, "/v1/notifications?unreadOnly=true"),
        (&tea_ledger, &admin, &cup_ledger),
    ];
    for (path, token, other) in lists {
        let page_token = first_token(&shop, path, token).await;
        refused(&shop, other, &page_token, token).await;
        accepted(&shop, path, &page_token, token).await;
    }

    // Categories have no filters; their token still cannot be garbled or forged, nor
    // serve another list.
    let categories = first_token(&shop, "/v1/categories", &ada).await;
    accepted(&shop, "/v1/categories", &categories, &ada).await;
    refused(&shop, "/v1/categories", &format!("{categories}x"), &ada).await;
    refused(&shop, "/v1/categories", "bm90LWEtdG9rZW4", &ada).await;
    refused(&shop, "/v1/products", &categories, &ada).await;
}
