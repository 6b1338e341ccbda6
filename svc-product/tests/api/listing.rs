//! A shopper browses: filters narrow the shelf, every order works both ways, and paging
//! through a thousand products while the shop keeps adding more shows each one exactly
//! once. Page tokens cannot be forged or reused for another query.

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use mart_platform::{db_tests, test_util::TestDb};
use mart_proto::product as pb;

use crate::support::{TestApp, authed, bad_fields, new_product};

db_tests!(
    filters_narrow_the_shelf,
    every_order_works_both_ways,
    paging_through_a_thousand_products_while_more_arrive_shows_each_once,
    forged_and_foreign_page_tokens_are_refused,
    a_filtered_walk_keeps_its_query_and_refuses_any_other,
    bad_list_requests_are_named,
);

async fn filters_narrow_the_shelf(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let tea = app.category("Tea").await;
    let coffee = app.category("Coffee").await;
    for (category, sku, name, brand, description, price) in [
        (&tea, "TEA-1", "Sencha", "Leafwise", "Steamed green tea", 1299),
        (&tea, "TEA-2", "Matcha 100% pure", "LEAFWISE", "Stone-ground green tea powder", 1999),
        (&tea, "TEA-3", "Earl Grey", "Twinings", "Black tea with bergamot", 499),
        (&coffee, "COF-1", "Espresso beans", "Lavazza", "Dark roast", 1599),
        (&coffee, "COF-2", "Green coffee", "Leafwise", "", 899),
        (&tea, "TEA-4", "Old green tea", "Leafwise", "No longer sold", 100),
    ] {
        app.create(pb::CreateProductRequest {
            brand: brand.into(),
            description: description.into(),
            ..new_product(&category.id, sku, name, price)
        })
        .await
        .unwrap();
    }
    let old = app.list_skus(pb::ListProductsRequest { q: "old".into(), ..Default::default() }).await;
    assert_eq!(old, ["TEA-4"]);
    let old_id = app.list(pb::ListProductsRequest { q: "old".into(), ..Default::default() }).await.unwrap().products[0]
        .id
        .clone();
    app.client().delete_product(authed(&app.admin, pb::DeleteProductRequest { product_id: old_id })).await.unwrap();

    let skus = |request: pb::ListProductsRequest| app.list_skus(request);
    let all = pb::ListProductsRequest::default;
    assert_eq!(skus(all()).await, ["TEA-1", "TEA-2", "TEA-3", "COF-1", "COF-2"]);
    assert_eq!(
        skus(pb::ListProductsRequest { category_id: tea.id.clone(), ..all() }).await,
        ["TEA-1", "TEA-2", "TEA-3"]
    );
    assert!(skus(pb::ListProductsRequest { category_id: "no-such-category".into(), ..all() }).await.is_empty());

    // Text: every word somewhere in name, brand or description, whatever the case.
    assert_eq!(skus(pb::ListProductsRequest { q: "green".into(), ..all() }).await, ["TEA-1", "TEA-2", "COF-2"]);
    assert_eq!(skus(pb::ListProductsRequest { q: " GREEN   Tea ".into(), ..all() }).await, ["TEA-1", "TEA-2"]);
    assert_eq!(skus(pb::ListProductsRequest { q: "leafWISE".into(), ..all() }).await, ["TEA-1", "TEA-2", "COF-2"]);
    assert_eq!(skus(pb::ListProductsRequest { q: "bergamot earl".into(), ..all() }).await, ["TEA-3"]);
    // Wildcards are literal characters.
    assert_eq!(skus(pb::ListProductsRequest { q: "100%".into(), ..all() }).await, ["TEA-2"]);
    assert_eq!(skus(pb::ListProductsRequest { q: "%".into(), ..all() }).await, ["TEA-2"]);
    assert!(skus(pb::ListProductsRequest { q: "_".into(), ..all() }).await.is_empty());

    // Brand: the whole brand, whatever the case.
    assert_eq!(skus(pb::ListProductsRequest { brand: "leafwise".into(), ..all() }).await, ["TEA-1", "TEA-2", "COF-2"]);
    assert!(skus(pb::ListProductsRequest { brand: "Leaf".into(), ..all() }).await.is_empty());

    // Price bounds are inclusive.
    assert_eq!(skus(pb::ListProductsRequest { min_price: Some(1299), ..all() }).await, ["TEA-1", "TEA-2", "COF-1"]);
    assert_eq!(skus(pb::ListProductsRequest { max_price: Some(1299), ..all() }).await, ["TEA-1", "TEA-3", "COF-2"]);
    assert_eq!(
        skus(pb::ListProductsRequest { min_price: Some(899), max_price: Some(1299), ..all() }).await,
        ["TEA-1", "COF-2"]
    );
    assert_eq!(skus(pb::ListProductsRequest { min_price: Some(499), max_price: Some(499), ..all() }).await, ["TEA-3"]);

    // Filters combine.
    let combined = pb::ListProductsRequest {
        category_id: coffee.id.clone(),
        brand: "LEAFWISE".into(),
        q: "coffee".into(),
        ..all()
    };
    assert_eq!(skus(combined).await, ["COF-2"]);
}

