//! What svc-inventory reacts to: `mart.product.events` (a stock row per new product;
//! archived products stop selling) and `mart.order.events` (reserve on OrderPlaced,
//! release on OrderCancelled / OrderRejected, commit on OrderPaid). Each event is decoded
//! here and handed to its command in [`crate::commands`], in the handler's transaction
//! with the inbox row.

use futures::future::BoxFuture;
use mart_platform::bus::{DatabaseTransaction, Event, Handler, HandlerError};
use mart_proto::events::envelope::Payload;

use crate::commands;

/// The consumer group of svc-inventory.
pub const GROUP: &str = "inventory";

/// The topics it reads.
pub const TOPICS: [&str; 2] = ["mart.product.events", "mart.order.events"];

/// Reacts to product and order events.
#[derive(Debug, Default)]
pub struct Reactions;

impl Handler for Reactions {
    fn handle<'a>(&'a self, txn: &'a DatabaseTransaction, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            match &event.envelope.payload {
                Some(Payload::ProductCreated(created)) => {
                    commands::add_product(txn, &created.product_id, created.initial_stock).await?;
                }
                Some(Payload::ProductArchived(archived)) => commands::stop_selling(txn, &archived.product_id).await?,
                Some(Payload::OrderPlaced(placed)) => {
                    let lines = placed.lines.iter().map(|line| (line.product_id.clone(), line.quantity));
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
