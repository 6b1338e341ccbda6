//! What svc-order tells the shop and how it reacts.
//!
//! Every status change goes through [`drive`]: the lifecycle table decides whether it may
//! happen, a conditional update applies it, a history row records it, and its event
//! (OrderAwaitingPayment, OrderPaid, OrderRejected, OrderCancelled, OrderShipped,
//! OrderDelivered) goes to the outbox — all in the caller's transaction. PlaceOrder adds
//! OrderPlaced through [`placed`].
//!
//! It consumes `mart.inventory.events` (StockReserved, StockReservationFailed) and
//! `mart.payment.events` (PaymentSucceeded, PaymentFailed, PaymentRefunded) in the group
//! [`GROUP`]. Each reaction runs in the handler's transaction with the inbox row, and every
//! move is conditional on the status it starts from: the same event twice, or an event for
//! an order that has moved on (a payment for a cancelled order), is recorded in the history
//! and changes nothing else — svc-payment refunds such a payment, not svc-order.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures::future::BoxFuture;
use mart_platform::{
    bus::{DatabaseTransaction, Event, Handler, HandlerError},
    events::envelope,
    outbox,
};
use mart_proto::{
    common,
    events::{
        self as ev, OrderAwaitingPayment, OrderCancelled, OrderDelivered, OrderPaid, OrderPlaced, OrderRejected,
        OrderShipped, envelope::Payload,
    },
};
use sea_orm::{ConnectionTrait, DbErr};

use crate::{
    domain::{
        Actor, CancellationSource, Change, IllegalTransition, Money, OrderLine, OrderStatus, ShortLine, lifecycle,
    },
    store::{
        history::{self, Entry},
        orders,
    },
};

/// The consumer group of svc-order.
pub const GROUP: &str = "order";

/// The topics it reads.
pub const TOPICS: [&str; 2] = ["mart.inventory.events", "mart.payment.events"];

/// What came of trying to move an order.
#[derive(Debug)]
pub enum Moved {
    /// The order moved (and the move is recorded and announced).
    Done,
    /// The lifecycle does not allow the move from where the order is.
    Refused(IllegalTransition),
    /// No such order (for this owner).
    NotFound,
}

/// Moves order `id` (only if it belongs to `owner`, when given) by `change`, on behalf of
/// `actor`, in `txn`: checks the lifecycle against the status it reads, applies the change
/// with `WHERE status = <read>`, records it and publishes it. If a concurrent move wins in
/// between, it reads again and decides anew; each lost race means the order moved forward
/// on a lifecycle without cycles, so this ends within as many rounds as there are states.
pub async fn drive(
    txn: &DatabaseTransaction,
    id: &str,
    owner: Option<&str>,
    change: &Change,
    actor: &Actor,
    event_id: Option<&str>,
) -> Result<Moved, DbErr> {
    for _ in 0..OrderStatus::ALL.len() {
        let Some(order) = orders::find(txn, id, owner).await? else {
            return Ok(Moved::NotFound);
        };
        let from = order.status()?;
        if let Err(illegal) = lifecycle::check(from, change) {
            return Ok(Moved::Refused(illegal));
        }
        if !orders::apply(txn, id, from, change, Utc::now()).await? {
            continue;
        }
        if let Change::Rejected { short_lines } = change {
            orders::add_rejected_lines(txn, id, short_lines).await?;
        }
        let note = change.describe();
        let entry = Entry { order_id: id, from: Some(from), to: change.target(), actor, note: &note, event_id };
        history::record(txn, entry).await?;
        outbox::append(txn, &envelope(id, announcement(&order, from, change))).await?;
        return Ok(Moved::Done);
    }
    Err(DbErr::Custom(format!("order {id} kept changing under a transition")))
}

/// Records and announces a new order (OrderPlaced), in the transaction that inserted it.
pub async fn placed<C: ConnectionTrait>(
    db: &C,
    order_id: &str,
    user_id: &str,
    lines: &[OrderLine],
    total: &Money,
) -> Result<(), DbErr> {
    let actor = Actor::Customer(user_id.to_owned());
    let entry =
        Entry { order_id, from: None, to: OrderStatus::Pending, actor: &actor, note: "order placed", event_id: None };
    history::record(db, entry).await?;
    let lines = lines
        .iter()
        .map(|line| ev::OrderLine {
            product_id: line.product_id.clone(),
            sku: line.sku.clone(),
            name: line.name.clone(),
            quantity: i32::try_from(line.quantity).unwrap_or(i32::MAX),
            unit_price: Some(money(&line.unit_price)),
            line_total: Some(money(&line.line_total)),
        })
        .collect();
    let payload =
        OrderPlaced { order_id: order_id.to_owned(), user_id: user_id.to_owned(), lines, total: Some(money(total)) };
    outbox::append(db, &envelope(order_id, Payload::OrderPlaced(payload))).await
}

