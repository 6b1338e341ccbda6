//! Browsing is for everyone, changing the catalog for admins only, and the internal batch
//! read for other services only — enforced by the service itself, not just the edge.

use mart_platform::{db_tests, test_util::TestDb};
use mart_proto::product as pb;
use tonic::{Code, Request, Status};

use crate::support::{TestApp, authed, new_product};

db_tests!(customers_and_strangers_cannot_change_the_catalog, anyone_may_browse);

/// `message` from a customer (`Some(token)`) or from someone not signed in (`None`).
fn from<T>(token: Option<&str>, message: T) -> Request<T> {
    match token {
        Some(token) => authed(token, message),
        None => Request::new(message),
    }
}

async fn customers_and_strangers_cannot_change_the_catalog(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let tea = app.category("Tea").await;
    let sencha = app.product(&tea.id, "TEA-001", "Sencha", 1299).await;

    for (token, expected) in [(Some(app.customer.as_str()), Code::PermissionDenied), (None, Code::Unauthenticated)] {
        let mut client = app.client();
        let outcomes: Vec<(&str, Result<(), Status>)> = vec![
            (
                "CreateCategory",
                client
                    .create_category(from(
                        token,
                        pb::CreateCategoryRequest { name: "Coffee".into(), ..Default::default() },
                    ))
                    .await
                    .map(drop),
            ),
            (
                "UpdateCategory",
                client
                    .update_category(from(
                        token,
                        pb::UpdateCategoryRequest {
                            category_id: tea.id.clone(),
                            name: Some("Tisane".into()),
                            description: None,
                        },
                    ))
                    .await
                    .map(drop),
            ),
            (
                "DeleteCategory",
                client
                    .delete_category(from(token, pb::DeleteCategoryRequest { category_id: tea.id.clone() }))
                    .await
                    .map(drop),
            ),
            (
                "CreateProduct",
                client.create_product(from(token, new_product(&tea.id, "TEA-002", "Matcha", 1999))).await.map(drop),
            ),
            (
                "UpdateProduct",
                client
                    .update_product(from(
                        token,
                        pb::UpdateProductRequest {
                            product_id: sencha.id.clone(),
                            product: Some(pb::Product { name: "Cheap tea".into(), ..Default::default() }),
                            update_mask: Some(prost_types::FieldMask { paths: vec!["name".into()] }),
                        },
                    ))
                    .await
                    .map(drop),
            ),
            (
                "DeleteProduct",
                client
                    .delete_product(from(token, pb::DeleteProductRequest { product_id: sencha.id.clone() }))
                    .await
                    .map(drop),
            ),
        ];
        for (rpc, outcome) in outcomes {
            assert_eq!(outcome.map_err(|s| s.code()), Err(expected), "{rpc} with token {token:?}");
        }
    }
    // The internal batch read is for services, which send no user token.
    let status = app
        .client()
        .batch_get_products(authed(&app.customer, pb::BatchGetProductsRequest { product_ids: vec![sencha.id.clone()] }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // Nothing changed.
    assert_eq!(app.get(&sencha.id).await.unwrap(), sencha);
    assert_eq!(app.list_skus(pb::ListProductsRequest::default()).await, ["TEA-001"]);
    let categories = app.client().list_categories(pb::ListCategoriesRequest::default()).await.unwrap().into_inner();
    assert_eq!(categories.categories, [tea]);
}

async fn anyone_may_browse(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let tea = app.category("Tea").await;
    let sencha = app.product(&tea.id, "TEA-001", "Sencha", 1299).await;
    for token in [None, Some(app.customer.as_str()), Some(app.admin.as_str())] {
        let mut client = app.client();
        client.list_categories(from(token, pb::ListCategoriesRequest::default())).await.unwrap();
        client.get_category(from(token, pb::GetCategoryRequest { category_id: tea.id.clone() })).await.unwrap();
        let listed = client.list_products(from(token, pb::ListProductsRequest::default())).await.unwrap();
        // Lists leave the variants out (GetProduct has them).
        let listed_sencha = pb::Product { variants: Vec::new(), ..sencha.clone() };
        assert_eq!(listed.into_inner().products, [listed_sencha]);
        client.get_product(from(token, pb::GetProductRequest { product_id: sencha.id.clone() })).await.unwrap();
    }
}
