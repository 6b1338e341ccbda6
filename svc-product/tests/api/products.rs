//! An admin adds products, changes exactly the fields they name, and archives what the shop
//! no longer sells; archived products vanish from the shelves but old orders still find them.

use chrono::Utc;
use mart_platform::{db_tests, test_util::TestDb};
use mart_proto::{common::Money, product as pb};
use prost_types::{FieldMask, Timestamp};
use tonic::Code;

use crate::support::{TestApp, authed, bad_fields, eur, new_product, reason};

db_tests!(
    admins_create_update_and_archive_products,
    an_update_changes_only_the_named_fields,
    every_bad_product_field_is_named,
    skus_are_unique_and_prices_share_one_currency,
    batch_get_returns_the_products_it_knows,
    admins_working_at_once_neither_fail_nor_duplicate,
);

fn in_days(days: i64) -> Timestamp {
    Timestamp { seconds: Utc::now().timestamp() + days * 86_400, nanos: 0 }
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() })
}

async fn admins_create_update_and_archive_products(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let mut client = app.client();
    let tea = app.category("Tea").await;
    let expires = in_days(30);

    let created = app
        .create(pb::CreateProductRequest {
            sku: " TEA-001 ".into(),
            name: "Sencha".into(),
            description: "Steamed green tea\nfrom Shizuoka".into(),
            brand: "Leafwise".into(),
            price: Some(Money { amount_minor: 1299, currency: "eur".into() }),
            category_id: tea.id.clone(),
            expires_at: Some(expires),
            initial_stock: Some(25),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(created.sku, "TEA-001");
    assert_eq!(created.price, Some(eur(1299)));
    assert_eq!(created.status(), pb::ProductStatus::Active);
    assert_eq!(created.expires_at, Some(expires));
    assert_eq!(created.available_stock, None);

    let got = app.get(&created.id).await.unwrap();
    assert_eq!(got, created);

    // Archive: gone from the shelves, still there for anyone holding its id.
    client
        .delete_product(authed(&app.admin, pb::DeleteProductRequest { product_id: created.id.clone() }))
        .await
        .unwrap();
    let archived = app.get(&created.id).await.unwrap();
    assert_eq!(archived.status(), pb::ProductStatus::Archived);
    assert_eq!((archived.name.as_str(), archived.price.clone()), ("Sencha", Some(eur(1299))));
    assert!(app.list_skus(pb::ListProductsRequest::default()).await.is_empty());
    let batch = client
        .batch_get_products(pb::BatchGetProductsRequest { product_ids: vec![created.id.clone()] })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(batch.products.len(), 1);
    assert_eq!(batch.products[0].status(), pb::ProductStatus::Archived);

    // Archiving again is fine and changes nothing; updating an archived product is not.
    client
        .delete_product(authed(&app.admin, pb::DeleteProductRequest { product_id: created.id.clone() }))
        .await
        .unwrap();
    assert_eq!(app.get(&created.id).await.unwrap().updated_at, archived.updated_at);
    let refused = client
        .update_product(authed(
            &app.admin,
            pb::UpdateProductRequest {
                product_id: created.id.clone(),
                product: Some(pb::Product { name: "Sencha again".into(), ..Default::default() }),
                update_mask: mask(&["name"]),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!((refused.code(), reason(&refused).as_str()), (Code::FailedPrecondition, "PRODUCT_ARCHIVED"));

    let missing = app.get("no-such-product").await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let missing = client
        .delete_product(authed(&app.admin, pb::DeleteProductRequest { product_id: "no-such-product".into() }))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

async fn an_update_changes_only_the_named_fields(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let mut client = app.client();
    let tea = app.category("Tea").await;
    let coffee = app.category("Coffee").await;
    let original = app
        .create(pb::CreateProductRequest {
            brand: "Leafwise".into(),
            description: "Steamed green tea".into(),
            expires_at: Some(in_days(30)),
            ..new_product(&tea.id, "TEA-001", "Sencha", 1299)
        })
        .await
        .unwrap();

    // Everything differs in the values sent, but only name and price are named.
    let everything_else = pb::Product {
        sku: "OTHER-SKU".into(),
        name: "Gyokuro".into(),
        description: "Shade-grown".into(),
        brand: "Other brand".into(),
        price: Some(eur(2499)),
        category_id: coffee.id.clone(),
        expires_at: None,
        ..Default::default()
    };
    let updated = client
        .update_product(authed(
            &app.admin,
            pb::UpdateProductRequest {
                product_id: original.id.clone(),
                product: Some(everything_else.clone()),
                update_mask: mask(&["name", "price"]),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .product
        .unwrap();
    assert_eq!((updated.name.as_str(), updated.price.clone()), ("Gyokuro", Some(eur(2499))));
    assert_eq!(
        (updated.sku.as_str(), updated.description.as_str(), updated.brand.as_str()),
        ("TEA-001", "Steamed green tea", "Leafwise")
    );
    assert_eq!((updated.category_id.as_str(), updated.expires_at), (tea.id.as_str(), original.expires_at));
    assert_eq!(app.get(&original.id).await.unwrap(), updated);

    // Naming expires_at without a value clears it; JSON-style camelCase paths work too.
    let moved = client
        .update_product(authed(
            &app.admin,
            pb::UpdateProductRequest {
                product_id: original.id.clone(),
                product: Some(everything_else),
                update_mask: mask(&["expiresAt", "category_id", "brand"]),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .product
        .unwrap();
    assert_eq!((moved.expires_at, moved.category_id.as_str()), (None, coffee.id.as_str()));
    assert_eq!((moved.brand.as_str(), moved.name.as_str()), ("Other brand", "Gyokuro"));

    // The same values again: nothing changes, not even the update time.
    let same = client
        .update_product(authed(
            &app.admin,
            pb::UpdateProductRequest {
                product_id: original.id.clone(),
                product: Some(moved.clone()),
                update_mask: mask(&["name", "price"]),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .product
        .unwrap();
    assert_eq!(same.updated_at, moved.updated_at);
}

async fn every_bad_product_field_is_named(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let mut client = app.client();
    let tea = app.category("Tea").await;
    let good = || new_product(&tea.id, "TEA-001", "Sencha", 1299);

    let everything_wrong = pb::CreateProductRequest {
        sku: "TEA 001".into(),
        name: " ".into(),
        description: "x".repeat(10_001),
        brand: "b".repeat(101),
        price: Some(Money { amount_minor: -1, currency: "EURO".into() }),
        category_id: String::new(),
        expires_at: Some(in_days(-1)),
        initial_stock: Some(-5),
        ..Default::default()
    };
    assert_eq!(
        bad_fields(&app.create(everything_wrong).await.unwrap_err()),
        [
            "sku",
            "name",
            "description",
            "brand",
            "price.amount_minor",
            "price.currency",
            "category_id",
            "expires_at",
            "initial_stock"
        ]
    );
    for (request, field) in [
        (pb::CreateProductRequest { sku: String::new(), ..good() }, "sku"),
        (pb::CreateProductRequest { sku: "x".repeat(65), ..good() }, "sku"),
        (pb::CreateProductRequest { sku: "TEA/001".into(), ..good() }, "sku"),
        (pb::CreateProductRequest { name: "n".repeat(201), ..good() }, "name"),
        (pb::CreateProductRequest { price: None, ..good() }, "price"),
        (
            pb::CreateProductRequest { price: Some(Money { amount_minor: 1, currency: "XXX".into() }), ..good() },
            "price.currency",
        ),
        (
            pb::CreateProductRequest { price: Some(Money { amount_minor: 1, currency: String::new() }), ..good() },
            "price.currency",
        ),
        (pb::CreateProductRequest { category_id: "no-such-category".into(), ..good() }, "category_id"),
        (pb::CreateProductRequest { expires_at: Some(Timestamp { seconds: 0, nanos: -1 }), ..good() }, "expires_at"),
    ] {
        assert_eq!(bad_fields(&app.create(request).await.unwrap_err()), [field]);
    }
    // The limits themselves are fine.
    let product = app
        .create(pb::CreateProductRequest {
            sku: "x".repeat(64),
            name: "n".repeat(200),
            description: "d".repeat(10_000),
            brand: "b".repeat(100),
            price: Some(eur(0)),
            initial_stock: Some(0),
            ..good()
        })
        .await
        .unwrap();

    let update = |product_id: &str, values: pb::Product, paths: &[&str]| {
        let mut client = app.client();
        let request =
            pb::UpdateProductRequest { product_id: product_id.into(), product: Some(values), update_mask: mask(paths) };
        let admin = app.admin.clone();
        async move { client.update_product(authed(&admin, request)).await.unwrap_err() }
    };
    assert_eq!(bad_fields(&update(&product.id, product.clone(), &[]).await), ["update_mask"]);
    assert_eq!(bad_fields(&update(&product.id, product.clone(), &["status"]).await), ["update_mask"]);
    assert_eq!(bad_fields(&update(&product.id, product.clone(), &["name", "price.currency"]).await), ["update_mask"]);
    let no_mask = client
        .update_product(authed(
            &app.admin,
            pb::UpdateProductRequest {
                product_id: product.id.clone(),
                product: Some(product.clone()),
                update_mask: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&no_mask), ["update_mask"]);
    let bad_values = pb::Product {
        sku: String::new(),
        name: String::new(),
        price: Some(Money { amount_minor: -5, currency: "EUR".into() }),
        category_id: "no-such-category".into(),
        expires_at: Some(in_days(-1)),
        ..product.clone()
    };
    assert_eq!(
        bad_fields(&update(&product.id, bad_values, &["sku", "name", "price", "expires_at"]).await),
        ["product.sku", "product.name", "product.price.amount_minor", "product.expires_at"]
    );
    let unknown_category = pb::Product { category_id: "no-such-category".into(), ..product.clone() };
    assert_eq!(bad_fields(&update(&product.id, unknown_category, &["category_id"]).await), ["product.category_id"]);
    let no_price = pb::Product { price: None, ..product.clone() };
    assert_eq!(bad_fields(&update(&product.id, no_price, &["price"]).await), ["product.price"]);
    assert_eq!(bad_fields(&update("", product.clone(), &["name"]).await), ["product_id"]);
    assert_eq!(update("no-such-product", product.clone(), &["name"]).await.code(), Code::NotFound);

    let status = client.get_product(pb::GetProductRequest::default()).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["product_id"]);
    let status = client.delete_product(authed(&app.admin, pb::DeleteProductRequest::default())).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["product_id"]);
    // One rule for ids across the shop: at most 64 characters, no control characters.
    for bad in ["x".repeat(65), "a\u{0}b".to_owned()] {
        let status = client.get_product(pb::GetProductRequest { product_id: bad.clone() }).await.unwrap_err();
        assert_eq!(bad_fields(&status), ["product_id"]);
        let request = pb::CreateProductRequest { category_id: bad.clone(), ..good() };
        assert_eq!(bad_fields(&app.create(request).await.unwrap_err()), ["category_id"]);
        let status = client
            .batch_get_products(pb::BatchGetProductsRequest { product_ids: vec![product.id.clone(), bad] })
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&status), ["product_ids[1]"]);
    }
}

async fn skus_are_unique_and_prices_share_one_currency(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let mut client = app.client();
    let tea = app.category("Tea").await;
    let sencha = app.product(&tea.id, "TEA-001", "Sencha", 1299).await;
    let matcha = app.product(&tea.id, "TEA-002", "Matcha", 1999).await;

    let taken = app.create(new_product(&tea.id, "TEA-001", "Another", 100)).await.unwrap_err();
    assert_eq!((taken.code(), reason(&taken).as_str()), (Code::AlreadyExists, "ALREADY_EXISTS"));
    // SKUs are codes: a different case is a different SKU.
    app.create(new_product(&tea.id, "tea-001", "Lower-case code", 100)).await.unwrap();

    let taken = client
        .update_product(authed(
            &app.admin,
            pb::UpdateProductRequest {
                product_id: matcha.id.clone(),
                product: Some(pb::Product { sku: "TEA-001".into(), ..Default::default() }),
                update_mask: mask(&["sku"]),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);

    // The shop prices in one currency (the first price set it): filters and carts add up
    // minor units, which means nothing across currencies.
    let dollars = pb::CreateProductRequest {
        price: Some(Money { amount_minor: 100, currency: "USD".into() }),
        ..new_product(&tea.id, "TEA-003", "Oolong", 0)
    };
    assert_eq!(bad_fields(&app.create(dollars).await.unwrap_err()), ["price.currency"]);
    let to_dollars = client
        .update_product(authed(
            &app.admin,
            pb::UpdateProductRequest {
                product_id: sencha.id.clone(),
                product: Some(pb::Product {
                    price: Some(Money { amount_minor: 100, currency: "USD".into() }),
                    ..Default::default()
                }),
                update_mask: mask(&["price"]),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&to_dollars), ["product.price.currency"]);
    assert_eq!(app.get(&sencha.id).await.unwrap().price, Some(eur(1299)));
}

async fn batch_get_returns_the_products_it_knows(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let mut client = app.client();
    let tea = app.category("Tea").await;
    let sencha = app.product(&tea.id, "TEA-001", "Sencha", 1299).await;
    let matcha = app.product(&tea.id, "TEA-002", "Matcha", 1999).await;

    let batch = client
        .batch_get_products(pb::BatchGetProductsRequest {
            product_ids: vec![matcha.id.clone(), "unknown".into(), sencha.id.clone(), matcha.id.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    let mut found: Vec<_> = batch.products.iter().map(|p| (p.sku.as_str(), p.price.clone(), p.status())).collect();
    found.sort_by_key(|(sku, ..)| *sku);
    assert_eq!(
        found,
        [
            ("TEA-001", Some(eur(1299)), pb::ProductStatus::Active),
            ("TEA-002", Some(eur(1999)), pb::ProductStatus::Active)
        ]
    );

    let empty = client.batch_get_products(pb::BatchGetProductsRequest::default()).await.unwrap().into_inner();
    assert!(empty.products.is_empty());
    // 100 distinct ids are fine (duplicates do not count); 101 are not.
    let mut ids: Vec<String> = (0..100).map(|i| format!("id-{i}")).collect();
    ids.push("id-0".into());
    client.batch_get_products(pb::BatchGetProductsRequest { product_ids: ids.clone() }).await.unwrap();
    ids.push("id-100".into());
    let status = client.batch_get_products(pb::BatchGetProductsRequest { product_ids: ids }).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["product_ids"]);
}

async fn admins_working_at_once_neither_fail_nor_duplicate(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let tea = app.category("Tea").await;
    let first = app.product(&tea.id, "TEA-000", "First tea", 100).await;

    // Twenty products and twenty renames at once, and two admins racing for one SKU: every
    // distinct write lands, and the race has exactly one winner.
    let creates = (1..=20).map(|i| app.create(new_product(&tea.id, &format!("TEA-{i:03}"), "Tea", 100 + i)));
    let updates = (1..=20).map(|i| {
        let mut client = app.client();
        let request = pb::UpdateProductRequest {
            product_id: first.id.clone(),
            product: Some(pb::Product { name: format!("First tea, take {i}"), ..Default::default() }),
            update_mask: mask(&["name"]),
        };
        let admin = app.admin.clone();
        async move { client.update_product(authed(&admin, request)).await.map(drop) }
    });
    let racing = (0..2).map(|_| app.create(new_product(&tea.id, "TEA-RACE", "Contested", 100)));
    let (created, updated, raced) = tokio::join!(
        futures::future::join_all(creates),
        futures::future::join_all(updates),
        futures::future::join_all(racing)
    );
    for result in created {
        result.unwrap();
    }
    for result in updated {
        result.unwrap();
    }
    let mut codes: Vec<_> = raced.into_iter().map(|r| r.map(drop).map_err(|s| s.code())).collect();
    codes.sort_by_key(|c| c.is_err());
    assert_eq!(codes, [Ok(()), Err(Code::AlreadyExists)]);
    assert_eq!(app.list_skus(pb::ListProductsRequest::default()).await.len(), 22);
}