/// The event of `change` applied to `order` (as it was, in `from`).
fn announcement(order: &orders::Model, from: OrderStatus, change: &Change) -> Payload {
    let order_id = order.id.clone();
    let user_id = order.user_id.clone();
    let total = Some(money(&order.total()));
    match change {
        Change::StockReserved { .. } => {
            Payload::OrderAwaitingPayment(OrderAwaitingPayment { order_id, user_id, total })
        }
        Change::Rejected { short_lines } => Payload::OrderRejected(OrderRejected {
            order_id,
            user_id,
            short_lines: short_lines
                .iter()
                .map(|line| ev::ShortLine {
                    product_id: line.product_id.clone(),
                    requested: line.requested,
                    available: line.available,
                })
                .collect(),
        }),
        Change::Paid { payment_id } => {
            Payload::OrderPaid(OrderPaid { order_id, user_id, payment_id: payment_id.clone(), total })
        }
        Change::Cancelled { source, reason } => Payload::OrderCancelled(OrderCancelled {
            order_id,
            user_id,
            source: cancellation_source(*source).into(),
            reason: reason.clone(),
            was_paid: from == OrderStatus::Paid,
            total,
        }),
        Change::Shipped { carrier, tracking_number } => Payload::OrderShipped(OrderShipped {
            order_id,
            user_id,
            carrier: carrier.clone(),
            tracking_number: tracking_number.clone(),
        }),
        Change::Delivered => Payload::OrderDelivered(OrderDelivered { order_id, user_id }),
    }
}

fn cancellation_source(source: CancellationSource) -> ev::CancellationSource {
    match source {
        CancellationSource::User => ev::CancellationSource::User,
        CancellationSource::Admin => ev::CancellationSource::Admin,
        CancellationSource::PaymentExpired => ev::CancellationSource::PaymentExpired,
        CancellationSource::PaymentFailed => ev::CancellationSource::PaymentFailed,
    }
}

fn money(amount: &Money) -> common::Money {
    common::Money { amount_minor: amount.amount_minor, currency: amount.currency.clone() }
}

// === Reactions ===

/// Reacts to inventory and payment events.
#[derive(Debug)]
pub struct Reactions {
    /// How long an order waits for its payment once its stock is reserved.
    payment_timeout: Duration,
}

impl Reactions {
    /// Reactions giving each reserved order `payment_timeout` to be paid.
    pub fn new(payment_timeout: Duration) -> Self {
        Self { payment_timeout }
    }

    /// When an order whose stock is reserved now must have been paid.
    fn payment_deadline(&self) -> DateTime<Utc> {
        let timeout = TimeDelta::from_std(self.payment_timeout).unwrap_or(TimeDelta::MAX);
        Utc::now().checked_add_signed(timeout).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

impl Handler for Reactions {
    fn handle<'a>(&'a self, txn: &'a DatabaseTransaction, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            match &event.envelope.payload {
                Some(Payload::StockReserved(reserved)) => {
                    let change = Change::StockReserved { payment_deadline: self.payment_deadline() };
                    react(txn, event, &reserved.order_id, Actor::Inventory, change).await?;
                }
                Some(Payload::StockReservationFailed(failed)) => {
                    let short_lines = failed
                        .short_lines
                        .iter()
                        .map(|line| ShortLine {
                            product_id: line.product_id.clone(),
                            requested: line.requested,
                            available: line.available,
                        })
                        .collect();
                    react(txn, event, &failed.order_id, Actor::Inventory, Change::Rejected { short_lines }).await?;
                }
                Some(Payload::PaymentSucceeded(paid)) => {
                    let change = Change::Paid { payment_id: paid.payment_id.clone() };
                    react(txn, event, &paid.order_id, Actor::Payment, change).await?;
                }
                Some(Payload::PaymentFailed(failed)) => {
                    let source = if failed.expired {
                        CancellationSource::PaymentExpired
                    } else {
                        CancellationSource::PaymentFailed
                    };
                    let reason =
                        if failed.reason.is_empty() { "the payment failed".to_owned() } else { failed.reason.clone() };
                    react(txn, event, &failed.order_id, Actor::Payment, Change::Cancelled { source, reason }).await?;
                }
                Some(Payload::PaymentRefunded(refunded)) => {
                    let note = format!(
                        "payment {} refunded: {} {}",
                        refunded.payment_id,
                        refunded.amount.as_ref().map_or(0, |m| m.amount_minor),
                        refunded.amount.as_ref().map_or("", |m| m.currency.as_str()),
                    );
                    remember(txn, event, &refunded.order_id, &Actor::Payment, &note).await?;
                }
                // The rest of these topics (StockReleased, PaymentCreated, …) changes nothing here.
                _ => {}
            }
            Ok(())
        })
    }
}

/// Applies `change` for `event`; an order that has moved past it keeps the event in its
/// history only.
async fn react(
    txn: &DatabaseTransaction,
    event: &Event,
    order_id: &str,
    actor: Actor,
    change: Change,
) -> Result<(), DbErr> {
    match drive(txn, order_id, None, &change, &actor, Some(&event.envelope.id)).await? {
        Moved::Done => Ok(()),
        Moved::NotFound => {
            tracing::warn!(order_id, event.id = %event.envelope.id, r#type = %event.envelope.r#type, "an event about an unknown order");
            Ok(())
        }
        Moved::Refused(illegal) => {
            let note = format!("ignored {}: {illegal}", event.envelope.r#type);
            remember(txn, event, order_id, &actor, &note).await
        }
    }
}

/// Records `event` in the history of `order_id` without moving it.
async fn remember(
    txn: &DatabaseTransaction,
    event: &Event,
    order_id: &str,
    actor: &Actor,
    note: &str,
) -> Result<(), DbErr> {
    let Some(order) = orders::find(txn, order_id, None).await? else {
        tracing::warn!(order_id, event.id = %event.envelope.id, "an event about an unknown order");
        return Ok(());
    };
    let status = order.status()?;
    let entry = Entry { order_id, from: Some(status), to: status, actor, note, event_id: Some(&event.envelope.id) };
    history::record(txn, entry).await
}
