//! What svc-payment reacts to: `mart.order.events`, in the consumer group `payment`.
//! OrderAwaitingPayment opens the order's payment (due at the order's deadline),
//! OrderCancelled cancels an open one or refunds what is left of a succeeded one. Neither
//! calls the provider here: the call is queued in this transaction and made after it
//! commits, so a provider that is down delays it and never fails the event.
//!
//! The handler runs in the transaction that records the event in the inbox, and every
//! move is keyed by order id besides: the same event twice, or a second event about the
//! same order, changes nothing.

use futures::future::BoxFuture;
use mart_platform::bus::{DatabaseTransaction, Event, Handler, HandlerError};
use mart_proto::events::envelope::Payload;

use crate::{
    commands::Commands,
    domain::{self, NewPayment},
};

/// The consumer group of svc-payment.
pub const GROUP: &str = mart_platform::events::consumers::PAYMENT.group;

/// The topics it reads.
pub const TOPICS: &[&str] = mart_platform::events::consumers::PAYMENT.topics;

/// Reacts to order events.
pub struct Reactions {
    /// The changes the events ask for (they know the providers and the payment timeout).
    pub commands: Commands,
}

impl Handler for Reactions {
    fn handle<'a>(&'a self, txn: &'a DatabaseTransaction, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let actor = format!("event:{}", event.envelope.id);
            match &event.envelope.payload {
                Some(Payload::OrderAwaitingPayment(awaiting)) => {
                    let total = awaiting.total.clone().unwrap_or_default();
                    // A free order (a zero price, a discount to zero): svc-order pays it
                    // itself, in the transaction that announced this; nothing to collect.
                    if total.amount_minor == 0 {
                        return Ok(());
                    }
                    // A total nobody can pay is a bug upstream: retrying will not help, the
                    // dead-letter topic is where a human will look.
                    let amount = domain::amount_due(total.amount_minor, &total.currency)
                        .map_err(|why| HandlerError::permanent(format!("order {}: {why}", awaiting.order_id)))?;
                    let new =
                        NewPayment { order_id: awaiting.order_id.clone(), user_id: awaiting.user_id.clone(), amount };
                    // The order's deadline, which svc-order owns: the payment expires then.
                    let due_by = awaiting.payment_due_by.as_ref().and_then(mart_platform::wire::datetime);
                    self.commands.open_in(txn, &new, due_by, &actor).await?;
                }
                Some(Payload::OrderCancelled(cancelled)) => {
                    self.commands.order_cancelled_in(txn, &cancelled.order_id, &cancelled.reason, &actor).await?;
                }
                // Everything else on the topic is none of payment's business.
                _ => {}
            }
            Ok(())
        })
    }
}
