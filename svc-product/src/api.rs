//! The CatalogService gRPC API: per RPC, parse the request into domain values
//! ([`wire`]), call a command ([`crate::commands`]) or a read (a [`crate::store`] query),
//! encode the answer. Who may call each RPC was already decided by the platform's access
//! layer (from the `.proto`): browsing is public, changing the catalog takes an admin,
//! BatchGetProducts is for other services.

use std::sync::Arc;

use mart_platform::{
    error::{Violations, reply},
    fields,
    paging::{self, Fingerprint, PageTokens},
};
use mart_proto::product::{self as pb, catalog_service_server::CatalogService};
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use crate::{
    commands::Commands,
    domain::{CategoryCursor, Cursor, ProductFilter, ProductFilterInput, ProductOrder, ProductQuery, SortKey},
    error::Error,
    peers::StockClient,
    product_cache::ProductCache,
    store::{categories, products},
};

pub mod wire;

use wire::add_all;

/// The CatalogService implementation.
pub struct CatalogApi {
    /// Every change to the catalog goes through these.
    commands: Commands,
    /// What the reads query.
    db: DatabaseConnection,
    /// Signs and checks the page tokens of both list RPCs.
    tokens: PageTokens,
    /// Asks svc-inventory for GetProduct's `available_stock`.
    stock: StockClient,
    /// Recent GetProduct answers (see [`ProductCache`] for why that is safe); the
    /// commands drop what they change.
    cache: Arc<ProductCache>,
}

impl CatalogApi {
    /// The API changing the catalog through `commands`, reading `db`, reusing GetProduct
    /// answers through `cache`.
    pub fn new(
        commands: Commands,
        db: DatabaseConnection,
        tokens: PageTokens,
        stock: StockClient,
        cache: Arc<ProductCache>,
    ) -> Self {
        Self { commands, db, tokens, stock, cache }
    }

    /// ListCategories' page size and where the page starts.
    fn parse_list_categories(
        &self,
        request: &pb::ListCategoriesRequest,
    ) -> Result<(u64, Option<CategoryCursor>), Error> {
        let mut violations = Violations::new();
        let limit = violations.check(paging::page_size(request.page_size)).unwrap_or_default();
        let after = violations.check(self.tokens.read(&request.page_token, categories_fingerprint())).flatten();
        violations.finish()?;
        Ok((limit, after))
    }

    /// ListProducts' page size, query and where the page starts.
    fn parse_list_products(
        &self,
        request: &pb::ListProductsRequest,
    ) -> Result<(u64, ProductQuery, Option<Cursor>), Error> {
        let mut violations = Violations::new();
        let limit = violations.check(paging::page_size(request.page_size)).unwrap_or_default();
        // A token only means something for a valid query: it is read only then.
        let mut query_valid = true;
        let filter = match ProductFilter::try_from(ProductFilterInput {
            category_id: request.category_id.clone(),
            q: request.q.clone(),
            brand: request.brand.clone(),
            min_price: request.min_price,
            max_price: request.max_price,
        }) {
            Ok(filter) => filter,
            Err(bad) => {
                add_all(&mut violations, bad);
                query_valid = false;
                ProductFilter::default()
            }
        };
        let key = match pb::ProductOrderBy::try_from(request.order_by) {
            Ok(pb::ProductOrderBy::Unspecified | pb::ProductOrderBy::Created) => SortKey::Created,
            Ok(pb::ProductOrderBy::Price) => SortKey::Price,
            Ok(pb::ProductOrderBy::Name) => SortKey::Name,
            Err(_) => {
                violations.add("order_by", "unknown order; use PRICE, NAME or CREATED");
                query_valid = false;
                SortKey::Created
            }
        };
        let query = ProductQuery { filter, order: ProductOrder { key, descending: request.descending } };
        let after = if !query_valid {
            None
        } else {
            match violations.check(self.tokens.read::<Cursor>(&request.page_token, query.fingerprint())).flatten() {
                Some(cursor) if !query.accepts(&cursor) => {
                    violations.add("page_token", "not a token from a previous page");
                    None
                }
                after => after,
            }
        };
        violations.finish()?;
        Ok((limit, query, after))
    }
}

/// What ListCategories' tokens are bound to: it has no filters, and one order.
fn categories_fingerprint() -> Fingerprint {
    paging::fingerprint("ListCategories", &())
}

