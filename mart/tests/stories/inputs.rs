//! Forged ids through the edge, on PostgreSQL (which refuses a NUL byte in text, so an id
//! that reaches a query with one becomes a 500): every id a route takes — in its path or
//! at the top of its body — with a control character in it is a 400 naming the field.

use edge::test_client::Answer;
use http::StatusCode;
use mart_proto::contract;
use prost_reflect::Kind;
use serde_json::{Map, Value, json};

use crate::support::{ADMIN_EMAIL, Payments, Settings, TestShop};

/// `path` with every `{variable}` (or `{variable=pattern}`) replaced by `value`.
fn fill(path: &str, value: &str) -> String {
    let mut filled = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').map_or(rest.len(), |end| start + end + 1);
        filled.push_str(&rest[..start]);
        filled.push_str(value);
        rest = &rest[end..];
    }
    filled.push_str(rest);
    filled
}

/// `verb path` as the holder of `token`, with `body` unless it is a GET.
async fn call(shop: &TestShop, verb: &str, path: String, token: &str, body: Value) -> Answer {
    if verb == "GET" {
        shop.http.get(&path, Some(token)).await
    } else {
        shop.http.send(verb, &path, Some(token), body).await
    }
}

#[tokio::test]
async fn control_characters_in_any_id_are_400_never_500() {
    let mut settings = Settings::new(Payments::Manual);
    settings.postgres = true;
    let shop = TestShop::start_with(settings).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let (customer, _) = shop.customer("ada@example.com").await;

    let mut checked = 0;
    for method in contract::methods() {
        let Some(route) = &method.http else { continue };
        if route.body != "*" && !route.body.is_empty() {
            continue; // HttpBody routes (the Stripe webhook) carry their own formats.
        }
        let verb = route.verb.to_uppercase();
        // Customer routes as a customer (their own data), the rest as the admin.
        let token = if route.path.contains("/me") || route.path.starts_with("/v1/cart") { &customer } else { &admin };

        // Ids in the path.
        if route.path.contains('{') {
            for forged in ["%00", "a%01b", "x%7F"] {
                let answer = call(&shop, &verb, fill(&route.path, forged), token, json!({})).await;
                assert_eq!(
                    answer.status,
                    StatusCode::BAD_REQUEST,
                    "{verb} {} with {forged}: {}",
                    route.path,
                    answer.json
                );
                checked += 1;
            }
        }
        // Ids at the top of the body.
        if route.body == "*" {
            let input = method.descriptor.input();
            // Ids the path carries are checked above: the path's value wins over the body's.
            let in_path = |name: &str| route.path.contains(&format!("{{{name}"));
            for field in input
                .fields()
                .filter(|f| f.name().ends_with("_id") && f.kind() == Kind::String && !f.is_list() && !in_path(f.name()))
            {
                let mut body = Map::new();
                body.insert(field.json_name().to_owned(), json!("bad\u{0}id"));
                let path = fill(&route.path, "0193d5b0-0000-7000-8000-000000000000");
                let answer = call(&shop, &verb, path, token, Value::Object(body)).await;
                assert_eq!(
                    answer.status,
                    StatusCode::BAD_REQUEST,
                    "{verb} {} with a NUL in {}: {}",
                    route.path,
                    field.name(),
                    answer.json
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "the routes were walked ({checked} checks)");
    shop.stop().await;
}
