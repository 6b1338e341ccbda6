//! An admin keeps the categories: unique names whatever their case, and no deleting a
//! category that products (even archived ones) still belong to.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use mart_platform::{db_tests, test_util::TestDb};
use mart_proto::product as pb;
use tonic::Code;

use crate::support::{TestApp, authed, bad_fields, reason};

db_tests!(
    admins_create_list_rename_and_delete_categories,
    category_names_are_unique_whatever_their_case,
    a_category_with_products_cannot_be_deleted,
    bad_category_requests_are_named,
    category_page_tokens_walk_the_list_and_nothing_else,
);

async fn admins_create_list_rename_and_delete_categories(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let mut client = app.client();
    let created = client
        .create_category(authed(
            &app.admin,
            pb::CreateCategoryRequest { name: "  Beverages ".into(), description: "Things to drink".into() },
        ))
        .await
        .unwrap()
        .into_inner()
        .category
        .unwrap();
    assert_eq!((created.name.as_str(), created.description.as_str()), ("Beverages", "Things to drink"));
    for name in ["snacks", "Dairy", "bakery", "Frozen"] {
        app.category(name).await;
    }

    let got = client.get_category(pb::GetCategoryRequest { category_id: created.id.clone() }).await.unwrap();
    assert_eq!(got.into_inner().category.unwrap(), created);

    // Anyone lists them, by name whatever the case, two at a time.
    let mut names = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_categories(pb::ListCategoriesRequest { page_size: 2, page_token: token })
            .await
            .unwrap()
            .into_inner();
        assert!(page.categories.len() <= 2);
        names.extend(page.categories.into_iter().map(|c| c.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(names, ["bakery", "Beverages", "Dairy", "Frozen", "snacks"]);

    // Only what the request carries changes.
    let renamed = client
        .update_category(authed(
            &app.admin,
            pb::UpdateCategoryRequest {
                category_id: created.id.clone(),
                name: Some("Drinks".into()),
                description: None,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .category
        .unwrap();
    assert_eq!((renamed.name.as_str(), renamed.description.as_str()), ("Drinks", "Things to drink"));
    let cleared = client
        .update_category(authed(
            &app.admin,
            pb::UpdateCategoryRequest { category_id: created.id.clone(), name: None, description: Some(String::new()) },
        ))
        .await
        .unwrap()
        .into_inner()
        .category
        .unwrap();
    assert_eq!((cleared.name.as_str(), cleared.description.as_str()), ("Drinks", ""));
    assert_eq!(cleared.created_at, created.created_at);

    client
        .delete_category(authed(&app.admin, pb::DeleteCategoryRequest { category_id: created.id.clone() }))
        .await
        .unwrap();
    let gone = client.get_category(pb::GetCategoryRequest { category_id: created.id.clone() }).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    let again = client
        .delete_category(authed(&app.admin, pb::DeleteCategoryRequest { category_id: created.id }))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
}

async fn category_names_are_unique_whatever_their_case(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let mut client = app.client();
    app.category("Beverages").await;
    let snacks = app.category("Snacks").await;

    let duplicate = client
        .create_category(authed(
            &app.admin,
            pb::CreateCategoryRequest { name: " BEVERAGES".into(), description: String::new() },
        ))
        .await
        .unwrap_err();
    assert_eq!((duplicate.code(), reason(&duplicate).as_str()), (Code::AlreadyExists, "ALREADY_EXISTS"));

    let rename = client
        .update_category(authed(
            &app.admin,
            pb::UpdateCategoryRequest {
                category_id: snacks.id.clone(),
                name: Some("beverages".into()),
                description: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(rename.code(), Code::AlreadyExists);

    // A category may change the case of its own name.
    let recased = client
        .update_category(authed(
            &app.admin,
            pb::UpdateCategoryRequest { category_id: snacks.id, name: Some("SNACKS".into()), description: None },
        ))
        .await
        .unwrap()
        .into_inner()
        .category
        .unwrap();
    assert_eq!(recased.name, "SNACKS");
}

async fn a_category_with_products_cannot_be_deleted(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let mut client = app.client();
    let tea = app.category("Tea").await;
    app.product(&tea.id, "TEA-1", "Green tea", 499).await;
    let old = app.product(&tea.id, "TEA-2", "Old tea", 299).await;
    // Archived products count too: orders still point at them.
    client.delete_product(authed(&app.admin, pb::DeleteProductRequest { product_id: old.id })).await.unwrap();

    let refused = client
        .delete_category(authed(&app.admin, pb::DeleteCategoryRequest { category_id: tea.id.clone() }))
        .await
        .unwrap_err();
    assert_eq!((refused.code(), reason(&refused).as_str()), (Code::FailedPrecondition, "CATEGORY_NOT_EMPTY"));
    assert!(refused.message().contains("2 products"), "{}", refused.message());
    client.get_category(pb::GetCategoryRequest { category_id: tea.id }).await.unwrap();
}

async fn bad_category_requests_are_named(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let mut client = app.client();
    let create = |name: String, description: String| {
        let mut client = app.client();
        let admin = app.admin.clone();
        async move {
            client.create_category(authed(&admin, pb::CreateCategoryRequest { name, description })).await.unwrap_err()
        }
    };
    assert_eq!(bad_fields(&create("  ".into(), String::new()).await), ["name"]);
    assert_eq!(bad_fields(&create("x".repeat(101), "y".repeat(2001)).await), ["name", "description"]);
    assert_eq!(bad_fields(&create("Tab\there".into(), String::new()).await), ["name"]);
    // The limits themselves are fine.
    let longest = client
        .create_category(authed(
            &app.admin,
            pb::CreateCategoryRequest { name: "é".repeat(100), description: "y".repeat(2000) },
        ))
        .await
        .unwrap()
        .into_inner()
        .category
        .unwrap();

    let status = client
        .update_category(authed(
            &app.admin,
            pb::UpdateCategoryRequest { category_id: String::new(), name: Some(String::new()), description: None },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["category_id", "name"]);
    let status = client
        .update_category(authed(
            &app.admin,
            pb::UpdateCategoryRequest { category_id: longest.id, name: None, description: Some("z".repeat(2001)) },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["description"]);
    let status = client
        .update_category(authed(
            &app.admin,
            pb::UpdateCategoryRequest { category_id: "nope".into(), name: Some("New".into()), description: None },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = client.get_category(pb::GetCategoryRequest::default()).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["category_id"]);
    let status = client
        .list_categories(pb::ListCategoriesRequest { page_size: -1, page_token: "forged".into() })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["page_size", "page_token"]);
}

/// ListCategories has no filters, so what its tokens are bound to is the list itself: a
/// token walks the categories (still, after more are added), and a garbled token or one of
/// ListProducts is refused naming `page_token`.
async fn category_page_tokens_walk_the_list_and_nothing_else(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let mut client = app.client();
    for name in ["Bakery", "Coffee", "Dairy", "Eggs", "Fruit"] {
        app.category(name).await;
    }
    let list = |page_token: String| {
        let mut client = app.client();
        async move { client.list_categories(pb::ListCategoriesRequest { page_size: 2, page_token }).await }
    };
    let first = list(String::new()).await.unwrap().into_inner();
    assert_eq!(first.categories.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["Bakery", "Coffee"]);

    // A category added before the cursor does not shift the walk; one after it shows.
    app.category("Apples").await;
    app.category("Grains").await;
    let mut names = Vec::new();
    let mut token = first.next_page_token.clone();
    while !token.is_empty() {
        let page = list(token).await.unwrap().into_inner();
        names.extend(page.categories.into_iter().map(|c| c.name));
        token = page.next_page_token;
    }
    assert_eq!(names, ["Dairy", "Eggs", "Fruit", "Grains"]);

    let bytes = B64.decode(&first.next_page_token).unwrap();
    for i in [0, 1, bytes.len() / 2, bytes.len() - 1] {
        let mut forged = bytes.clone();
        forged[i] ^= 0x01;
        let status = list(B64.encode(forged)).await.unwrap_err();
        assert_eq!(bad_fields(&status), ["page_token"], "byte {i}");
    }
    for junk in ["garbage", "Zm9v", "!!"] {
        assert_eq!(bad_fields(&list(junk.into()).await.unwrap_err()), ["page_token"], "{junk}");
    }

    // A genuine token of the other list.
    let tea = app.category("Tea").await;
    app.product(&tea.id, "TEA-1", "Sencha", 499).await;
    app.product(&tea.id, "TEA-2", "Matcha", 999).await;
    let products = app.list(pb::ListProductsRequest { page_size: 1, ..Default::default() }).await.unwrap();
    assert!(!products.next_page_token.is_empty());
    let status = client
        .list_categories(pb::ListCategoriesRequest { page_size: 2, page_token: products.next_page_token })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["page_token"]);
    assert!(status.message().contains("another query"), "{}", status.message());
}
