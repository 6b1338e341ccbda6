//! The CatalogService gRPC API: decode the request, apply the rules, encode the answer.
//! Who may call each RPC was already decided by the platform's access layer (from the
//! `.proto`): browsing is public, changing the catalog takes an admin, BatchGetProducts is
//! for other services.

use chrono::Utc;
use mart_platform::{
    db::is_unique_violation,
    error::{FieldViolation, Violations},
    outbox::relay::RelayWaker,
    paging,
    wire::timestamp,
};
use mart_proto::{
    common::Money as PbMoney,
    product::{self as pb, catalog_service_server::CatalogService},
};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbErr, IntoActiveModel, Set, SqlErr};
use tonic::{Request, Response, Status};

use crate::{
    domain::{
        self, CategoryChanges, CategoryInput, Cursor, Moment, Money, NewCategory, NewProduct, ProductChanges,
        ProductField, ProductFilter, ProductFilterInput, ProductInput, ProductOrder, ProductPatch, ProductQuery,
        SortKey, SortValue, Status as ProductStatus,
    },
    error::Error,
    events,
    page_token::PageTokens,
    product_cache::ProductCache,
    stock::StockClient,
    store::{self, categories, products, settings},
};

/// The most ids one BatchGetProducts call may ask for.
const MAX_BATCH: usize = 100;

/// The CatalogService implementation.
pub struct CatalogApi {
    db: DatabaseConnection,
    /// Nudged after every commit that wrote events, so they leave at once.
    relay: RelayWaker,
    /// Signs and checks the page tokens of both list RPCs.
    tokens: PageTokens,
    /// Asks svc-inventory for GetProduct's `available_stock`.
    stock: StockClient,
    /// Recent GetProduct answers (see [`ProductCache`] for why that is safe).
    cache: ProductCache,
}

impl CatalogApi {
    /// The API over `db`, waking `relay` after writing events, reusing GetProduct answers
    /// through `cache`.
    pub fn new(
        db: DatabaseConnection,
        relay: RelayWaker,
        tokens: PageTokens,
        stock: StockClient,
        cache: ProductCache,
    ) -> Self {
        Self { db, relay, tokens, stock, cache }
    }
}