async fn every_order_works_both_ways(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let shelf = app.category("Shelf").await;
    // Ties in price and in name (apart from case), to see the id break them.
    let mut created = Vec::new();
    for (sku, name, price) in [
        ("P1", "banana", 300),
        ("P2", "Apple", 100),
        ("P3", "cherry", 300),
        ("P4", "apple pie", 200),
        ("P5", "Date", 100),
        ("P6", "APPLE", 250),
    ] {
        created.push(app.product(&shelf.id, sku, name, price).await);
    }
    let expect = |key: fn(&pb::Product) -> (i64, String)| {
        let mut sorted = created.clone();
        sorted.sort_by(|a, b| (key(a), &a.id).cmp(&(key(b), &b.id)));
        sorted.into_iter().map(|p| p.sku).collect::<Vec<_>>()
    };
    let by_created = expect(|_| (0, String::new()));
    let by_price = expect(|p| (p.price.as_ref().unwrap().amount_minor, String::new()));
    let by_name = expect(|p| (0, p.name.to_lowercase()));
    assert_eq!(by_created, ["P1", "P2", "P3", "P4", "P5", "P6"]);
    assert_eq!(by_price, ["P2", "P5", "P4", "P6", "P1", "P3"]);
    assert_eq!(by_name, ["P2", "P6", "P4", "P1", "P3", "P5"]);

    for (order_by, expected) in [
        (pb::ProductOrderBy::Unspecified, &by_created),
        (pb::ProductOrderBy::Created, &by_created),
        (pb::ProductOrderBy::Price, &by_price),
        (pb::ProductOrderBy::Name, &by_name),
    ] {
        for descending in [false, true] {
            let mut expected = expected.clone();
            if descending {
                expected.reverse();
            }
            // Two at a time, so the ties straddle page boundaries.
            let mut skus = Vec::new();
            let mut token = String::new();
            loop {
                let page = app
                    .list(pb::ListProductsRequest {
                        order_by: order_by.into(),
                        descending,
                        page_size: 2,
                        page_token: token,
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                skus.extend(page.products.into_iter().map(|p| p.sku));
                if page.next_page_token.is_empty() {
                    break;
                }
                token = page.next_page_token;
            }
            assert_eq!(skus, expected, "{order_by:?} descending={descending}");
        }
    }
}

async fn paging_through_a_thousand_products_while_more_arrive_shows_each_once(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let shelf = app.category("Shelf").await;
    // Many equal prices and names, so pages end in the middle of ties.
    let originals = app
        .seed(&shelf.id, 1000, |i| {
            (format!("SEED-{i:04}"), format!("Item {:02}", i % 50), String::new(), (i % 37) as i64 * 100)
        })
        .await;
    let mut added = 0;

    for (order_by, descending) in
        [(pb::ProductOrderBy::Created, false), (pb::ProductOrderBy::Price, true), (pb::ProductOrderBy::Name, false)]
    {
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut token = String::new();
        let mut pages = 0;
        loop {
            let page = app
                .list(pb::ListProductsRequest {
                    order_by: order_by.into(),
                    descending,
                    page_size: 100,
                    page_token: token,
                    ..Default::default()
                })
                .await
                .unwrap();
            pages += 1;
            for product in page.products {
                *seen.entry(product.id).or_default() += 1;
            }
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
            // The shop goes on: new products sort before, among and after the ones seen.
            for price in [0, 1800, 3600] {
                added += 1;
                let name = format!("Item {:02}", added % 50);
                app.product(&shelf.id, &format!("NEW-{added:04}"), &name, price).await;
            }
        }
        assert!(pages > 10, "{order_by:?}: {pages} pages");
        let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).map(|(id, _)| id).collect();
        assert!(twice.is_empty(), "{order_by:?}: {} seen more than once, e.g. {:?}", twice.len(), twice.first());
        let missed = originals.iter().filter(|id| !seen.contains_key(*id)).count();
        assert_eq!(missed, 0, "{order_by:?}: {missed} of the original products never showed up");
    }
}

async fn forged_and_foreign_page_tokens_are_refused(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let shelf = app.category("Shelf").await;
    app.seed(&shelf.id, 5, |i| (format!("SKU-{i}"), format!("Item {i}"), "Acme".into(), 100 * i as i64)).await;
    let by_price =
        || pb::ListProductsRequest { order_by: pb::ProductOrderBy::Price.into(), page_size: 2, ..Default::default() };
    let token = app.list(by_price()).await.unwrap().next_page_token;
    assert!(!token.is_empty());
    app.list(pb::ListProductsRequest { page_token: token.clone(), ..by_price() }).await.unwrap();
    // Another page size is the same query.
    app.list(pb::ListProductsRequest { page_token: token.clone(), page_size: 3, ..by_price() }).await.unwrap();

    // Flip one bit anywhere.
    let bytes = B64.decode(&token).unwrap();
    for i in [0, 1, bytes.len() / 2, bytes.len() - 1] {
        let mut forged = bytes.clone();
        forged[i] ^= 0x01;
        let status =
            app.list(pb::ListProductsRequest { page_token: B64.encode(forged), ..by_price() }).await.unwrap_err();
        assert_eq!(bad_fields(&status), ["page_token"], "byte {i}");
    }
    for junk in ["garbage", "Zm9v", "!!"] {
        let status = app.list(pb::ListProductsRequest { page_token: junk.into(), ..by_price() }).await.unwrap_err();
        assert_eq!(bad_fields(&status), ["page_token"], "{junk}");
    }

    // A genuine token, but of another query: every filter and the order count, even where
    // the rows would be the same.
    for other in [
        pb::ListProductsRequest { descending: true, ..by_price() },
        pb::ListProductsRequest { order_by: pb::ProductOrderBy::Name.into(), ..by_price() },
        pb::ListProductsRequest { order_by: pb::ProductOrderBy::Created.into(), ..by_price() },
        pb::ListProductsRequest { q: "item".into(), ..by_price() },
        pb::ListProductsRequest { category_id: shelf.id.clone(), ..by_price() },
        pb::ListProductsRequest { brand: "Acme".into(), ..by_price() },
        pb::ListProductsRequest { min_price: Some(0), ..by_price() },
        pb::ListProductsRequest { max_price: Some(1000), ..by_price() },
    ] {
        let status =
            app.list(pb::ListProductsRequest { page_token: token.clone(), ..other.clone() }).await.unwrap_err();
        assert_eq!(bad_fields(&status), ["page_token"], "{other:?}");
        assert!(status.message().contains("another query"), "{}", status.message());
    }
    // A category list token is not a product list token.
    app.category("Another shelf").await;
    let categories = app
        .client()
        .list_categories(pb::ListCategoriesRequest { page_size: 1, page_token: String::new() })
        .await
        .unwrap()
        .into_inner();
    let status =
        app.list(pb::ListProductsRequest { page_token: categories.next_page_token, ..by_price() }).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["page_token"]);
}

