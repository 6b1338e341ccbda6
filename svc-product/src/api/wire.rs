//! CatalogService's messages to and from domain values: each request parsed in one step
//! (every bad field named), each stored row encoded as its proto message. The only place
//! below [`crate::api`] that knows prost types.

use std::collections::HashMap;

use chrono::Utc;
use mart_platform::{
    error::{FieldViolation, Violations},
    fields,
    money::Money,
    wire::timestamp,
};
use mart_proto::{common::OptionValue, product as pb};

use crate::{
    commands::{product_options, product_price, product_status},
    domain::{
        CategoryChanges, CategoryInput, Moment, NewCategory, NewImage, NewProduct, ProductChanges, ProductInput,
        ProductPatch, Status as ProductStatus, VariantChanges, VariantInput, VariantPatch, VariantStatus,
        variant::{self, title},
    },
    error::Error,
    store::{Facets, categories, images, products, records::ProductRecord, variants},
};

/// The most ids one BatchGetProducts call may ask for.
const MAX_BATCH: usize = 100;

// === requests ===

/// CreateCategory's new category.
pub fn new_category(request: pb::CreateCategoryRequest) -> Result<NewCategory, Error> {
    Ok(NewCategory::try_from(CategoryInput { name: request.name, description: request.description })?)
}

/// UpdateCategory's category id and changes.
pub fn category_update(request: &pb::UpdateCategoryRequest) -> Result<(String, CategoryChanges), Error> {
    let mut violations = Violations::new();
    let id = violations.check(fields::id("category_id", &request.category_id));
    let changes = match CategoryChanges::parse(request.name.as_deref(), request.description.as_deref()) {
        Ok(changes) => changes,
        Err(bad) => {
            add_all(&mut violations, bad);
            CategoryChanges::default()
        }
    };
    violations.finish()?;
    Ok((id.unwrap_or_default(), changes))
}

/// CreateProduct's new product.
pub fn new_product(request: pb::CreateProductRequest) -> Result<NewProduct, Error> {
    Ok(NewProduct::try_from(ProductInput {
        sku: request.sku,
        name: request.name,
        description: request.description,
        brand: request.brand,
        price: request.price.map(|p| (p.amount_minor, p.currency)),
        category_id: request.category_id,
        expires_at: request.expires_at.map(moment),
        initial_stock: request.initial_stock,
        options: request.options.into_iter().map(|o| (o.name, o.values)).collect(),
        variants: request.variants.into_iter().map(variant_input).collect(),
        images: request.images.into_iter().map(image_input).collect(),
        now: Utc::now(),
    })?)
}

/// A requested variant, before it is checked against its product's options.
pub fn variant_input(variant: pb::NewVariant) -> VariantInput {
    VariantInput {
        sku: variant.sku,
        option_values: variant.option_values.into_iter().map(|v| (v.name, v.value)).collect(),
        price: variant.price.map(|p| (p.amount_minor, p.currency)),
        initial_stock: variant.initial_stock,
        image: variant.image.map(image_input),
    }
}

fn image_input(image: pb::NewProductImage) -> variant::ImageInput {
    (image.media_id, image.url, image.alt)
}

/// AddVariant's product id and variant (checked against the product's options by the
/// command).
pub fn add_variant(request: pb::AddVariantRequest) -> Result<(String, VariantInput), Error> {
    let id = fields::id("product_id", &request.product_id)?;
    let Some(variant) = request.variant else {
        return Err(FieldViolation::new("variant", "required").into());
    };
    Ok((id, variant_input(variant)))
}

/// UpdateVariant's product id, variant id and changes.
pub fn variant_update(request: pb::UpdateVariantRequest) -> Result<(String, String, VariantChanges), Error> {
    let mut violations = Violations::new();
    let id = violations.check(fields::id("product_id", &request.product_id));
    let variant_id = violations.check(fields::id("variant_id", &request.variant_id));
    let values = request.variant.unwrap_or_default();
    let patch = VariantPatch {
        mask: request.update_mask.map(|mask| mask.paths).unwrap_or_default(),
        sku: values.sku,
        price: values.price.map(|p| (p.amount_minor, p.currency)),
        image_id: values.image_id,
        archived: match pb::VariantStatus::try_from(values.status) {
            Ok(pb::VariantStatus::Archived) => Some(true),
            Ok(pb::VariantStatus::Active) => Some(false),
            _ => None,
        },
    };
    let changes = match VariantChanges::try_from(patch) {
        Ok(changes) => Some(changes),
        Err(bad) => {
            add_all(&mut violations, bad);
            None
        }
    };
    violations.finish()?;
    match (id, variant_id, changes) {
        (Some(id), Some(variant_id), Some(changes)) => Ok((id, variant_id, changes)),
        _ => Err(Error::Internal("validated variant update fields missing".into())),
    }
}

