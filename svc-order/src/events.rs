//! What svc-order tells the shop: each event's payload and its `outbox::append`, in the
//! transaction of the change it announces. PlaceOrder announces OrderPlaced (its lines by
//! variant, with their option values) through [`placed`]; the lifecycle moves announce
//! OrderAwaitingPayment (with the payment deadline), OrderPaid, OrderRejected (short lines
//! by variant), OrderCancelled, OrderShipped or OrderDelivered through [`moved`]. Two
//! moves announce nothing: RESERVED → AWAITING_PAYMENT (the PaymentCreated that made it is
//! svc-payment's own announcement), and the reservation of a free order (it is paid in
//! the same transaction, and OrderPaid says so: there is no payment to open).

use mart_platform::{events::envelope, money::Money, outbox, wire::timestamp};
use mart_proto::{
    common,
    events::{
        self as ev, OrderAwaitingPayment, OrderCancelled, OrderDelivered, OrderPaid, OrderPlaced, OrderRejected,
        OrderShipped, envelope::Payload,
    },
};
use sea_orm::{ConnectionTrait, DbErr};

use crate::{
    domain::{CancellationSource, Change, OptionValue, OrderLine, OrderStatus},
    store::orders,
};

/// Announces a new order (OrderPlaced), in the transaction that inserted it.
pub async fn placed<C: ConnectionTrait>(
    db: &C,
    order_id: &str,
    user_id: &str,
    lines: &[OrderLine],
    total: &Money,
) -> Result<(), DbErr> {
    let lines = lines
        .iter()
        .map(|line| ev::OrderLine {
            product_id: line.product_id.clone(),
            variant_id: line.variant_id.clone(),
            option_values: option_values(&line.option_values),
            sku: line.sku.clone(),
            name: line.name.clone(),
            quantity: i32::try_from(line.quantity).unwrap_or(i32::MAX),
            unit_price: Some(line.unit_price.to_wire()),
            line_total: Some(line.line_total.to_wire()),
        })
        .collect();
    let payload =
        OrderPlaced { order_id: order_id.to_owned(), user_id: user_id.to_owned(), lines, total: Some(total.to_wire()) };
    outbox::append(db, &envelope(order_id, Payload::OrderPlaced(payload))).await
}

/// Announces `change` applied to `order` (as it was, in `from`), in the transaction that
/// applied it — if the change is one the shop hears of.
pub async fn moved<C: ConnectionTrait>(
    db: &C,
    order: &orders::Model,
    from: OrderStatus,
    change: &Change,
) -> Result<(), DbErr> {
    match announcement(order, from, change)? {
        Some(payload) => outbox::append(db, &envelope(&order.id, payload)).await,
        None => Ok(()),
    }
}

/// The event of `change` applied to `order` (as it was, in `from`); none for a move the
/// shop does not need to hear of.
fn announcement(order: &orders::Model, from: OrderStatus, change: &Change) -> Result<Option<Payload>, DbErr> {
    let order_id = order.id.clone();
    let user_id = order.user_id.clone();
    let total = order.total()?;
    let free = total.amount_minor == 0;
    let total = Some(total.to_wire());
    Ok(Some(match change {
        // A free order is paid in this transaction: nothing to open a payment for.
        Change::StockReserved { .. } if free => return Ok(None),
        Change::StockReserved { payment_deadline } => Payload::OrderAwaitingPayment(OrderAwaitingPayment {
            order_id,
            user_id,
            total,
            payment_due_by: Some(timestamp(payment_deadline)),
        }),
        // svc-payment announced it (PaymentCreated); nobody waits for svc-order to repeat it.
        Change::PaymentOpened { .. } => return Ok(None),
        Change::Rejected { short_lines } => Payload::OrderRejected(OrderRejected {
            order_id,
            user_id,
            short_lines: short_lines
                .iter()
                .map(|line| ev::ShortLine {
                    product_id: line.product_id.clone(),
                    variant_id: line.variant_id.clone(),
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
    }))
}

/// Option values as events carry them.
fn option_values(values: &[OptionValue]) -> Vec<common::OptionValue> {
    values.iter().map(|v| common::OptionValue { name: v.name.clone(), value: v.value.clone() }).collect()
}

fn cancellation_source(source: CancellationSource) -> ev::CancellationSource {
    match source {
        CancellationSource::User => ev::CancellationSource::User,
        CancellationSource::Admin => ev::CancellationSource::Admin,
        CancellationSource::PaymentExpired => ev::CancellationSource::PaymentExpired,
        CancellationSource::PaymentFailed => ev::CancellationSource::PaymentFailed,
        CancellationSource::Refunded => ev::CancellationSource::Refunded,
    }
}
