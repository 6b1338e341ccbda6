//! `/openapi.json` and `/docs`: the document is OpenAPI 3.1, lists every public RPC at its
//! route with its access level, and the docs page works offline.

use edge::routes::Routes;
use http::StatusCode;
use mart_proto::contract::Access;
use serde_json::Value;

use crate::support::{Shop, settings};

/// The OpenAPI form of a route template: `{name=x/*}` → `{name}`.
fn openapi_path(template: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for c in template.chars() {
        match c {
            '=' if out.rfind('{') > out.rfind('}') => skipping = true,
            '}' => {
                skipping = false;
                out.push(c);
            }
            _ if skipping => {}
            _ => out.push(c),
        }
    }
    out
}

fn resolve<'a>(document: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference.strip_prefix('#').expect("a local reference");
    document.pointer(pointer).unwrap_or_else(|| panic!("{reference} does not resolve"))
}

fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(reference)) => out.push(reference.clone()),
                    _ => references(inner, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_lists_every_public_rpc() {
    let shop = Shop::start(settings()).await;
    let answer = shop.get("/openapi.json", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    let document = answer.json;

    // A real OpenAPI 3.1 parser accepts it.
    let parsed = oas3::from_json(document.to_string()).expect("the document parses as OpenAPI 3.1");
    assert!(parsed.openapi.starts_with("3.1"), "{}", parsed.openapi);

    for route in Routes::from_contract().unwrap().iter() {
        let path = openapi_path(&route.template);
        let operation = &document["paths"][&path][route.verb.to_ascii_lowercase()];
        assert_eq!(operation["x-grpc-method"], route.method.path.as_str(), "{} {path}", route.verb);
        assert!(!operation["summary"].as_str().unwrap_or("").is_empty(), "{path}: no summary from the comments");
        let security = &operation["security"];
        match route.method.access {
            Some(Access::Admin) | Some(Access::User) => {
                assert_eq!(security, &serde_json::json!([{"bearer": []}]), "{path}");
                assert!(operation["responses"]["401"].is_object(), "{path}");
            }
            Some(Access::Public) => assert!(security.as_array().unwrap().contains(&serde_json::json!({})), "{path}"),
            other => panic!("{path} is routed with access {other:?}"),
        }
    }
    // Nothing INTERNAL is documented.
    let text = document.to_string();
    for internal in ["BatchGetProducts", "BatchGetStock", "GetAddress\""] {
        assert!(!text.contains(&format!("/{internal}")), "{internal} is documented");
    }

    // Every reference resolves; Money and the error body are there with their fields.
    let mut refs = Vec::new();
    references(&document, &mut refs);
    assert!(refs.len() > 50);
    for reference in &refs {
        resolve(&document, reference);
    }
    let money = &document["components"]["schemas"]["mart.common.v1.Money"]["properties"];
    assert_eq!(money["amountMinor"]["type"], "string");
    assert_eq!(money["currency"]["type"], "string");
    let error = &document["components"]["schemas"]["Error"];
    assert_eq!(error["required"], serde_json::json!(["code", "message", "details"]));

    // Query parameters come from the request fields the path and body do not take.
    let list = &document["paths"]["/v1/products"]["get"]["parameters"];
    let names: Vec<_> = list.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for expected in ["pageSize", "pageToken", "categoryId", "q", "minPrice", "orderBy"] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    shop.stop().await;
}

#[tokio::test]
async fn the_docs_page_and_its_assets_are_served_from_the_edge() {
    let shop = Shop::start(settings()).await;
    let page = shop.get("/docs", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = String::from_utf8(page.body.to_vec()).unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"), "an outside URL in the page:\n{html}");

    // Every asset the page names is served, and none of them loads from a CDN.
    let mut assets: Vec<String> =
        html.split(['"', '\'']).filter(|piece| piece.starts_with("/docs/")).map(str::to_owned).collect();
    assets.sort();
    assets.dedup();
    assert_eq!(assets.len(), 4, "{assets:?}");
    for asset in &assets {
        let answer = shop.get(asset, None).await;
        assert_eq!(answer.status, StatusCode::OK, "{asset}");
        assert!(answer.body.len() > 100, "{asset} is empty");
        let text = String::from_utf8_lossy(&answer.body);
        for cdn in ["unpkg.com", "jsdelivr.net", "cdnjs.cloudflare.com", "fonts.googleapis.com", "petstore.swagger.io"]
        {
            assert!(!text.contains(cdn), "{asset} loads from {cdn}");
        }
    }
    // The page reads the edge's own document, with the swagger.io validator off.
    let init = shop.get("/docs/init.js", None).await;
    let init = String::from_utf8(init.body.to_vec()).unwrap();
    assert!(init.contains("\"/openapi.json\"") && init.contains("validatorUrl: null"), "{init}");
    // The licence travels with the vendored code.
    assert!(String::from_utf8_lossy(&shop.get("/docs/LICENSE", None).await.body).contains("Apache License"));
    assert_eq!(shop.get("/docs/nothing.js", None).await.status, StatusCode::NOT_FOUND);
    shop.stop().await;
}
