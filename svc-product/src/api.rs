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
    media::{self, Media},
    peers::StockClient,
    product_cache::ProductCache,
    store::{categories, products, records, variants},
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
    /// Uploaded images.
    media: Arc<Media>,
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
        media: Arc<Media>,
    ) -> Self {
        Self { commands, db, tokens, stock, cache, media }
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
            options: request.option.clone(),
            in_stock: request.in_stock,
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
                    self.tokens.issue(fingerprint, &query.cursor_after(&last.id, last.price_min, &last.name_key))
                });
                let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
                let images = records::images_of(&self.db, &ids).await?;
                // The counts are the same on every page of a query: they come with the first.
                // They are the heavy part of a first page, so they are reused for the cache's
                // ttl (counts, like the stock figures, are for showing, not for selling).
                let facets = match after {
                    Some(_) => None,
                    None => {
                        let key = serde_json::to_string(&query.filter).unwrap_or_default();
                        match self.cache.facets(&key) {
                            Some(kept) => Some(kept),
                            None => {
                                let counted = wire::facets(products::facets(&self.db, &query.filter).await?);
                                self.cache.put_facets(key, &counted);
                                Some(counted)
                            }
                        }
                    }
                };
                Ok(pb::ListProductsResponse {
                    products: rows
                        .iter()
                        .map(|row| wire::listed(row, images.get(&row.id).map_or(&[][..], Vec::as_slice)))
                        .collect::<Result<_, _>>()?,
                    next_page_token,
                    facets,
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
                let record = records::load(&self.db, product).await?;
                let available = self.stock.available(&record.product.id).await;
                let product = wire::product(&record, available.as_ref())?;
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
                let record = self.commands.create_product(product).await?;
                Ok(pb::CreateProductResponse { product: Some(wire::product(&record, None)?) })
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
                let record = self.commands.update_product(&id, changes).await?;
                Ok(pb::UpdateProductResponse { product: Some(wire::product(&record, None)?) })
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
                let records = records::load_many(&self.db, rows).await?;
                Ok(pb::BatchGetProductsResponse {
                    products: records.iter().map(|record| wire::product(record, None)).collect::<Result<_, _>>()?,
                })
            }
            .await,
        )
    }

    async fn add_variant(
        &self,
        request: Request<pb::AddVariantRequest>,
    ) -> Result<Response<pb::AddVariantResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let (id, input) = wire::add_variant(request)?;
                let (record, variant) = self.commands.add_variant(&id, input).await?;
                let price = crate::commands::product_price(&record.product)?;
                Ok(pb::AddVariantResponse {
                    variant: Some(wire::variant(&variant, price, &record.images, None)?),
                    product: Some(wire::product(&record, None)?),
                })
            }
            .await,
        )
    }

    async fn update_variant(
        &self,
        request: Request<pb::UpdateVariantRequest>,
    ) -> Result<Response<pb::UpdateVariantResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let (id, variant_id, changes) = wire::variant_update(request)?;
                let (record, variant) = self.commands.update_variant(&id, &variant_id, changes).await?;
                let price = crate::commands::product_price(&record.product)?;
                Ok(pb::UpdateVariantResponse {
                    variant: Some(wire::variant(&variant, price, &record.images, None)?),
                    product: Some(wire::product(&record, None)?),
                })
            }
            .await,
        )
    }

    async fn archive_variant(
        &self,
        request: Request<pb::ArchiveVariantRequest>,
    ) -> Result<Response<pb::ArchiveVariantResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let mut violations = Violations::new();
                let id = violations.check(fields::id("product_id", &request.product_id));
                let variant_id = violations.check(fields::id("variant_id", &request.variant_id));
                violations.finish()?;
                let (Some(id), Some(variant_id)) = (id, variant_id) else {
                    return Err(Error::Internal("validated ids missing".into()));
                };
                let record = self.commands.archive_variant(&id, &variant_id).await?;
                Ok(pb::ArchiveVariantResponse { product: Some(wire::product(&record, None)?) })
            }
            .await,
        )
    }

    async fn add_product_image(
        &self,
        request: Request<pb::AddProductImageRequest>,
    ) -> Result<Response<pb::AddProductImageResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let (id, image, variant_id, position) = wire::add_image(request)?;
                let (record, image) = self.commands.add_image(&id, image, variant_id, position).await?;
                Ok(pb::AddProductImageResponse {
                    image: Some(wire::image(&image)),
                    product: Some(wire::product(&record, None)?),
                })
            }
            .await,
        )
    }

    async fn remove_product_image(
        &self,
        request: Request<pb::RemoveProductImageRequest>,
    ) -> Result<Response<pb::RemoveProductImageResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let mut violations = Violations::new();
                let id = violations.check(fields::id("product_id", &request.product_id));
                let image_id = violations.check(fields::id("image_id", &request.image_id));
                violations.finish()?;
                let (Some(id), Some(image_id)) = (id, image_id) else {
                    return Err(Error::Internal("validated ids missing".into()));
                };
                let record = self.commands.remove_image(&id, &image_id).await?;
                Ok(pb::RemoveProductImageResponse { product: Some(wire::product(&record, None)?) })
            }
            .await,
        )
    }

    async fn upload_media(
        &self,
        request: Request<pb::UploadMediaRequest>,
    ) -> Result<Response<pb::UploadMediaResponse>, Status> {
        reply::<_, Error>(self.media.upload(request.into_inner()).await)
    }

    async fn get_media(
        &self,
        request: Request<pb::GetMediaRequest>,
    ) -> Result<Response<mart_proto::google::api::HttpBody>, Status> {
        let mut response = reply::<_, Error>(self.media.get(request.into_inner()).await)?;
        // A media id is the digest of its bytes: what it names never changes. (The edge
        // passes this on as the HTTP header of the same name.)
        response.metadata_mut().insert("cache-control", media::CACHE_CONTROL.parse().expect("a header value"));
        Ok(response)
    }

    async fn batch_get_variants(
        &self,
        request: Request<pb::BatchGetVariantsRequest>,
    ) -> Result<Response<pb::BatchGetVariantsResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let ids = wire::ids("ids", request.ids)?;
                // Variant ids first; what is left may be ids of products.
                let found = variants::find_many(&self.db, &ids).await?;
                let rest: Vec<String> = ids.iter().filter(|id| !found.iter().any(|v| &v.id == *id)).cloned().collect();
                let mut product_ids: Vec<String> = found.iter().map(|v| v.product_id.clone()).collect();
                product_ids.extend(rest.iter().cloned());
                product_ids.sort();
                product_ids.dedup();
                let records = records::load_many(&self.db, products::find_many(&self.db, &product_ids).await?).await?;
                let mut answer = pb::BatchGetVariantsResponse::default();
                for variant in &found {
                    if let Some(record) = records.iter().find(|r| r.product.id == variant.product_id) {
                        answer.variants.push(wire::variant_details(record, &variant.id, &variant.id)?);
                    }
                }
                for id in &rest {
                    let Some(record) = records.iter().find(|r| &r.product.id == id) else { continue };
                    match record.variants.as_slice() {
                        [only] => answer.variants.push(wire::variant_details(record, &only.id, id)?),
                        _ => answer.ambiguous_product_ids.push(id.clone()),
                    }
                }
                Ok(answer)
            }
            .await,
        )
    }
}
