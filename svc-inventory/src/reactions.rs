//! What svc-inventory reacts to: `mart.product.events` (a stock row per new variant, from
//! ProductCreated and VariantAdded; archived variants and products stop selling) and
//! `mart.order.events` (reserve on OrderPlaced, release on OrderCancelled / OrderRejected,
//! commit on OrderPaid). Each event is decoded here and handed to its command in
//! [`crate::commands`], in the handler's transaction with the inbox row.
//!
//! Events written before variants existed name products only: a ProductCreated without
//! variants means the default variant (id = product id), and so does an order line
//! without a variant id.

use futures::future::BoxFuture;
use mart_platform::bus::{DatabaseTransaction, Event, Handler, HandlerError};
use mart_proto::events::envelope::Payload;

use crate::{commands, domain};

/// The consumer group of svc-inventory.
pub const GROUP: &str = mart_platform::events::consumers::INVENTORY.group;

/// The topics it reads.
pub const TOPICS: &[&str] = mart_platform::events::consumers::INVENTORY.topics;

/// Reacts to product and order events.
#[derive(Debug, Default)]
pub struct Reactions;

impl Handler for Reactions {
    fn handle<'a>(&'a self, txn: &'a DatabaseTransaction, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            match &event.envelope.payload {
                Some(Payload::ProductCreated(created)) => {
                    let listed = created.variants.iter().map(|v| (v.variant_id.clone(), v.initial_stock)).collect();
                    let variants = domain::new_product_stock(&created.product_id, created.initial_stock, listed);
                    // A row without an id would be no variant anyone can order: the event is
                    // broken, and no retry mends it.
                    if created.product_id.is_empty() || variants.iter().any(|(id, _)| id.is_empty()) {
                        return Err(HandlerError::permanent("ProductCreated without a product or variant id"));
                    }
                    for (variant_id, initial_stock) in &variants {
                        commands::add_variant(txn, &created.product_id, variant_id, *initial_stock).await?;
                    }
                }
                Some(Payload::VariantAdded(added)) => {
                    let Some(variant) = added.variant.as_ref().filter(|v| !v.variant_id.is_empty()) else {
                        return Err(HandlerError::permanent("VariantAdded without a variant id"));
                    };
                    if added.product_id.is_empty() {
                        return Err(HandlerError::permanent("VariantAdded without a product id"));
                    }
                    commands::add_variant(txn, &added.product_id, &variant.variant_id, variant.initial_stock).await?;
                }
                Some(Payload::ProductArchived(archived)) => commands::stop_selling(txn, &archived.product_id).await?,
                Some(Payload::VariantArchived(archived)) => {
                    commands::stop_selling_variant(txn, &archived.product_id, &archived.variant_id).await?;
                }
                Some(Payload::OrderPlaced(placed)) => {
                    let lines = placed.lines.iter().map(|line| domain::OrderLine {
                        product_id: line.product_id.clone(),
                        variant_id: line.variant_id.clone(),
                        quantity: line.quantity,
                    });
                    commands::reserve(txn, &placed.order_id, lines).await?;
                }
                Some(Payload::OrderPaid(paid)) => commands::commit(txn, &paid.order_id).await?,
                Some(Payload::OrderCancelled(cancelled)) => {
                    commands::release(txn, &cancelled.order_id, "order cancelled").await?;
                }
                Some(Payload::OrderRejected(rejected)) => {
                    commands::release(txn, &rejected.order_id, "order rejected").await?;
                }
                // Everything else on these topics is none of inventory's business.
                _ => {}
            }
            Ok(())
        })
    }
}
