//! What svc-inventory reacts to and what it tells the shop.
//!
//! It consumes `mart.product.events` (a stock row per new product; archived products stop
//! selling) and `mart.order.events` (reserve on OrderPlaced, release on OrderCancelled /
//! OrderRejected, commit on OrderPaid), and publishes StockReserved,
//! StockReservationFailed, StockReleased, StockCommitted and StockAdjusted through its
//! outbox, in the same transaction as the change. Each reaction runs in the handler's
//! transaction with the inbox row, and is keyed by order id besides: the same event twice,
//! or a second event about the same order, changes nothing.

use futures::future::BoxFuture;
use mart_platform::{
    bus::{DatabaseTransaction, Event, Handler, HandlerError},
    events::envelope,
    outbox,
};
use mart_proto::events::{
    ShortLine, StockAdjusted, StockCommitted, StockLine, StockReleased, StockReservationFailed, StockReserved,
    envelope::Payload,
};
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};

use crate::{
    domain::{self, MovementKind, ReservationState},
    store::{
        movements::{self, Movement},
        reservations, stock,
    },
};

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
                    let initial = i64::from(created.initial_stock.max(0));
                    if stock::create(txn, &created.product_id, initial).await? && initial > 0 {
                        movements::record(
                            txn,
                            Movement {
                                product_id: &created.product_id,
                                kind: MovementKind::Initial,
                                on_hand_delta: initial,
                                reserved_delta: 0,
                                reason: "initial stock",
                                order_id: None,
                                actor_id: None,
                            },
                        )
                        .await?;
                    }
                }
                Some(Payload::ProductArchived(archived)) => stock::stop_selling(txn, &archived.product_id).await?,
                Some(Payload::OrderPlaced(placed)) => {
                    let lines = placed.lines.iter().map(|line| (line.product_id.clone(), line.quantity));
                    reserve(txn, &placed.order_id, lines).await?;
                }
                Some(Payload::OrderPaid(paid)) => commit(txn, &paid.order_id).await?,
                Some(Payload::OrderCancelled(cancelled)) => {
                    release(txn, &cancelled.order_id, "order cancelled").await?;
                }
                Some(Payload::OrderRejected(rejected)) => release(txn, &rejected.order_id, "order rejected").await?,
                // Everything else on these topics is none of inventory's business.
                _ => {}
            }
            Ok(())
        })
    }
}

/// Reserves every line of `order_id` or none. Lines are touched in product-id order, each
/// with a conditional update; the first one short rolls the others back (a savepoint) and
/// the order is rejected with every short line and what was available.
pub async fn reserve(
    txn: &DatabaseTransaction,
    order_id: &str,
    lines: impl IntoIterator<Item = (String, i32)>,
) -> Result<ReservationState, DbErr> {
    let requested: Vec<(String, i32)> = lines.into_iter().collect();
    let plan = domain::plan(requested.iter().cloned());
    // First sight of the order decides; a redelivery (or a cancel that came first) finds
    // the row and changes nothing.
    if !reservations::open(txn, order_id, ReservationState::Reserved).await? {
        return Ok(reservations::state(txn, order_id).await?.unwrap_or(ReservationState::Rejected));
    }

    let reserved = match &plan {
        Some(plan) => {
            let attempt = txn.begin().await?;
            let mut all = true;
            for (product_id, quantity) in plan {
                if !stock::reserve(&attempt, product_id, *quantity).await? {
                    all = false;
                    break;
                }
            }
            if all {
                attempt.commit().await?;
            } else {
                attempt.rollback().await?;
            }
            all
        }
        None => false,
    };

    if reserved {
        let plan = plan.unwrap_or_default();
        for (product_id, quantity) in &plan {
            movements::record(
                txn,
                Movement {
                    product_id,
                    kind: MovementKind::Reservation,
                    on_hand_delta: 0,
                    reserved_delta: *quantity,
                    reason: "order placed",
                    order_id: Some(order_id),
                    actor_id: None,
                },
            )
            .await?;
        }
        reservations::add_lines(txn, order_id, &plan).await?;
        publish(
            txn,
            order_id,
            Payload::StockReserved(StockReserved { order_id: order_id.to_owned(), lines: stock_lines(&plan) }),
        )
        .await?;
        return Ok(ReservationState::Reserved);
    }

    reservations::transition(txn, order_id, ReservationState::Reserved, ReservationState::Rejected).await?;
    let mut short_lines = Vec::new();
    let merged = domain::plan(requested.iter().filter(|(p, q)| !p.is_empty() && *q > 0).cloned()).unwrap_or_default();
    for (product_id, quantity) in &merged {
        let available = match stock::find(txn, product_id).await? {
            Some(level) if level.orderable => level.available(),
            _ => 0,
        };
        if available < *quantity {
            short_lines.push(ShortLine {
                product_id: product_id.clone(),
                requested: clamp(*quantity),
                available: clamp(available),
            });
        }
    }
    // Malformed lines are short by definition.
    for (product_id, quantity) in requested.iter().filter(|(p, q)| p.is_empty() || *q < 1) {
        short_lines.push(ShortLine { product_id: product_id.clone(), requested: *quantity, available: 0 });
    }
    publish(
        txn,
        order_id,
        Payload::StockReservationFailed(StockReservationFailed { order_id: order_id.to_owned(), short_lines }),
    )
    .await?;
    Ok(ReservationState::Rejected)
}

