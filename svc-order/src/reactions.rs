//! How svc-order reacts to the shop's events.
//!
//! It consumes `mart.inventory.events` (StockReserved, StockReservationFailed) and
//! `mart.payment.events` (PaymentCreated, PaymentSucceeded, PaymentFailed,
//! PaymentRefunded) in the group [`GROUP`]:
//!
//! - StockReserved: PENDING → RESERVED, with the payment deadline (`MART_PAYMENT_TIMEOUT`
//!   from now) stored and announced in OrderAwaitingPayment; a free order on to PAID;
//! - StockReservationFailed: PENDING → REJECTED, keeping the short lines by variant;
//! - PaymentCreated: RESERVED → AWAITING_PAYMENT (the payment exists: pay now);
//! - PaymentSucceeded: RESERVED or AWAITING_PAYMENT → PAID;
//! - PaymentFailed (failed or expired): RESERVED or AWAITING_PAYMENT → CANCELLED;
//! - PaymentRefunded: recorded on the order (`refunded`); in full before shipping, PAID →
//!   CANCELLED (source REFUNDED).
//!
//! A payment event whose money is not the order's is refused to the DLQ (see
//! [`commands::lifecycle`](crate::commands::lifecycle)). Each reaction runs in the
//! handler's transaction with the inbox row, and every move is conditional on the status it
//! starts from: the same event twice, or an event for an order that has moved on (a payment
//! for a cancelled order), is recorded in the history and changes nothing else —
//! svc-payment refunds such a payment, not svc-order.

use std::time::Duration;

use chrono::{DateTime, SubsecRound as _, TimeDelta, Utc};
use futures::future::BoxFuture;
use mart_platform::bus::{DatabaseTransaction, Event, Handler, HandlerError};
use mart_proto::events::envelope::Payload;

use crate::{
    commands::{
        Cause,
        lifecycle::{free_order_paid, paid, payment_opened, react, refunded},
    },
    domain::{Actor, CancellationSource, Change, ShortLine},
    watch::OrderChanges,
};

/// The consumer group of svc-order.
pub const GROUP: &str = mart_platform::events::consumers::ORDER.group;

/// The topics it reads.
pub const TOPICS: &[&str] = mart_platform::events::consumers::ORDER.topics;

/// Reacts to inventory and payment events.
#[derive(Debug)]
pub struct Reactions {
    /// How long an order waits for its payment once its stock is reserved.
    payment_timeout: Duration,
    /// Told, after each event's commit, of the order it was about: its WatchOrder streams.
    changes: OrderChanges,
}

impl Reactions {
    /// Reactions giving each reserved order `payment_timeout` to be paid, telling the
    /// order's watchers through `changes`.
    pub fn new(payment_timeout: Duration, changes: OrderChanges) -> Self {
        Self { payment_timeout, changes }
    }

    /// When an order whose stock is reserved now must have been paid: in whole
    /// microseconds, what both databases store, so the deadline announced and the one
    /// stored are the same instant.
    fn payment_deadline(&self) -> DateTime<Utc> {
        let timeout = TimeDelta::from_std(self.payment_timeout).unwrap_or(TimeDelta::MAX);
        Utc::now().checked_add_signed(timeout).unwrap_or(DateTime::<Utc>::MAX_UTC).trunc_subsecs(6)
    }
}

impl Handler for Reactions {
    fn handle<'a>(&'a self, txn: &'a DatabaseTransaction, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let cause = Cause { event_id: &event.envelope.id, event_type: &event.envelope.r#type };
            match &event.envelope.payload {
                Some(Payload::StockReserved(reserved)) => {
                    let change = Change::StockReserved { payment_deadline: self.payment_deadline() };
                    react(txn, cause, &reserved.order_id, Actor::Inventory, change).await?;
                    // A free order has nothing to pay: it is paid in the same transaction,
                    // so no one ever sees it wait for money (svc-payment opens nothing).
                    free_order_paid(txn, cause, &reserved.order_id).await?;
                }
                Some(Payload::StockReservationFailed(failed)) => {
                    let short_lines = failed.short_lines.iter().map(short_line).collect();
                    react(txn, cause, &failed.order_id, Actor::Inventory, Change::Rejected { short_lines }).await?;
                }
                Some(Payload::PaymentCreated(created)) => {
                    let amount = created.amount.as_ref();
                    payment_opened(txn, cause, &created.order_id, &created.payment_id, &created.user_id, amount)
                        .await?;
                }
                Some(Payload::PaymentSucceeded(succeeded)) => {
                    let amount = succeeded.amount.as_ref();
                    paid(txn, cause, &succeeded.order_id, &succeeded.payment_id, &succeeded.user_id, amount).await?;
                }
                Some(Payload::PaymentFailed(failed)) => {
                    let source = if failed.expired {
                        CancellationSource::PaymentExpired
                    } else {
                        CancellationSource::PaymentFailed
                    };
                    let reason =
                        if failed.reason.is_empty() { "the payment failed".to_owned() } else { failed.reason.clone() };
                    react(txn, cause, &failed.order_id, Actor::Payment, Change::Cancelled { source, reason }).await?;
                }
                Some(Payload::PaymentRefunded(event)) => refunded(txn, cause, event).await?,
                // The rest of these topics (StockReleased, StockCommitted, …) changes nothing here.
                _ => {}
            }
            Ok(())
        })
    }

    /// The event's order may have moved (or had a refund recorded): its watchers read it
    /// again, and send it if it did. After the commit, so they read what the event did.
    fn committed(&self, event: &Event) {
        if let Some(order_id) = order_of(event.envelope.payload.as_ref()) {
            self.changes.notify(order_id);
        }
    }
}

/// The order an event handled here is about.
fn order_of(payload: Option<&Payload>) -> Option<&str> {
    match payload? {
        Payload::StockReserved(event) => Some(&event.order_id),
        Payload::StockReservationFailed(event) => Some(&event.order_id),
        Payload::PaymentCreated(event) => Some(&event.order_id),
        Payload::PaymentSucceeded(event) => Some(&event.order_id),
        Payload::PaymentFailed(event) => Some(&event.order_id),
        Payload::PaymentRefunded(event) => Some(&event.order_id),
        _ => None,
    }
}

/// A line the order could not get, as the event tells it. An event from before variants
/// names none: the line was the product's one (default) variant, whose id is the product's.
fn short_line(line: &mart_proto::events::ShortLine) -> ShortLine {
    let variant_id = if line.variant_id.is_empty() { &line.product_id } else { &line.variant_id };
    ShortLine {
        product_id: line.product_id.clone(),
        variant_id: variant_id.clone(),
        requested: line.requested,
        available: line.available,
    }
}