fn reply<T>(result: Result<T, Error>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl CatalogService for CatalogApi {
    async fn list_categories(
        &self,
        request: Request<pb::ListCategoriesRequest>,
    ) -> Result<Response<pb::ListCategoriesResponse>, Status> {
        let request = request.into_inner();
        reply(
            async {
                let mut violations = Violations::new();
                let limit = violations.check(paging::page_size(request.page_size)).unwrap_or_default();
                let fingerprint = domain::digest("categories", &());
                let after = match request.page_token.as_str() {
                    "" => None,
                    token => match violations.check(self.tokens.read(token, fingerprint)) {
                        Some(Cursor { after: SortValue::Name(name_key), id }) => Some((name_key, id)),
                        Some(_) => {
                            violations.add("page_token", "not a token from a previous page");
                            None
                        }
                        None => None,
                    },
                };
                violations.finish()?;

                let after = after.as_ref().map(|(name_key, id)| (name_key.as_str(), id.as_str()));
                let mut rows = categories::list(&self.db, after, limit + 1).await?;
                let next_page_token = next_page(&mut rows, limit, |last| {
                    let cursor = Cursor { after: SortValue::Name(last.name_key.clone()), id: last.id.clone() };
                    self.tokens.issue(fingerprint, &cursor)
                });
                Ok(pb::ListCategoriesResponse {
                    categories: rows.iter().map(to_proto_category).collect(),
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
        reply(
            async {
                let id = required("category_id", &request.category_id)?;
                let category = categories::find(&self.db, id).await?.ok_or(Error::NotFound("category"))?;
                Ok(pb::GetCategoryResponse { category: Some(to_proto_category(&category)) })
            }
            .await,
        )
    }

    async fn create_category(
        &self,
        request: Request<pb::CreateCategoryRequest>,
    ) -> Result<Response<pb::CreateCategoryResponse>, Status> {
        let request = request.into_inner();
        reply(
            async {
                let category =
                    NewCategory::try_from(CategoryInput { name: request.name, description: request.description })?;
                let now = Utc::now();
                let row = categories::ActiveModel {
                    id: Set(uuid::Uuid::now_v7().to_string()),
                    name: Set(category.name.as_str().to_owned()),
                    name_key: Set(category.name.key()),
                    description: Set(category.description),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&self.db)
                .await
                .map_err(name_taken_or)?;
                Ok(pb::CreateCategoryResponse { category: Some(to_proto_category(&row)) })
            }
            .await,
        )
    }

    async fn update_category(
        &self,
        request: Request<pb::UpdateCategoryRequest>,
    ) -> Result<Response<pb::UpdateCategoryResponse>, Status> {
        let request = request.into_inner();
        reply(
            async {
                let mut violations = Violations::new();
                let id = violations.check(required("category_id", &request.category_id));
                let changes = match CategoryChanges::parse(request.name.as_deref(), request.description.as_deref()) {
                    Ok(changes) => changes,
                    Err(bad) => {
                        add_all(&mut violations, bad);
                        CategoryChanges::default()
                    }
                };
                violations.finish()?;
                let id = id.unwrap_or_default();

                let category = categories::find(&self.db, id).await?.ok_or(Error::NotFound("category"))?;
                let mut changed = category.clone().into_active_model();
                if let Some(name) = changes.name
                    && name.as_str() != category.name
                {
                    changed.name = Set(name.as_str().to_owned());
                    changed.name_key = Set(name.key());
                }
                if let Some(description) = changes.description
                    && description != category.description
                {
                    changed.description = Set(description);
                }
                if !changed.is_changed() {
                    return Ok(pb::UpdateCategoryResponse { category: Some(to_proto_category(&category)) });
                }
                changed.updated_at = Set(Utc::now());
                let category = changed.update(&self.db).await.map_err(name_taken_or)?;
                Ok(pb::UpdateCategoryResponse { category: Some(to_proto_category(&category)) })
            }
            .await,
        )
    }

    async fn delete_category(
        &self,
        request: Request<pb::DeleteCategoryRequest>,
    ) -> Result<Response<pb::DeleteCategoryResponse>, Status> {
        let request = request.into_inner();
        reply(
            async {
                let id = required("category_id", &request.category_id)?;
                let txn = store::begin_write(&self.db).await?;
                categories::find(&txn, id).await?.ok_or(Error::NotFound("category"))?;
                let products = products::count_in_category(&txn, id).await?;
                if products > 0 {
                    return Err(Error::CategoryInUse { products });
                }
                match categories::delete(&txn, id).await {
                    Ok(_) => {}
                    // A product was created in it since we counted: the foreign key
                    // refused, and the answer is the same as if we had seen it.
                    Err(error) if is_foreign_key_violation(&error) => {
                        drop(txn);
                        let products = products::count_in_category(&self.db, id).await?;
                        return Err(Error::CategoryInUse { products: products.max(1) });
                    }
                    Err(error) => return Err(error.into()),
                }
                txn.commit().await?;
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
        reply(
            async {
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
                let fingerprint = query.fingerprint();
                let after = if request.page_token.is_empty() || !query_valid {
                    None
                } else {
                    match self.tokens.read(&request.page_token, fingerprint) {
                        Ok(cursor) if query.accepts(&cursor) => Some(cursor),
                        Ok(_) => {
                            violations.add("page_token", "not a token from a previous page");
                            None
                        }
                        Err(violation) => {
                            violations.add(violation.field, violation.description);
                            None
                        }
                    }
                };
                violations.finish()?;

                let mut rows = products::list(&self.db, &query, after.as_ref(), limit + 1).await?;
                let next_page_token = next_page(&mut rows, limit, |last| {
                    self.tokens.issue(fingerprint, &query.cursor_after(&last.id, last.price_minor, &last.name_key))
                });
                Ok(pb::ListProductsResponse {
                    products: rows.iter().map(|row| to_proto_product(row, None)).collect::<Result<_, _>>()?,
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
        reply(
            async {
                let id = required("product_id", &request.product_id)?;
                if let Some(product) = self.cache.get(id) {
                    return Ok(pb::GetProductResponse { product: Some(product) });
                }
                let product = products::find(&self.db, id).await?.ok_or(Error::NotFound("product"))?;
                let available = self.stock.available(&product.id).await;
                let product = to_proto_product(&product, available)?;
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
        reply(
            async {
                let product = NewProduct::try_from(ProductInput {
                    sku: request.sku,
                    name: request.name,
                    description: request.description,
                    brand: request.brand,
                    price: request.price.map(|p| (p.amount_minor, p.currency)),
                    category_id: request.category_id,
                    expires_at: request.expires_at.map(moment),
                    initial_stock: request.initial_stock,
                    now: Utc::now(),
                })?;

                let txn = store::begin_write(&self.db).await?;
                check_currency(&txn, "price.currency", product.price).await?;
                if categories::find(&txn, &product.category_id).await?.is_none() {
                    return Err(no_such_category("category_id"));
                }
                let row = products::new_row(uuid::Uuid::now_v7().to_string(), &product, Utc::now())
                    .insert(&txn)
                    .await
                    .map_err(|error| product_write_error(error, "sku", "category_id"))?;
                events::created(&txn, &row, product.initial_stock).await?;
                txn.commit().await?;
                self.relay.wake();
                Ok(pb::CreateProductResponse { product: Some(to_proto_product(&row, None)?) })
            }
            .await,
        )
    }

    async fn update_product(
        &self,
        request: Request<pb::UpdateProductRequest>,
    ) -> Result<Response<pb::UpdateProductResponse>, Status> {
        let request = request.into_inner();
        reply(
            async {
                let mut violations = Violations::new();
                let id = violations.check(required("product_id", &request.product_id));
                let values = request.product.unwrap_or_default();
                let patch = ProductPatch {
                    mask: request.update_mask.map(|mask| mask.paths).unwrap_or_default(),
                    values: ProductInput {
                        sku: values.sku,
                        name: values.name,
                        description: values.description,
                        brand: values.brand,
                        price: values.price.map(|p| (p.amount_minor, p.currency)),
                        category_id: values.category_id,
                        expires_at: values.expires_at.map(moment),
                        initial_stock: None,
                        now: Utc::now(),
                    },
                };
                let changes = match ProductChanges::try_from(patch) {
                    Ok(changes) => Some(changes),
                    Err(bad) => {
                        add_all(&mut violations, bad);
                        None
                    }
                };
                violations.finish()?;
                let (Some(id), Some(changes)) = (id, changes) else {
                    return Err(Error::Internal("validated update fields missing".into()));
                };

                let txn = store::begin_write(&self.db).await?;
                if let Some(price) = changes.price {
                    check_currency(&txn, "product.price.currency", price).await?;
                }
                // Locked, so the fields we compare are the ones we overwrite.
                let product = products::find_for_update(&txn, id).await?.ok_or(Error::NotFound("product"))?;
                if product_status(&product)? == ProductStatus::Archived {
                    return Err(Error::ProductArchived);
                }
                if let Some(category_id) = &changes.category_id
                    && *category_id != product.category_id
                    && categories::find(&txn, category_id).await?.is_none()
                {
                    return Err(no_such_category("product.category_id"));
                }
                let (changed, fields) = apply(&product, changes);
                if fields.is_empty() {
                    return Ok(pb::UpdateProductResponse { product: Some(to_proto_product(&product, None)?) });
                }
                let product = changed
                    .update(&txn)
                    .await
                    .map_err(|error| product_write_error(error, "product.sku", "product.category_id"))?;
                events::updated(&txn, &product, &fields).await?;
                txn.commit().await?;
                self.cache.forget(&product.id);
                self.relay.wake();
                Ok(pb::UpdateProductResponse { product: Some(to_proto_product(&product, None)?) })
            }
            .await,
        )
    }

    async fn delete_product(
        &self,
        request: Request<pb::DeleteProductRequest>,
    ) -> Result<Response<pb::DeleteProductResponse>, Status> {
        let request = request.into_inner();
        reply(
            async {
                let id = required("product_id", &request.product_id)?;
                let txn = store::begin_write(&self.db).await?;
                let product = products::find_for_update(&txn, id).await?.ok_or(Error::NotFound("product"))?;
                // Archiving is final and idempotent: the second time there is nothing to
                // do and nothing to announce.
                if product_status(&product)? == ProductStatus::Archived {
                    return Ok(pb::DeleteProductResponse {});
                }
                let mut changed = product.into_active_model();
                changed.status = Set(ProductStatus::Archived.as_str().to_owned());
                changed.updated_at = Set(Utc::now());
                let product = changed.update(&txn).await?;
                events::archived(&txn, &product).await?;
                txn.commit().await?;
                self.cache.forget(&product.id);
                self.relay.wake();
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
        reply(
            async {
                let mut ids: Vec<String> = Vec::with_capacity(request.product_ids.len());
                for id in request.product_ids {
                    let id = id.trim().to_owned();
                    if !id.is_empty() && !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                if ids.len() > MAX_BATCH {
                    return Err(FieldViolation::new("product_ids", format!("at most {MAX_BATCH} ids")).into());
                }
                let rows = products::find_many(&self.db, &ids).await?;
                Ok(pb::BatchGetProductsResponse {
                    products: rows.iter().map(|row| to_proto_product(row, None)).collect::<Result<_, _>>()?,
                })
            }
            .await,
        )
    }
}

// === use cases shared by the handlers ===

/// Makes sure `price` is in the shop currency: the currency of the first price the catalog
/// ever took. Lists filter and sort by plain minor units, and carts add prices up; neither
/// means anything across currencies.
async fn check_currency<C: ConnectionTrait>(txn: &C, field: &str, price: Money) -> Result<(), Error> {
    let code = price.currency.code();
    let shop = settings::get_or_insert(txn, settings::CURRENCY, code.as_bytes()).await?;
    if shop == code.as_bytes() {
        return Ok(());
    }
    let shop = String::from_utf8_lossy(&shop).into_owned();
    Err(FieldViolation::new(field, format!("the catalog's prices are in {shop}; mixed currencies are not supported"))
        .into())
}

/// The row with `changes` applied, and the fields whose value actually changed.
fn apply(product: &products::Model, changes: ProductChanges) -> (products::ActiveModel, Vec<ProductField>) {
    let mut changed = product.clone().into_active_model();
    let mut fields = Vec::new();
    let mut text_changed = false;
    if let Some(sku) = changes.sku
        && sku.as_str() != product.sku
    {
        changed.sku = Set(sku.as_str().to_owned());
        fields.push(ProductField::Sku);
    }
    let mut name = product.name.clone();
    if let Some(new) = changes.name
        && new.as_str() != product.name
    {
        name = new.as_str().to_owned();
        changed.name = Set(name.clone());
        changed.name_key = Set(domain::fold(&name));
        fields.push(ProductField::Name);
        text_changed = true;
    }
    let mut description = product.description.clone();
    if let Some(new) = changes.description
        && new != product.description
    {
        description = new;
        changed.description = Set(description.clone());
        fields.push(ProductField::Description);
        text_changed = true;
    }
    let mut brand = product.brand.clone();
    if let Some(new) = changes.brand
        && new.as_str() != product.brand
    {
        brand = new.as_str().to_owned();
        changed.brand = Set(brand.clone());
        changed.brand_key = Set(new.key());
        fields.push(ProductField::Brand);
        text_changed = true;
    }
    if text_changed {
        changed.search_text = Set(products::search_text(&name, &brand, &description));
    }
    if let Some(price) = changes.price
        && (price.amount_minor, price.currency.code()) != (product.price_minor, product.currency.as_str())
    {
        changed.price_minor = Set(price.amount_minor);
        changed.currency = Set(price.currency.code().to_owned());
        fields.push(ProductField::Price);
    }
    if let Some(category_id) = changes.category_id
        && category_id != product.category_id
    {
        changed.category_id = Set(category_id);
        fields.push(ProductField::CategoryId);
    }
    if let Some(expires_at) = changes.expires_at
        && expires_at != product.expires_at
    {
        changed.expires_at = Set(expires_at);
        fields.push(ProductField::ExpiresAt);
    }
    if !fields.is_empty() {
        changed.updated_at = Set(Utc::now());
    }
    (changed, fields)
}

/// Cuts `rows` (fetched with one extra) to `limit`; the token for the page after, or ""
/// when there is none.
fn next_page<T>(rows: &mut Vec<T>, limit: u64, token: impl FnOnce(&T) -> String) -> String {
    if rows.len() as u64 <= limit {
        return String::new();
    }
    rows.truncate(limit as usize);
    rows.last().map(token).unwrap_or_default()
}

// === decoding, encoding and small helpers ===

fn required<'a>(field: &str, value: &'a str) -> Result<&'a str, FieldViolation> {
    let value = value.trim();
    if value.is_empty() { Err(FieldViolation::new(field, "required")) } else { Ok(value) }
}

fn add_all(violations: &mut Violations, bad: Vec<FieldViolation>) {
    for violation in bad {
        violations.add(violation.field, violation.description);
    }
}

fn no_such_category(field: &str) -> Error {
    FieldViolation::new(field, "no category with this id").into()
}

fn name_taken_or(error: DbErr) -> Error {
    if is_unique_violation(&error) { Error::CategoryNameTaken } else { Error::Database(error) }
}

/// A product insert or update that the database refused: the SKU's unique index, or the
/// category's foreign key (the category was deleted since we looked).
fn product_write_error(error: DbErr, sku_field: &'static str, category_field: &str) -> Error {
    if is_unique_violation(&error) {
        Error::SkuTaken { field: sku_field }
    } else if is_foreign_key_violation(&error) {
        no_such_category(category_field)
    } else {
        Error::Database(error)
    }
}

fn is_foreign_key_violation(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_)))
}

fn moment(at: prost_types::Timestamp) -> Moment {
    (at.seconds, at.nanos)
}

fn product_status(product: &products::Model) -> Result<ProductStatus, Error> {
    ProductStatus::parse(&product.status)
        .ok_or_else(|| Error::Internal(format!("product {} has status {:?}", product.id, product.status)))
}

fn to_proto_category(row: &categories::Model) -> pb::Category {
    pb::Category {
        id: row.id.clone(),
        name: row.name.clone(),
        description: row.description.clone(),
        created_at: Some(timestamp(&row.created_at)),
        updated_at: Some(timestamp(&row.updated_at)),
    }
}

fn to_proto_product(row: &products::Model, available_stock: Option<i32>) -> Result<pb::Product, Error> {
    let status = match product_status(row)? {
        ProductStatus::Active => pb::ProductStatus::Active,
        ProductStatus::Archived => pb::ProductStatus::Archived,
    };
    Ok(pb::Product {
        id: row.id.clone(),
        sku: row.sku.clone(),
        name: row.name.clone(),
        description: row.description.clone(),
        brand: row.brand.clone(),
        price: Some(PbMoney { amount_minor: row.price_minor, currency: row.currency.clone() }),
        category_id: row.category_id.clone(),
        expires_at: row.expires_at.as_ref().map(timestamp),
        status: status.into(),
        available_stock,
        created_at: Some(timestamp(&row.created_at)),
        updated_at: Some(timestamp(&row.updated_at)),
    })
}
