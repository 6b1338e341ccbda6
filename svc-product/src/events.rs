//! What svc-product tells the rest of the shop: ProductCreated, ProductUpdated and
//! ProductArchived on `mart.product.events`, each written to the outbox in the transaction
//! that made the change. svc-product reacts to no other service's events.

use mart_platform::{events::envelope, money::Money, outbox, wire::timestamp};
use mart_proto::events::{ProductArchived, ProductCreated, ProductUpdated, envelope::Payload};
use sea_orm::{ConnectionTrait, DbErr};

use crate::{domain::ProductField, store::products};

/// A new product, at `price` (its stored price, as parsed); svc-inventory creates its
/// stock record with `initial_stock` from it.
pub async fn created<C: ConnectionTrait>(
    txn: &C,
    product: &products::Model,
    price: Money,
    initial_stock: i32,
) -> Result<(), DbErr> {
    let payload = Payload::ProductCreated(ProductCreated {
        product_id: product.id.clone(),
        sku: product.sku.clone(),
        name: product.name.clone(),
        brand: product.brand.clone(),
        category_id: product.category_id.clone(),
        price: Some(price.to_wire()),
        initial_stock,
        expires_at: product.expires_at.as_ref().map(timestamp),
    });
    outbox::append(txn, &envelope(&product.id, payload)).await
}

/// A product's data changed: the full current values (`price` is its stored price, as
/// parsed), and which fields changed.
pub async fn updated<C: ConnectionTrait>(
    txn: &C,
    product: &products::Model,
    price: Money,
    changed: &[ProductField],
) -> Result<(), DbErr> {
    let payload = Payload::ProductUpdated(ProductUpdated {
        product_id: product.id.clone(),
        sku: product.sku.clone(),
        name: product.name.clone(),
        brand: product.brand.clone(),
        category_id: product.category_id.clone(),
        price: Some(price.to_wire()),
        expires_at: product.expires_at.as_ref().map(timestamp),
        changed_fields: changed.iter().map(|field| field.as_str().to_owned()).collect(),
    });
    outbox::append(txn, &envelope(&product.id, payload)).await
}

/// A product was archived: no longer listed or orderable.
pub async fn archived<C: ConnectionTrait>(txn: &C, product: &products::Model) -> Result<(), DbErr> {
    let payload =
        Payload::ProductArchived(ProductArchived { product_id: product.id.clone(), sku: product.sku.clone() });
    outbox::append(txn, &envelope(&product.id, payload)).await
}
