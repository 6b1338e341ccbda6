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
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Set, SqlErr};

use crate::{
    domain::{
        CategoryChanges, ImageSource, NewCategory, NewImage, NewProduct, NewVariant, ProductChanges, ProductField,
        ProductOption, Status as ProductStatus, VariantChanges, VariantInput, VariantStatus,
        variant::{MAX_IMAGES, MAX_VARIANTS},
    },
    error::Error,
    events,
    media::Media,
    product_cache::ProductCache,
    store::{self, categories, images, products, records, records::ProductRecord, settings, variants},
};

/// The catalog's state changes, over the service's database.
#[derive(Clone)]
pub struct Commands {
    db: DatabaseConnection,
    /// Nudged after every commit that wrote events, so they leave at once.
    relay: Waker,
    /// GetProduct's answers; a product this replica changed is dropped from it at once.
    cache: Arc<ProductCache>,
    /// Where uploaded images are: an image must name media that exists.
    media: Arc<Media>,
}

impl Commands {
    /// Commands over `db`, waking `relay` after writing events and forgetting changed
    /// products in `cache`.
    pub fn new(db: DatabaseConnection, relay: Waker, cache: Arc<ProductCache>, media: Arc<Media>) -> Self {
        Self { db, relay, cache, media }
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

    /// Creates `product` with its variants (its default one when it has no options) and
    /// images, announced with each variant's initial stock, from which svc-inventory
    /// creates the stock records.
    pub async fn create_product(&self, product: NewProduct) -> Result<ProductRecord, Error> {
        let mut images: Vec<&NewImage> = product.images.iter().collect();
        images.extend(product.variants.iter().filter_map(|v| v.image.as_ref()));
        self.check_media(images, "images").await?;
        let txn = store::begin_write(&self.db).await?;
        check_currency(&txn, "price.currency", product.price).await?;
        for (i, variant) in product.variants.iter().enumerate() {
            if let Some(price) = variant.price {
                check_currency(&txn, &format!("variants[{i}].price.currency"), price).await?;
            }
        }
        if categories::find(&txn, &product.category_id).await?.is_none() {
            return Err(no_such_category("category_id"));
        }
        let skus: Vec<(String, String)> = if product.variants.is_empty() {
            vec![("sku".to_owned(), product.sku.as_str().to_owned())]
        } else {
            product
                .variants
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("variants[{i}].sku"), v.sku.as_str().to_owned()))
                .collect()
        };
        check_skus_free(&txn, &skus).await?;
        let now = Utc::now();
        let id = uuid::Uuid::now_v7().to_string();
        let row = products::insert(&txn, id.clone(), &product, now)
            .await
            .map_err(|error| product_write_error(error, "sku", "category_id"))?;
        let mut position = 0;
        for image in &product.images {
            images::insert(&txn, uuid::Uuid::now_v7().to_string(), &id, position, image, None, now).await?;
            position += 1;
        }
        let mut created = Vec::with_capacity(product.variants.len().max(1));
        if product.variants.is_empty() {
            let variant = variants::NewRow {
                id: id.clone(),
                product_id: &id,
                position: 0,
                sku: product.sku.as_str(),
                option_values: &[],
                price: None,
                image_id: None,
                initial_stock: product.initial_stock,
            };
            let variant = variants::insert(&txn, variant, now).await.map_err(|error| sku_taken_or(error, "sku"))?;
            created.push((variant, product.initial_stock));
        }
        for (i, new) in product.variants.iter().enumerate() {
            let variant_id = uuid::Uuid::now_v7().to_string();
            let image_id = new.image.as_ref().map(|_| uuid::Uuid::now_v7().to_string());
            let variant = variants::NewRow {
                id: variant_id.clone(),
                product_id: &id,
                position: i32::try_from(i).unwrap_or(i32::MAX),
                sku: new.sku.as_str(),
                option_values: &new.option_values,
                price: new.price,
                image_id: image_id.clone(),
                initial_stock: new.initial_stock,
            };
            let variant = variants::insert(&txn, variant, now)
                .await
                .map_err(|error| sku_taken_or(error, &format!("variants[{i}].sku")))?;
            if let (Some(image), Some(image_id)) = (&new.image, image_id) {
                images::insert(&txn, image_id, &id, position, image, Some(variant_id), now).await?;
                position += 1;
            }
            created.push((variant, new.initial_stock));
        }
        let variant_rows: Vec<_> = created.iter().map(|(v, _)| v.clone()).collect();
        let row = products::summarize(&txn, row, &variant_rows).await?;
        events::created(&txn, &row, product.price, &created).await?;
        let record = records::load(&txn, row).await?;
        txn.commit().await?;
        // Nothing kept for the new id, but every facet count may move.
        self.cache.forget(&id);
        self.relay.wake();
        Ok(record)
    }

    /// Applies `changes` to the product `id`, which must not be archived; the product
    /// after them. Announced only when a value actually changed.
    pub async fn update_product(&self, id: &str, changes: ProductChanges) -> Result<ProductRecord, Error> {
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
            return Ok(records::load(&txn, product).await?);
        }
        let mut record = records::load(&txn, product).await?;
        // A single-variant product's SKU is its variant's.
        if fields.contains(&ProductField::Sku)
            && let Some(default) = record.variants.iter().find(|v| v.id == record.product.id).cloned()
        {
            let sku = record.product.sku.clone();
            variants::update(&txn, default, Utc::now(), |row| row.sku = Set(sku))
                .await
                .map_err(|error| sku_taken_or(error, "product.sku"))?;
            record.variants = variants::of_product(&txn, id).await?;
        }
        record.product = products::summarize(&txn, record.product, &record.variants).await?;
        let changed: Vec<&str> = fields.iter().map(|field| field.as_str()).collect();
        events::updated(&txn, &record.product, product_price(&record.product)?, &changed).await?;
        txn.commit().await?;
        self.cache.forget(id);
        self.relay.wake();
        Ok(record)
    }

    /// Archives the product `id` and its variants: no longer listed or orderable, and final.
    pub async fn archive_product(&self, id: &str) -> Result<(), Error> {
        let txn = store::begin_write(&self.db).await?;
        let product = products::find_for_update(&txn, id).await?.ok_or(Error::NotFound("product"))?;
        // Archiving is final and idempotent: the second time there is nothing to
        // do and nothing to announce.
        if product_status(&product)? == ProductStatus::Archived {
            return Ok(());
        }
        let now = Utc::now();
        let product = products::archive(&txn, product, now).await?;
        variants::archive_all(&txn, id, now).await?;
        events::archived(&txn, &product).await?;
        txn.commit().await?;
        self.cache.forget(&product.id);
        self.relay.wake();
        Ok(())
    }

    // === variants ===

    /// Adds the variant `input` to the product `id`, which must have options; a value an
    /// option does not have yet is appended to it. Announced with its initial stock.
    pub async fn add_variant(&self, id: &str, input: VariantInput) -> Result<(ProductRecord, variants::Model), Error> {
        let txn = store::begin_write(&self.db).await?;
        let product = products::find_for_update(&txn, id).await?.ok_or(Error::NotFound("product"))?;
        if product_status(&product)? == ProductStatus::Archived {
            return Err(Error::ProductArchived);
        }
        let mut options = product_options(&product)?;
        if options.is_empty() {
            return Err(Error::NoOptions);
        }
        let new = NewVariant::parse("variant", &input, &options, true)?;
        if let Some(image) = &new.image {
            self.check_media(vec![image], "variant.image").await?;
        }
        if let Some(price) = new.price {
            check_currency(&txn, "variant.price.currency", price).await?;
        }
        let record = records::load(&txn, product).await?;
        if record.variants.len() >= MAX_VARIANTS {
            return Err(Error::TooMany { what: "variants", limit: MAX_VARIANTS });
        }
        if record.variants.iter().any(|v| v.option_key == new.key()) {
            return Err(Error::CombinationTaken { field: "variant.option_values".into() });
        }
        if new.image.is_some() && record.images.len() >= MAX_IMAGES {
            return Err(Error::TooMany { what: "images", limit: MAX_IMAGES });
        }
        check_skus_free(&txn, &[("variant.sku".to_owned(), new.sku.as_str().to_owned())]).await?;
        // New values join their options, at the end.
        let mut grew = false;
        for (option, (_, value)) in options.iter_mut().zip(&new.option_values) {
            if option.value(value).is_none() {
                option.values.push(value.clone());
                grew = true;
            }
        }
        let now = Utc::now();
        let mut product = record.product;
        if grew {
            product = products::set_options(&txn, product, &options, now).await?;
        }
        let variant_id = uuid::Uuid::now_v7().to_string();
        let image_id = new.image.as_ref().map(|_| uuid::Uuid::now_v7().to_string());
        let position = record.variants.iter().map(|v| v.position).max().map_or(0, |p| p.saturating_add(1));
        let row = variants::NewRow {
            id: variant_id.clone(),
            product_id: id,
            position,
            sku: new.sku.as_str(),
            option_values: &new.option_values,
            price: new.price,
            image_id: image_id.clone(),
            initial_stock: new.initial_stock,
        };
        let variant = variants::insert(&txn, row, now).await.map_err(|error| {
            if is_unique_violation(&error) {
                // The SKU was free a moment ago, and the combination too: whichever went.
                Error::SkuTaken { field: "variant.sku".into() }
            } else {
                Error::Database(error)
            }
        })?;
        if let (Some(image), Some(image_id)) = (&new.image, image_id) {
            let position = i32::try_from(record.images.len()).unwrap_or(i32::MAX);
            images::insert(&txn, image_id, id, position, image, Some(variant_id), now).await?;
        }
        let variants = variants::of_product(&txn, id).await?;
        let product = products::summarize(&txn, product, &variants).await?;
        events::variant_added(&txn, &variant, &new.option_values, new.initial_stock).await?;
        let record = records::load(&txn, product).await?;
        txn.commit().await?;
        self.cache.forget(id);
        self.relay.wake();
        Ok((record, variant))
    }

    /// Applies `changes` to the variant `variant_id` of the product `id`.
    pub async fn update_variant(
        &self,
        id: &str,
        variant_id: &str,
        changes: VariantChanges,
    ) -> Result<(ProductRecord, variants::Model), Error> {
        if changes.archive && changes.sku.is_none() && changes.price.is_none() && changes.image_id.is_none() {
            let record = self.archive_variant(id, variant_id).await?;
            let variant = record.variant(variant_id).cloned().ok_or(Error::NotFound("variant"))?;
            return Ok((record, variant));
        }
        let txn = store::begin_write(&self.db).await?;
        let product = products::find_for_update(&txn, id).await?.ok_or(Error::NotFound("product"))?;
        if product_status(&product)? == ProductStatus::Archived {
            return Err(Error::ProductArchived);
        }
        let record = records::load(&txn, product).await?;
        let variant = record.variant(variant_id).cloned().ok_or(Error::NotFound("variant"))?;
        if !variant.is_active() {
            return Err(Error::VariantArchived);
        }
        if let Some(Some(price)) = changes.price {
            check_currency(&txn, "variant.price.currency", price).await?;
        }
        if let Some(Some(image_id)) = &changes.image_id
            && record.image(image_id).is_none()
        {
            return Err(FieldViolation::new("variant.image_id", "not an image of this product").into());
        }
        let now = Utc::now();
        let mut changed: Vec<&str> = Vec::new();
        let mut product = record.product;
        if let Some(sku) = &changes.sku
            && sku.as_str() != variant.sku
        {
            check_skus_free(&txn, &[("variant.sku".to_owned(), sku.as_str().to_owned())]).await?;
            if variant.id == product.id {
                // A single-variant product's SKU is its variant's.
                let sku_changes = ProductChanges { sku: Some(sku.clone()), ..ProductChanges::default() };
                product = products::update(&txn, &product, sku_changes)
                    .await
                    .map_err(|error| product_write_error(error, "variant.sku", "variant.sku"))?
                    .0;
                changed.push("sku");
            }
            changed.push("variants");
        }
        let price_changed = changes.price.is_some_and(|p| p.map(|p| p.amount_minor) != variant.price_minor);
        let image_changed = changes.image_id.as_ref().is_some_and(|i| *i != variant.image_id);
        if price_changed || image_changed {
            changed.push("variants");
        }
        if changed.is_empty() && !changes.archive {
            return Ok((records::load(&txn, product).await?, variant));
        }
        let variant = variants::update(&txn, variant, now, |row| {
            if let Some(sku) = &changes.sku {
                row.sku = Set(sku.as_str().to_owned());
            }
            if let Some(price) = changes.price {
                row.price_minor = Set(price.map(|p| p.amount_minor));
            }
            if let Some(image_id) = changes.image_id.clone() {
                row.image_id = Set(image_id);
            }
        })
        .await
        .map_err(|error| sku_taken_or(error, "variant.sku"))?;
        let variants = variants::of_product(&txn, id).await?;
        let product = products::summarize(&txn, product, &variants).await?;
        changed.dedup();
        events::updated(&txn, &product, product_price(&product)?, &changed).await?;
        let record = records::load(&txn, product).await?;
        txn.commit().await?;
        self.cache.forget(id);
        self.relay.wake();
        if changes.archive {
            let record = self.archive_variant(id, variant_id).await?;
            let variant = record.variant(variant_id).cloned().ok_or(Error::NotFound("variant"))?;
            return Ok((record, variant));
        }
        Ok((record, variant))
    }

    /// Archives the variant `variant_id` of the product `id`; the product too when it was
    /// its last active variant. Idempotent.
    pub async fn archive_variant(&self, id: &str, variant_id: &str) -> Result<ProductRecord, Error> {
        let txn = store::begin_write(&self.db).await?;
        let product = products::find_for_update(&txn, id).await?.ok_or(Error::NotFound("product"))?;
        let record = records::load(&txn, product).await?;
        let variant = record.variant(variant_id).cloned().ok_or(Error::NotFound("variant"))?;
        if !variant.is_active() {
            return Ok(record);
        }
        let now = Utc::now();
        let variant = variants::update(&txn, variant, now, |row| {
            row.status = Set(VariantStatus::Archived.as_str().to_owned());
        })
        .await?;
        events::variant_archived(&txn, &variant).await?;
        let variants = variants::of_product(&txn, id).await?;
        let mut product = record.product;
        if !variants.iter().any(variants::Model::is_active) && product_status(&product)? == ProductStatus::Active {
            product = products::archive(&txn, product, now).await?;
            events::archived(&txn, &product).await?;
        }
        let product = products::summarize(&txn, product, &variants).await?;
        let record = records::load(&txn, product).await?;
        txn.commit().await?;
        self.cache.forget(id);
        self.relay.wake();
        Ok(record)
    }

    // === images ===

    /// Adds `image` to the product `id` at `position` (default last), showing
    /// `variant_id` if given (which then shows it).
    pub async fn add_image(
        &self,
        id: &str,
        image: NewImage,
        variant_id: Option<String>,
        position: Option<i32>,
    ) -> Result<(ProductRecord, images::Model), Error> {
        self.check_media(vec![&image], "").await?;
        let txn = store::begin_write(&self.db).await?;
        let product = products::find_for_update(&txn, id).await?.ok_or(Error::NotFound("product"))?;
        if product_status(&product)? == ProductStatus::Archived {
            return Err(Error::ProductArchived);
        }
        let record = records::load(&txn, product).await?;
        if record.images.len() >= MAX_IMAGES {
            return Err(Error::TooMany { what: "images", limit: MAX_IMAGES });
        }
        let variant = match &variant_id {
            None => None,
            Some(variant_id) => Some(
                record
                    .variant(variant_id)
                    .cloned()
                    .ok_or_else(|| Error::from(FieldViolation::new("variant_id", "not a variant of this product")))?,
            ),
        };
        let count = i32::try_from(record.images.len()).unwrap_or(i32::MAX);
        let position = position.map_or(count, |p| p.clamp(0, count));
        let now = Utc::now();
        let image_id = uuid::Uuid::now_v7().to_string();
        let image = images::insert(&txn, image_id.clone(), id, position, &image, variant_id, now).await?;
        if let Some(variant) = variant {
            variants::update(&txn, variant, now, |row| row.image_id = Set(Some(image_id))).await?;
        }
        events::updated(&txn, &record.product, product_price(&record.product)?, &["images"]).await?;
        let record = records::load(&txn, record.product).await?;
        txn.commit().await?;
        self.cache.forget(id);
        self.relay.wake();
        Ok((record, image))
    }

    /// Removes the image `image_id` from the product `id`; variants showing it show none.
    pub async fn remove_image(&self, id: &str, image_id: &str) -> Result<ProductRecord, Error> {
        let txn = store::begin_write(&self.db).await?;
        let product = products::find_for_update(&txn, id).await?.ok_or(Error::NotFound("product"))?;
        let record = records::load(&txn, product).await?;
        let image = record.image(image_id).cloned().ok_or(Error::NotFound("image"))?;
        images::delete(&txn, &image).await?;
        variants::forget_image(&txn, id, image_id).await?;
        events::updated(&txn, &record.product, product_price(&record.product)?, &["images"]).await?;
        let record = records::load(&txn, record.product).await?;
        txn.commit().await?;
        self.cache.forget(id);
        self.relay.wake();
        Ok(record)
    }

    /// Fails naming `field` when an image refers to media that was never uploaded.
    async fn check_media(&self, images: Vec<&NewImage>, field: &str) -> Result<(), Error> {
        for image in images {
            if let ImageSource::Media(media_id) = &image.source
                && !self.media.exists(media_id).await?
            {
                let field = if field.is_empty() { "media_id".to_owned() } else { format!("{field}.media_id") };
                return Err(FieldViolation::new(field, format!("no uploaded media {media_id}; upload it first")).into());
            }
        }
        Ok(())
    }
}