/// A shopper pages through a narrowed shelf two at a time and sees exactly what it holds;
/// the same token with any one filter changed or dropped is refused.
async fn a_filtered_walk_keeps_its_query_and_refuses_any_other(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let tea = app.category("Tea").await;
    let coffee = app.category("Coffee").await;
    // Seven that match everything below, and one that misses each filter in turn.
    app.seed(&tea.id, 7, |i| (format!("GT-{i}"), format!("Green tea {i}"), "Acme".into(), 100 + 50 * i as i64)).await;
    app.seed(&tea.id, 1, |_| ("BLACK".into(), "Black tea".into(), "Acme".into(), 300)).await;
    app.seed(&tea.id, 1, |_| ("OTHER-BRAND".into(), "Green tea X".into(), "Leafwise".into(), 300)).await;
    app.seed(&tea.id, 1, |_| ("CHEAP".into(), "Green tea cheap".into(), "Acme".into(), 50)).await;
    app.seed(&tea.id, 1, |_| ("DEAR".into(), "Green tea dear".into(), "Acme".into(), 5000)).await;
    app.seed(&coffee.id, 1, |_| ("COFFEE".into(), "Green coffee".into(), "Acme".into(), 300)).await;
    let filtered = || pb::ListProductsRequest {
        category_id: tea.id.clone(),
        q: "green".into(),
        brand: "acme".into(),
        min_price: Some(100),
        max_price: Some(1000),
        order_by: pb::ProductOrderBy::Price.into(),
        descending: true,
        page_size: 2,
        ..Default::default()
    };

    let mut skus = Vec::new();
    let mut tokens = Vec::new();
    let mut request = filtered();
    loop {
        let page = app.list(request.clone()).await.unwrap();
        assert!(page.products.len() <= 2);
        skus.extend(page.products.into_iter().map(|p| p.sku));
        if page.next_page_token.is_empty() {
            break;
        }
        tokens.push(page.next_page_token.clone());
        request.page_token = page.next_page_token;
    }
    assert_eq!(skus, ["GT-6", "GT-5", "GT-4", "GT-3", "GT-2", "GT-1", "GT-0"]);
    assert_eq!(tokens.len(), 3);

    let token = tokens[0].clone();
    for other in [
        pb::ListProductsRequest { category_id: String::new(), ..filtered() },
        pb::ListProductsRequest { category_id: coffee.id.clone(), ..filtered() },
        pb::ListProductsRequest { q: String::new(), ..filtered() },
        pb::ListProductsRequest { q: "green tea".into(), ..filtered() },
        pb::ListProductsRequest { brand: String::new(), ..filtered() },
        pb::ListProductsRequest { brand: "Leafwise".into(), ..filtered() },
        pb::ListProductsRequest { min_price: None, ..filtered() },
        pb::ListProductsRequest { min_price: Some(101), ..filtered() },
        pb::ListProductsRequest { max_price: None, ..filtered() },
        pb::ListProductsRequest { max_price: Some(999), ..filtered() },
        pb::ListProductsRequest { order_by: pb::ProductOrderBy::Name.into(), ..filtered() },
        pb::ListProductsRequest { descending: false, ..filtered() },
        pb::ListProductsRequest::default(),
    ] {
        let status =
            app.list(pb::ListProductsRequest { page_token: token.clone(), ..other.clone() }).await.unwrap_err();
        assert_eq!(bad_fields(&status), ["page_token"], "{other:?}");
    }
    // What only changes how the query is spelled is the same query: the filters are
    // compared as the service reads them (trimmed, case folded).
    let respelled = pb::ListProductsRequest { q: " GREEN ".into(), brand: "ACME".into(), ..filtered() };
    let page = app.list(pb::ListProductsRequest { page_token: token, ..respelled }).await.unwrap();
    assert_eq!(page.products.iter().map(|p| p.sku.as_str()).collect::<Vec<_>>(), ["GT-4", "GT-3"]);
}