/// AddProductImage's product id, image, variant and position.
pub fn add_image(
    request: pb::AddProductImageRequest,
) -> Result<(String, NewImage, Option<String>, Option<i32>), Error> {
    let mut violations = Violations::new();
    let id = violations.check(fields::id("product_id", &request.product_id));
    let image = match variant::image("", &(request.media_id, request.url, request.alt)) {
        Ok(image) => Some(image),
        Err(bad) => {
            add_all(&mut violations, bad);
            None
        }
    };
    let variant_id = violations.check(fields::optional_id("variant_id", &request.variant_id)).flatten();
    if request.position.is_some_and(|p| p < 0) {
        violations.add("position", "must not be negative");
    }
    violations.finish()?;
    match (id, image) {
        (Some(id), Some(image)) => Ok((id, image, variant_id, request.position)),
        _ => Err(Error::Internal("validated image fields missing".into())),
    }
}

/// UpdateProduct's product id and the changes its mask names.
pub fn product_update(request: pb::UpdateProductRequest) -> Result<(String, ProductChanges), Error> {
    let mut violations = Violations::new();
    let id = violations.check(fields::id("product_id", &request.product_id));
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
            now: Utc::now(),
            ..ProductInput::default()
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
    Ok((id, changes))
}

/// BatchGetProducts' ids: trimmed, blanks and repeats dropped, at most `MAX_BATCH` (100),
/// each an id by the one rule for ids (a bad one is named by its index).
pub fn batch_ids(product_ids: Vec<String>) -> Result<Vec<String>, Error> {
    ids("product_ids", product_ids)
}