// === reactions ===

/// Records what svc-inventory announced: each `(variant_id, available, version)` newer than
/// what is stored replaces it, and the products concerned say again whether they are in
/// stock. Runs in the bus handler's transaction.
pub async fn record_stock<C: ConnectionTrait>(
    txn: &C,
    levels: impl IntoIterator<Item = (String, i64, i64)>,
) -> Result<(), DbErr> {
    let mut touched: Vec<String> = Vec::new();
    for (variant_id, available, version) in levels {
        if let Some(product_id) = variants::record_stock(txn, &variant_id, available, version).await?
            && !touched.contains(&product_id)
        {
            touched.push(product_id);
        }
    }
    for product_id in touched {
        if let Some(product) = products::find(txn, &product_id).await? {
            let variants = variants::of_product(txn, &product_id).await?;
            products::summarize(txn, product, &variants).await?;
        }
    }
    Ok(())
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

/// The options of a stored product; options that do not parse are a corrupt row.
pub(crate) fn product_options(product: &products::Model) -> Result<Vec<ProductOption>, Error> {
    product.options().map_err(|error| Error::Internal(format!("product {} has options {error}", product.id)))
}

/// Fails naming the request field when one of `skus` (field, sku) is a variant's already.
/// (The unique index still decides a race; this names the field.)
async fn check_skus_free<C: ConnectionTrait>(txn: &C, skus: &[(String, String)]) -> Result<(), Error> {
    let wanted: Vec<String> = skus.iter().map(|(_, sku)| sku.clone()).collect();
    let taken = variants::with_skus(txn, &wanted).await?;
    match skus.iter().find(|(_, sku)| taken.contains(sku)) {
        Some((field, _)) => Err(Error::SkuTaken { field: field.clone() }),
        None => Ok(()),
    }
}

fn sku_taken_or(error: DbErr, field: &str) -> Error {
    if is_unique_violation(&error) { Error::SkuTaken { field: field.to_owned() } } else { Error::Database(error) }
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
fn product_write_error(error: DbErr, sku_field: &str, category_field: &str) -> Error {
    if is_unique_violation(&error) {
        Error::SkuTaken { field: sku_field.to_owned() }
    } else if is_foreign_key_violation(&error) {
        no_such_category(category_field)
    } else {
        Error::Database(error)
    }
}

fn is_foreign_key_violation(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_)))
}