/// Gives an order's units back: reserved ones become available again; sold ones (a paid
/// order cancelled before shipping) go back on hand. Anything else is a no-op.
pub async fn release(txn: &DatabaseTransaction, order_id: &str, why: &str) -> Result<(), DbErr> {
    match reservations::state(txn, order_id).await? {
        None => {
            // Cancelled before the reservation was seen: make sure it never happens.
            reservations::open(txn, order_id, ReservationState::Cancelled).await?;
        }
        Some(ReservationState::Reserved) => {
            if reservations::transition(txn, order_id, ReservationState::Reserved, ReservationState::Released).await? {
                let lines = reservations::lines_of(txn, order_id).await?;
                for (product_id, quantity) in &lines {
                    if !stock::release(txn, product_id, *quantity).await? {
                        return Err(DbErr::Custom(format!("releasing {quantity} of {product_id}: fewer reserved")));
                    }
                    record(txn, product_id, MovementKind::Release, 0, -quantity, why, order_id).await?;
                }
                let lines = stock_lines(&lines);
                let payload = StockReleased { order_id: order_id.to_owned(), lines, reason: why.to_owned() };
                publish(txn, order_id, Payload::StockReleased(payload)).await?;
            }
        }
        Some(ReservationState::Committed) => {
            if reservations::transition(txn, order_id, ReservationState::Committed, ReservationState::Restocked).await?
            {
                let lines = reservations::lines_of(txn, order_id).await?;
                for (product_id, quantity) in &lines {
                    if !stock::adjust(txn, product_id, *quantity).await? {
                        return Err(DbErr::Custom(format!("restocking {quantity} of {product_id}")));
                    }
                    record(txn, product_id, MovementKind::Release, *quantity, 0, why, order_id).await?;
                }
                let lines = stock_lines(&lines);
                let payload = StockReleased { order_id: order_id.to_owned(), lines, reason: why.to_owned() };
                publish(txn, order_id, Payload::StockReleased(payload)).await?;
            }
        }
        Some(
            ReservationState::Rejected
            | ReservationState::Released
            | ReservationState::Restocked
            | ReservationState::Cancelled,
        ) => {}
    }
    Ok(())
}

/// Sells a paid order's reserved units: on hand and reserved both drop.
pub async fn commit(txn: &DatabaseTransaction, order_id: &str) -> Result<(), DbErr> {
    if !reservations::transition(txn, order_id, ReservationState::Reserved, ReservationState::Committed).await? {
        if !matches!(reservations::state(txn, order_id).await?, Some(ReservationState::Committed)) {
            tracing::warn!(order_id, "paid, but its stock is not reserved: nothing to commit");
        }
        return Ok(());
    }
    let lines = reservations::lines_of(txn, order_id).await?;
    for (product_id, quantity) in &lines {
        if !stock::commit(txn, product_id, *quantity).await? {
            return Err(DbErr::Custom(format!("committing {quantity} of {product_id}: fewer reserved")));
        }
        record(txn, product_id, MovementKind::Commit, -quantity, -quantity, "order paid", order_id).await?;
    }
    let payload = StockCommitted { order_id: order_id.to_owned(), lines: stock_lines(&lines) };
    publish(txn, order_id, Payload::StockCommitted(payload)).await
}

/// Announces an admin's change of a product's stock.
pub async fn adjusted<C: ConnectionTrait>(
    db: &C,
    level: &stock::Model,
    delta: i64,
    reason: &str,
    actor_id: &str,
) -> Result<(), DbErr> {
    let payload = StockAdjusted {
        product_id: level.product_id.clone(),
        delta: clamp(delta),
        on_hand: clamp(level.on_hand),
        reserved: clamp(level.reserved),
        available: clamp(level.available()),
        reason: reason.to_owned(),
        actor_id: actor_id.to_owned(),
    };
    outbox::append(db, &envelope(&level.product_id, Payload::StockAdjusted(payload))).await
}

async fn record(
    txn: &DatabaseTransaction,
    product_id: &str,
    kind: MovementKind,
    on_hand_delta: i64,
    reserved_delta: i64,
    reason: &str,
    order_id: &str,
) -> Result<(), DbErr> {
    let movement =
        Movement { product_id, kind, on_hand_delta, reserved_delta, reason, order_id: Some(order_id), actor_id: None };
    movements::record(txn, movement).await.map(drop)
}

async fn publish<C: ConnectionTrait>(db: &C, order_id: &str, payload: Payload) -> Result<(), DbErr> {
    outbox::append(db, &envelope(order_id, payload)).await
}

fn stock_lines(lines: &[(String, i64)]) -> Vec<StockLine> {
    lines
        .iter()
        .map(|(product_id, quantity)| StockLine { product_id: product_id.clone(), quantity: clamp(*quantity) })
        .collect()
}

/// Levels are kept within i32 by the adjustments; saturate rather than wrap if a row says
/// otherwise.
fn clamp(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}
