//! What svc-product reacts to: `mart.inventory.events`, to know which variants are in
//! stock (the `in_stock` filter and flag of ListProducts). Every stock event carries each
//! variant's available units and stock version after the change; the newest version wins,
//! since reservation events are keyed by order and arrive from several partitions.

use futures::future::BoxFuture;
use mart_platform::bus::{DatabaseTransaction, Event, Handler, HandlerError};
use mart_proto::events::{StockLine, envelope::Payload};

use crate::commands;

/// The consumer group of svc-product.
pub const GROUP: &str = mart_platform::events::consumers::PRODUCT.group;

/// The topics it reads.
pub const TOPICS: &[&str] = mart_platform::events::consumers::PRODUCT.topics;

/// Reacts to stock events.
#[derive(Debug, Default)]
pub struct Reactions;

impl Handler for Reactions {
    fn handle<'a>(&'a self, txn: &'a DatabaseTransaction, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let levels: Vec<(String, i64, i64)> = match &event.envelope.payload {
                Some(Payload::StockReserved(e)) => levels(&e.lines),
                Some(Payload::StockReleased(e)) => levels(&e.lines),
                Some(Payload::StockCommitted(e)) => levels(&e.lines),
                Some(Payload::StockAdjusted(e)) => {
                    vec![(variant_or_product(&e.variant_id, &e.product_id), i64::from(e.available), e.stock_version)]
                }
                // Reservation failures change nothing; the rest is not stock.
                _ => Vec::new(),
            };
            if !levels.is_empty() {
                commands::record_stock(txn, levels).await?;
            }
            Ok(())
        })
    }
}

fn levels(lines: &[StockLine]) -> Vec<(String, i64, i64)> {
    lines
        .iter()
        // An event from before stock versions says nothing about the level.
        .filter(|line| line.stock_version > 0)
        .map(|line| {
            (variant_or_product(&line.variant_id, &line.product_id), i64::from(line.available), line.stock_version)
        })
        .collect()
}

/// A line from before variants means the product's default variant, whose id is the product's.
fn variant_or_product(variant_id: &str, product_id: &str) -> String {
    if variant_id.is_empty() { product_id.to_owned() } else { variant_id.to_owned() }
}