async fn bad_list_requests_are_named(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let all = pb::ListProductsRequest::default;
    let bad = |request: pb::ListProductsRequest| async { bad_fields(&app.list(request).await.unwrap_err()) };
    assert_eq!(
        bad(pb::ListProductsRequest { min_price: Some(500), max_price: Some(499), ..all() }).await,
        ["min_price"]
    );
    assert_eq!(bad(pb::ListProductsRequest { min_price: Some(-1), ..all() }).await, ["min_price"]);
    assert_eq!(bad(pb::ListProductsRequest { page_size: -1, ..all() }).await, ["page_size"]);
    assert_eq!(bad(pb::ListProductsRequest { order_by: 42, ..all() }).await, ["order_by"]);
    assert_eq!(bad(pb::ListProductsRequest { q: "x".repeat(201), ..all() }).await, ["q"]);
    assert_eq!(bad(pb::ListProductsRequest { category_id: "c".repeat(65), ..all() }).await, ["category_id"]);
    // A bad query's token is not judged: the query is what needs fixing.
    assert_eq!(
        bad(pb::ListProductsRequest { page_size: -5, order_by: 42, page_token: "junk".into(), ..all() }).await,
        ["page_size", "order_by"]
    );
    // Sizes above the cap are clamped, not refused.
    app.list(pb::ListProductsRequest { page_size: 1000, ..all() }).await.unwrap();
}
