//! Every change to the catalog, each in one transaction: create, update and delete a
//! category; create, update and archive a product. A product change appends its event
//! ([`crate::events`]) in the transaction that makes it, wakes the relay once it is
//! committed so the event leaves at once, and drops this replica's cached GetProduct
//! answer ([`ProductCache`]). Categories announce nothing.
//!
//! Commands take domain types (already parsed by [`crate::api`]) and return the rows as
//! stored; the api encodes them.

use std::sync::Arc;

use chrono::Utc;
use mart_platform::{db::is_unique_violation, error::FieldViolation, money::Money, wake::Waker};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, SqlErr};

use crate::{
    domain::{CategoryChanges, NewCategory, NewProduct, ProductChanges, Status as ProductStatus},
    error::Error,
    events,
    product_cache::ProductCache,
    store::{self, categories, products, settings},
};

/// The catalog's state changes, over the service's database.
#[derive(Clone)]
pub struct Commands {
    db: DatabaseConnection,
    /// Nudged after every commit that wrote events, so they leave at once.
    relay: Waker,
    /// GetProduct's answers; a product this replica changed is dropped from it at once.
    cache: Arc<ProductCache>,
}

impl Commands {
    /// Commands over `db`, waking `relay` after writing events and forgetting changed
    /// products in `cache`.
    pub fn new(db: DatabaseConnection, relay: Waker, cache: Arc<ProductCache>) -> Self {
        Self { db, relay, cache }
    }

    // === categories ===

    /// Creates `category`; its name must not be another category's.
    pub async fn create_category(&self, category: NewCategory) -> Result<categories::Model, Error> {
        let txn = store::begin_write(&self.db).await?;
        let row = categories::insert(&txn, uuid::Uuid::now_v7().to_string(), &category, Utc::now())
            .await
            .map_err(name_taken_or)?;
        txn.commit().await?;
        Ok(row)
    }

    /// Applies `changes` to the category `id`; the category after them.
    pub async fn update_category(&self, id: &str, changes: CategoryChanges) -> Result<categories::Model, Error> {
        let txn = store::begin_write(&self.db).await?;
        let category = categories::find(&txn, id).await?.ok_or(Error::NotFound("category"))?;
        let category = categories::update(&txn, &category, changes, Utc::now()).await.map_err(name_taken_or)?;
        txn.commit().await?;
        Ok(category)
    }

    /// Deletes the category `id`, which must have no products (archived ones count).
    pub async fn delete_category(&self, id: &str) -> Result<(), Error> {
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
        Ok(())
    }

    // === products ===

    /// Creates `product` (announced with its initial stock, from which svc-inventory
    /// creates the stock record).
    pub async fn create_product(&self, product: NewProduct) -> Result<products::Model, Error> {
        let txn = store::begin_write(&self.db).await?;
        check_currency(&txn, "price.currency", product.price).await?;
        if categories::find(&txn, &product.category_id).await?.is_none() {
            return Err(no_such_category("category_id"));
        }
        let row = products::insert(&txn, uuid::Uuid::now_v7().to_string(), &product, Utc::now())
            .await
            .map_err(|error| product_write_error(error, "sku", "category_id"))?;
        events::created(&txn, &row, product.price, product.initial_stock).await?;
        txn.commit().await?;
        self.relay.wake();
        Ok(row)
    }

    /// Applies `changes` to the product `id`, which must not be archived; the product
    /// after them. Announced only when a value actually changed.
    pub async fn update_product(&self, id: &str, changes: ProductChanges) -> Result<products::Model, Error> {
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
        let (product, fields) = products::update(&txn, &product, changes)
            .await
            .map_err(|error| product_write_error(error, "product.sku", "product.category_id"))?;
        if fields.is_empty() {
            return Ok(product);
        }
        events::updated(&txn, &product, product_price(&product)?, &fields).await?;
        txn.commit().await?;
        self.cache.forget(&product.id);
        self.relay.wake();
        Ok(product)
    }

    /// Archives the product `id`: no longer listed or orderable, and final.
    pub async fn archive_product(&self, id: &str) -> Result<(), Error> {
        let txn = store::begin_write(&self.db).await?;
        let product = products::find_for_update(&txn, id).await?.ok_or(Error::NotFound("product"))?;
        // Archiving is final and idempotent: the second time there is nothing to
        // do and nothing to announce.
        if product_status(&product)? == ProductStatus::Archived {
            return Ok(());
        }
        let product = products::archive(&txn, product, Utc::now()).await?;
        events::archived(&txn, &product).await?;
        txn.commit().await?;
        self.cache.forget(&product.id);
        self.relay.wake();
        Ok(())
    }
}

// === rules and error mapping shared by the commands ===

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

/// The status of a stored product; a value this version does not know is a corrupt row.
pub(crate) fn product_status(product: &products::Model) -> Result<ProductStatus, Error> {
    ProductStatus::parse(&product.status)
        .ok_or_else(|| Error::Internal(format!("product {} has status {:?}", product.id, product.status)))
}

/// The price of a stored product; a currency this version does not know is a corrupt row.
pub(crate) fn product_price(product: &products::Model) -> Result<Money, Error> {
    product.price().map_err(|error| Error::Internal(format!("product {} has price {error}", product.id)))
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