/// Ids of a batch request named `field`: trimmed, blanks and repeats dropped, at most
/// `MAX_BATCH`.
pub fn ids(field: &str, product_ids: Vec<String>) -> Result<Vec<String>, Error> {
    let mut violations = Violations::new();
    let mut ids: Vec<String> = Vec::with_capacity(product_ids.len());
    for (i, id) in product_ids.iter().enumerate() {
        if id.trim().is_empty() {
            continue;
        }
        if let Some(id) = violations.check(fields::id(&format!("{field}[{i}]"), id))
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    if ids.len() > MAX_BATCH {
        violations.add(field, format!("at most {MAX_BATCH} ids"));
    }
    violations.finish()?;
    Ok(ids)
}

/// Adds every violation of `bad` to `violations`, in order.
pub fn add_all(violations: &mut Violations, bad: Vec<FieldViolation>) {
    for violation in bad {
        violations.add(violation.field, violation.description);
    }
}

fn moment(at: prost_types::Timestamp) -> Moment {
    (at.seconds, at.nanos)
}

// === answers ===

/// A stored category as the API shows it.
pub fn category(row: &categories::Model) -> pb::Category {
    pb::Category {
        id: row.id.clone(),
        name: row.name.clone(),
        description: row.description.clone(),
        created_at: Some(timestamp(&row.created_at)),
        updated_at: Some(timestamp(&row.updated_at)),
    }
}

/// A stored product as the API shows it, with its variants and images, each variant's
/// `available_stock` from `stock` when known and the product's total.
pub fn product(record: &ProductRecord, stock: Option<&HashMap<String, i32>>) -> Result<pb::Product, Error> {
    let price = product_price(&record.product)?;
    let variants = record
        .variants
        .iter()
        .map(|v| variant(v, price, &record.images, stock.map(|s| s.get(&v.id).copied().unwrap_or(0))))
        .collect::<Result<Vec<_>, _>>()?;
    let available_stock = stock.map(|stock| {
        record
            .variants
            .iter()
            .filter(|v| v.is_active())
            .map(|v| stock.get(&v.id).copied().unwrap_or(0))
            .fold(0i32, i32::saturating_add)
    });
    let mut product = listed(&record.product, &record.images)?;
    product.variants = variants;
    product.available_stock = available_stock;
    Ok(product)
}

/// A stored product as lists show it: no variants, no stock figure; the price range,
/// `in_stock` and the images.
pub fn listed(row: &products::Model, images: &[images::Model]) -> Result<pb::Product, Error> {
    let status = match product_status(row)? {
        ProductStatus::Active => pb::ProductStatus::Active,
        ProductStatus::Archived => pb::ProductStatus::Archived,
    };
    let price = product_price(row)?;
    let at = |amount_minor| Money { amount_minor, ..price }.to_wire();
    Ok(pb::Product {
        id: row.id.clone(),
        sku: row.sku.clone(),
        name: row.name.clone(),
        description: row.description.clone(),
        brand: row.brand.clone(),
        price: Some(price.to_wire()),
        category_id: row.category_id.clone(),
        expires_at: row.expires_at.as_ref().map(timestamp),
        status: status.into(),
        available_stock: None,
        created_at: Some(timestamp(&row.created_at)),
        updated_at: Some(timestamp(&row.updated_at)),
        options: product_options(row)?
            .into_iter()
            .map(|o| pb::ProductOption { name: o.name, values: o.values })
            .collect(),
        variants: Vec::new(),
        images: images.iter().map(image).collect(),
        price_range: Some(pb::PriceRange { min: Some(at(row.price_min)), max: Some(at(row.price_max)) }),
        in_stock: row.in_stock,
    })
}

/// A stored variant of a product priced `product_price` with `images`.
pub fn variant(
    row: &variants::Model,
    product_price: Money,
    images: &[images::Model],
    available_stock: Option<i32>,
) -> Result<pb::Variant, Error> {
    let values = variant_values(row)?;
    let status = match VariantStatus::parse(&row.status) {
        Some(VariantStatus::Active) => pb::VariantStatus::Active,
        Some(VariantStatus::Archived) => pb::VariantStatus::Archived,
        None => return Err(Error::Internal(format!("variant {} has status {:?}", row.id, row.status))),
    };
    let image_url = row
        .image_id
        .as_ref()
        .and_then(|id| images.iter().find(|i| &i.id == id))
        .map(images::Model::href)
        .unwrap_or_default();
    Ok(pb::Variant {
        id: row.id.clone(),
        sku: row.sku.clone(),
        title: title(&values),
        option_values: values.into_iter().map(|(name, value)| OptionValue { name, value }).collect(),
        price: row.price_minor.map(|amount_minor| Money { amount_minor, ..product_price }.to_wire()),
        unit_price: Some(row.unit_price(product_price).to_wire()),
        status: status.into(),
        image_id: row.image_id.clone().unwrap_or_default(),
        image_url,
        available_stock,
    })
}

/// The option values of a stored variant; ones that do not parse are a corrupt row.
pub fn variant_values(row: &variants::Model) -> Result<Vec<(String, String)>, Error> {
    row.values().map_err(|error| Error::Internal(format!("variant {} has option values {error}", row.id)))
}

/// A stored image.
pub fn image(row: &images::Model) -> pb::ProductImage {
    pb::ProductImage {
        id: row.id.clone(),
        media_id: row.media_id.clone().unwrap_or_default(),
        url: row.href(),
        alt: row.alt.clone(),
        variant_id: row.variant_id.clone().unwrap_or_default(),
        position: row.position,
    }
}

/// What svc-order needs of `record`'s variant `variant_id`, asked for as `requested_id`.
pub fn variant_details(
    record: &ProductRecord,
    variant_id: &str,
    requested_id: &str,
) -> Result<pb::VariantDetails, Error> {
    let row = record.variant(variant_id).ok_or(Error::NotFound("variant"))?;
    let mut variant = variant(row, product_price(&record.product)?, &record.images, None)?;
    if variant.image_url.is_empty()
        && let Some(first) = record.images.first()
    {
        variant.image_url = first.href();
    }
    Ok(pb::VariantDetails {
        requested_id: requested_id.to_owned(),
        product_id: record.product.id.clone(),
        product_name: record.product.name.clone(),
        orderable: row.is_active() && product_status(&record.product)? == ProductStatus::Active,
        variant: Some(variant),
    })
}

/// ListProducts' facet counts.
pub fn facets(facets: Facets) -> pb::Facets {
    let count = |(value, label, count): (String, String, i64)| pb::FacetCount {
        value,
        label,
        count: i32::try_from(count).unwrap_or(i32::MAX),
    };
    pb::Facets {
        categories: facets.categories.into_iter().map(count).collect(),
        brands: facets.brands.into_iter().map(count).collect(),
        options: facets
            .options
            .into_iter()
            .map(|(name, values)| pb::OptionFacet { name, values: values.into_iter().map(count).collect() })
            .collect(),
    }
}
