//! What svc-product tells the rest of the shop: ProductCreated, ProductUpdated,
//! ProductArchived, VariantAdded and VariantArchived on `mart.product.events`, each written
//! to the outbox in the transaction that made the change.

use mart_platform::{events::envelope, money::Money, outbox, wire::timestamp};
use mart_proto::{
    common::OptionValue,
    events::{
        NewStock, ProductArchived, ProductCreated, ProductUpdated, VariantAdded, VariantArchived, envelope::Payload,
    },
};
use sea_orm::{ConnectionTrait, DbErr};

use crate::store::{products, variants};

/// A new product, at `price` (its stored price, as parsed), with its variants and their
/// initial stock (`(variant, initial_stock)`), from which svc-inventory creates the stock
/// records. `initial_stock` is the total, for readers from before variants.
pub async fn created<C: ConnectionTrait>(
    txn: &C,
    product: &products::Model,
    price: Money,
    variants: &[(variants::Model, i32)],
) -> Result<(), DbErr> {
    let initial_stock = variants.iter().map(|(_, stock)| *stock).fold(0i32, i32::saturating_add);
    let payload = Payload::ProductCreated(ProductCreated {
        product_id: product.id.clone(),
        sku: product.sku.clone(),
        name: product.name.clone(),
        brand: product.brand.clone(),
        category_id: product.category_id.clone(),
        price: Some(price.to_wire()),
        initial_stock,
        expires_at: product.expires_at.as_ref().map(timestamp),
        variants: variants.iter().map(|(variant, stock)| new_stock(variant, *stock)).collect(),
    });
    outbox::append(txn, &envelope(&product.id, payload)).await
}

/// A product's data changed: the full current values (`price` is its stored price, as
/// parsed), and which fields changed (field mask paths; `variants` and `images` for
/// changes of those).
pub async fn updated<C: ConnectionTrait>(
    txn: &C,
    product: &products::Model,
    price: Money,
    changed: &[&str],
) -> Result<(), DbErr> {
    let payload = Payload::ProductUpdated(ProductUpdated {
        product_id: product.id.clone(),
        sku: product.sku.clone(),
        name: product.name.clone(),
        brand: product.brand.clone(),
        category_id: product.category_id.clone(),
        price: Some(price.to_wire()),
        expires_at: product.expires_at.as_ref().map(timestamp),
        changed_fields: changed.iter().map(|field| (*field).to_owned()).collect(),
    });
    outbox::append(txn, &envelope(&product.id, payload)).await
}

/// A product was archived: no longer listed or orderable.
pub async fn archived<C: ConnectionTrait>(txn: &C, product: &products::Model) -> Result<(), DbErr> {
    let payload =
        Payload::ProductArchived(ProductArchived { product_id: product.id.clone(), sku: product.sku.clone() });
    outbox::append(txn, &envelope(&product.id, payload)).await
}

/// A variant was added to `product_id` with `initial_stock` units on hand.
pub async fn variant_added<C: ConnectionTrait>(
    txn: &C,
    variant: &variants::Model,
    option_values: &[(String, String)],
    initial_stock: i32,
) -> Result<(), DbErr> {
    let payload = Payload::VariantAdded(VariantAdded {
        product_id: variant.product_id.clone(),
        variant: Some(new_stock(variant, initial_stock)),
        option_values: option_values
            .iter()
            .map(|(name, value)| OptionValue { name: name.clone(), value: value.clone() })
            .collect(),
    });
    outbox::append(txn, &envelope(&variant.product_id, payload)).await
}

/// A variant was archived: no longer orderable.
pub async fn variant_archived<C: ConnectionTrait>(txn: &C, variant: &variants::Model) -> Result<(), DbErr> {
    let payload = Payload::VariantArchived(VariantArchived {
        product_id: variant.product_id.clone(),
        variant_id: variant.id.clone(),
        sku: variant.sku.clone(),
    });
    outbox::append(txn, &envelope(&variant.product_id, payload)).await
}

fn new_stock(variant: &variants::Model, initial_stock: i32) -> NewStock {
    NewStock { variant_id: variant.id.clone(), sku: variant.sku.clone(), initial_stock }
}
