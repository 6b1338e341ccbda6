//! What svc-inventory tells the shop: StockReserved, StockReservationFailed,
//! StockReleased, StockCommitted and StockAdjusted, each appended to the outbox in the
//! transaction of the change it announces (the commands call these).
//! Reservation events are keyed by order id, adjustments by product id. Every line names
//! its variant and carries the variant's available units and stock version after the
//! change: a reader that sees lines of one variant from several partitions keeps the one
//! with the highest version.

use mart_platform::{events::envelope, outbox};
use mart_proto::events::{
    ShortLine, StockAdjusted, StockCommitted, StockLine, StockReleased, StockReservationFailed, StockReserved,
    envelope::Payload,
};
use sea_orm::{ConnectionTrait, DbErr};

use crate::{domain::Shortfall, store::stock};

/// Units of a variant that moved, with the variant's level after the move.
#[derive(Debug)]
pub struct Moved {
    /// Units that moved; at least 1.
    pub quantity: i64,
    /// The variant's level after the move.
    pub level: stock::Model,
}

/// Announces that every line of `order_id` is reserved.
pub async fn reserved<C: ConnectionTrait>(db: &C, order_id: &str, lines: &[Moved]) -> Result<(), DbErr> {
    let payload = StockReserved { order_id: order_id.to_owned(), lines: stock_lines(lines) };
    publish(db, order_id, Payload::StockReserved(payload)).await
}

/// Announces that `order_id` could not be reserved, with every short line.
pub async fn reservation_failed<C: ConnectionTrait>(db: &C, order_id: &str, short: &[Shortfall]) -> Result<(), DbErr> {
    let short_lines = short
        .iter()
        .map(|line| ShortLine {
            product_id: line.product_id.clone(),
            variant_id: line.variant_id.clone(),
            requested: clamp(line.requested),
            available: clamp(line.available),
        })
        .collect();
    let payload = StockReservationFailed { order_id: order_id.to_owned(), short_lines };
    publish(db, order_id, Payload::StockReservationFailed(payload)).await
}

/// Announces that `order_id`'s units were given back, and why.
pub async fn released<C: ConnectionTrait>(db: &C, order_id: &str, lines: &[Moved], reason: &str) -> Result<(), DbErr> {
    let payload = StockReleased { order_id: order_id.to_owned(), lines: stock_lines(lines), reason: reason.to_owned() };
    publish(db, order_id, Payload::StockReleased(payload)).await
}

/// Announces that `order_id`'s reserved units were sold.
pub async fn committed<C: ConnectionTrait>(db: &C, order_id: &str, lines: &[Moved]) -> Result<(), DbErr> {
    let payload = StockCommitted { order_id: order_id.to_owned(), lines: stock_lines(lines) };
    publish(db, order_id, Payload::StockCommitted(payload)).await
}

/// Announces an admin's change of a variant's stock.
pub async fn adjusted<C: ConnectionTrait>(
    db: &C,
    level: &stock::Model,
    delta: i64,
    reason: &str,
    actor_id: &str,
) -> Result<(), DbErr> {
    let payload = StockAdjusted {
        product_id: level.product_id.clone(),
        variant_id: level.variant_id.clone(),
        stock_version: level.version,
        delta: clamp(delta),
        on_hand: clamp(level.on_hand),
        reserved: clamp(level.reserved),
        available: clamp(level.available()),
        reason: reason.to_owned(),
        actor_id: actor_id.to_owned(),
    };
    outbox::append(db, &envelope(&level.product_id, Payload::StockAdjusted(payload))).await
}

async fn publish<C: ConnectionTrait>(db: &C, order_id: &str, payload: Payload) -> Result<(), DbErr> {
    outbox::append(db, &envelope(order_id, payload)).await
}

fn stock_lines(lines: &[Moved]) -> Vec<StockLine> {
    lines
        .iter()
        .map(|Moved { quantity, level }| StockLine {
            product_id: level.product_id.clone(),
            variant_id: level.variant_id.clone(),
            quantity: clamp(*quantity),
            available: clamp(level.available()),
            stock_version: level.version,
        })
        .collect()
}

/// Levels are kept within i32 by the adjustments; saturate rather than wrap if a row says
/// otherwise.
fn clamp(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}
