//! CatalogService's messages to and from domain values: each request parsed in one step
//! (every bad field named), each stored row encoded as its proto message. The only place
//! below [`crate::api`] that knows prost types.

use chrono::Utc;
use mart_platform::{
    error::{FieldViolation, Violations},
    fields,
    wire::timestamp,
};
use mart_proto::product as pb;

use crate::{
    commands::{product_price, product_status},
    domain::{
        CategoryChanges, CategoryInput, Moment, NewCategory, NewProduct, ProductChanges, ProductInput, ProductPatch,
        Status as ProductStatus,
    },
    error::Error,
    store::{categories, products},
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
        now: Utc::now(),
    })?)
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
    Ok((id, changes))
}

/// BatchGetProducts' ids: trimmed, blanks and repeats dropped, at most `MAX_BATCH` (100),
/// each an id by the one rule for ids (a bad one is named by its index).
pub fn batch_ids(product_ids: Vec<String>) -> Result<Vec<String>, Error> {
    let mut violations = Violations::new();
    let mut ids: Vec<String> = Vec::with_capacity(product_ids.len());
    for (i, id) in product_ids.iter().enumerate() {
        if id.trim().is_empty() {
            continue;
        }
        if let Some(id) = violations.check(fields::id(&format!("product_ids[{i}]"), id))
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    if ids.len() > MAX_BATCH {
        violations.add("product_ids", format!("at most {MAX_BATCH} ids"));
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

/// A stored product as the API shows it, with `available_stock` when known.
pub fn product(row: &products::Model, available_stock: Option<i32>) -> Result<pb::Product, Error> {
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
        price: Some(product_price(row)?.to_wire()),
        category_id: row.category_id.clone(),
        expires_at: row.expires_at.as_ref().map(timestamp),
        status: status.into(),
        available_stock,
        created_at: Some(timestamp(&row.created_at)),
        updated_at: Some(timestamp(&row.updated_at)),
    })
}