#[tonic::async_trait]
impl CatalogService for CatalogApi {
    async fn list_categories(
        &self,
        request: Request<pb::ListCategoriesRequest>,
    ) -> Result<Response<pb::ListCategoriesResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let (limit, after) = self.parse_list_categories(&request)?;
                let rows = categories::list(&self.db, after.as_ref(), limit + 1).await?;
                let (rows, next_page_token) = paging::split(rows, limit, |last| {
                    let cursor = CategoryCursor { name_key: last.name_key.clone(), id: last.id.clone() };
                    self.tokens.issue(categories_fingerprint(), &cursor)
                });
                Ok(pb::ListCategoriesResponse {
                    categories: rows.iter().map(wire::category).collect(),
                    next_page_token,
                })
            }
            .await,
        )
    }

    async fn get_category(
        &self,
        request: Request<pb::GetCategoryRequest>,
    ) -> Result<Response<pb::GetCategoryResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let id = fields::id("category_id", &request.category_id)?;
                let category = categories::find(&self.db, &id).await?.ok_or(Error::NotFound("category"))?;
                Ok(pb::GetCategoryResponse { category: Some(wire::category(&category)) })
            }
            .await,
        )
    }

    async fn create_category(
        &self,
        request: Request<pb::CreateCategoryRequest>,
    ) -> Result<Response<pb::CreateCategoryResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let category = wire::new_category(request)?;
                let category = self.commands.create_category(category).await?;
                Ok(pb::CreateCategoryResponse { category: Some(wire::category(&category)) })
            }
            .await,
        )
    }

    async fn update_category(
        &self,
        request: Request<pb::UpdateCategoryRequest>,
    ) -> Result<Response<pb::UpdateCategoryResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let (id, changes) = wire::category_update(&request)?;
                let category = self.commands.update_category(&id, changes).await?;
                Ok(pb::UpdateCategoryResponse { category: Some(wire::category(&category)) })
            }
            .await,
        )
    }

    async fn delete_category(
        &self,
        request: Request<pb::DeleteCategoryRequest>,
    ) -> Result<Response<pb::DeleteCategoryResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let id = fields::id("category_id", &request.category_id)?;
                self.commands.delete_category(&id).await?;
                Ok(pb::DeleteCategoryResponse {})
            }
            .await,
        )
    }

    async fn list_products(
        &self,
        request: Request<pb::ListProductsRequest>,
    ) -> Result<Response<pb::ListProductsResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let (limit, query, after) = self.parse_list_products(&request)?;
                let fingerprint = query.fingerprint();
                let rows = products::list(&self.db, &query, after.as_ref(), limit + 1).await?;
                let (rows, next_page_token) = paging::split(rows, limit, |last| {
                    self.tokens.issue(fingerprint, &query.cursor_after(&last.id, last.price_minor, &last.name_key))
                });
                Ok(pb::ListProductsResponse {
                    products: rows.iter().map(|row| wire::product(row, None)).collect::<Result<_, _>>()?,
                    next_page_token,
                })
            }
            .await,
        )
    }

    async fn get_product(
        &self,
        request: Request<pb::GetProductRequest>,
    ) -> Result<Response<pb::GetProductResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let id = fields::id("product_id", &request.product_id)?;
                if let Some(product) = self.cache.get(&id) {
                    return Ok(pb::GetProductResponse { product: Some(product) });
                }
                let product = products::find(&self.db, &id).await?.ok_or(Error::NotFound("product"))?;
                let available = self.stock.available(&product.id).await;
                let product = wire::product(&product, available)?;
                // An answer without a stock figure (svc-inventory slow or away) is not kept:
                // the next reader should get the figure as soon as it is there.
                if product.available_stock.is_some() {
                    self.cache.put(&product);
                }
                Ok(pb::GetProductResponse { product: Some(product) })
            }
            .await,
        )
    }

    async fn create_product(
        &self,
        request: Request<pb::CreateProductRequest>,
    ) -> Result<Response<pb::CreateProductResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let product = wire::new_product(request)?;
                let product = self.commands.create_product(product).await?;
                Ok(pb::CreateProductResponse { product: Some(wire::product(&product, None)?) })
            }
            .await,
        )
    }

    async fn update_product(
        &self,
        request: Request<pb::UpdateProductRequest>,
    ) -> Result<Response<pb::UpdateProductResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let (id, changes) = wire::product_update(request)?;
                let product = self.commands.update_product(&id, changes).await?;
                Ok(pb::UpdateProductResponse { product: Some(wire::product(&product, None)?) })
            }
            .await,
        )
    }

    async fn delete_product(
        &self,
        request: Request<pb::DeleteProductRequest>,
    ) -> Result<Response<pb::DeleteProductResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let id = fields::id("product_id", &request.product_id)?;
                self.commands.archive_product(&id).await?;
                Ok(pb::DeleteProductResponse {})
            }
            .await,
        )
    }

    async fn batch_get_products(
        &self,
        request: Request<pb::BatchGetProductsRequest>,
    ) -> Result<Response<pb::BatchGetProductsResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let ids = wire::batch_ids(request.product_ids)?;
                let rows = products::find_many(&self.db, &ids).await?;
                Ok(pb::BatchGetProductsResponse {
                    products: rows.iter().map(|row| wire::product(row, None)).collect::<Result<_, _>>()?,
                })
            }
            .await,
        )
    }
}
