//! Every change to svc-inventory's state, whoever asks for it: admins through
//! `api.rs` (adjustments and stock takes of one variant) and the product and order events
//! through `reactions.rs` (a stock row per new variant, archived variants and products stop
//! selling; reserve on OrderPlaced, release on OrderCancelled / OrderRejected, commit on
//! OrderPaid).
//!
//! Each change is store calls, its ledger rows and its announcement ([`crate::events`]) in
//! one transaction. An admin's change is a [`Commands`] method: it opens the transaction
//! (`db::begin_write`, as every writing transaction does), commits and wakes the relay. The
//! moves an event triggers are functions taking the transaction the event handler opened
//! (it also carries the inbox row, and the bus wakes the relay after it). The reservation
//! moves are keyed by order id besides: the same event twice, or a second event about the
//! same order, changes nothing.

use mart_platform::{bus::DatabaseTransaction, db, wake::Waker};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};

use crate::{
    domain::{self, Adjustment, Line, MovementKind, OrderLine, ReservationState, Shortfall, StockTake},
    error::Error,
    events::{self, Moved},
    store::{
        movements::{self, Movement},
        reservations, stock,
    },
};

/// The changes that open their own transaction: what they need besides their arguments.
#[derive(Clone, Debug)]
pub struct Commands {
    db: DatabaseConnection,
    /// Nudged after every commit that wrote events.
    relay: Waker,
}

// === impl Commands ===

impl Commands {
    /// Changes over `db`, waking `relay` after writing events.
    pub fn new(db: DatabaseConnection, relay: Waker) -> Self {
        Self { db, relay }
    }

    /// An admin's receipt or write-off of one variant; the variant's level after it.
    pub async fn adjust(&self, change: &Adjustment, actor_id: &str) -> Result<stock::Model, Error> {
        let Adjustment { product_id, variant_id, delta, reason } = change;
        let txn = db::begin_write(&self.db).await?;
        let variant_id = variant_of(&txn, product_id, variant_id.as_deref()).await?;
        if !stock::adjust(&txn, &variant_id, *delta).await? {
            let level = stock::find(&txn, &variant_id).await?.ok_or(Error::NotFound)?;
            return Err(Error::BelowReserved { reserved: level.reserved });
        }
        let level = record_admin_change(&txn, &variant_id, MovementKind::Adjustment, *delta, reason, actor_id).await?;
        txn.commit().await?;
        self.relay.wake();
        Ok(level)
    }

    /// An admin's count of one variant: on hand becomes what was counted, never below what
    /// is reserved; the variant's level after it.
    pub async fn take_stock(&self, take: &StockTake, actor_id: &str) -> Result<stock::Model, Error> {
        let StockTake { product_id, variant_id, on_hand, reason } = take;
        let txn = db::begin_write(&self.db).await?;
        let variant_id = variant_of(&txn, product_id, variant_id.as_deref()).await?;
        // Hold the row, then read it: nothing can change it between the count and
        // the write.
        if !stock::lock(&txn, &variant_id).await? {
            return Err(Error::NotFound);
        }
        let level = stock::find(&txn, &variant_id).await?.ok_or(Error::NotFound)?;
        let delta = *on_hand - level.on_hand;
        if *on_hand < level.reserved {
            return Err(Error::BelowReserved { reserved: level.reserved });
        }
        if delta != 0 && !stock::adjust(&txn, &variant_id, delta).await? {
            return Err(Error::BelowReserved { reserved: level.reserved });
        }
        let level = record_admin_change(&txn, &variant_id, MovementKind::StockTake, delta, reason, actor_id).await?;
        txn.commit().await?;
        self.relay.wake();
        Ok(level)
    }
}

/// The variant of `product_id` an admin's call is about (a change here, or the ledger
/// read in `api.rs`): the one it names, or the product's only one. A variant's product never changes, so the answer holds for the
/// rest of the transaction (a variant added meanwhile only makes naming one necessary
/// for the next call).
pub async fn variant_of<C: ConnectionTrait>(db: &C, product_id: &str, named: Option<&str>) -> Result<String, Error> {
    let rows = stock::of_product(db, product_id).await?;
    let ids: Vec<&str> = rows.iter().map(|row| row.variant_id.as_str()).collect();
    Ok(domain::choose_variant(&ids, named)?.to_owned())
}

// === in the caller's transaction ===

/// Creates the stock row of a new variant of `product_id` with its initial units (none if
/// negative) and their ledger row; nothing if the row exists (a redelivered ProductCreated
/// or VariantAdded).
pub async fn add_variant(
    txn: &DatabaseTransaction,
    product_id: &str,
    variant_id: &str,
    initial_stock: i32,
) -> Result<(), DbErr> {
    let initial = i64::from(initial_stock.max(0));
    if stock::create(txn, product_id, variant_id, initial).await? && initial > 0 {
        movements::record(
            txn,
            Movement {
                variant_id,
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
    Ok(())
}

/// Stops new reservations of every variant of an archived product; those made already
/// stand.
pub async fn stop_selling(txn: &DatabaseTransaction, product_id: &str) -> Result<(), DbErr> {
    stock::stop_selling_product(txn, product_id).await
}

/// Stops new reservations of an archived variant; those made already stand.
pub async fn stop_selling_variant(txn: &DatabaseTransaction, product_id: &str, variant_id: &str) -> Result<(), DbErr> {
    stock::stop_selling_variant(txn, product_id, variant_id).await
}

/// Reserves every line of `order_id` or none. Lines are merged per variant and touched in
/// variant-id order, each with a conditional update; the first one short rolls the others
/// back (a savepoint) and the order is rejected with every short line and what was
/// available.
pub async fn reserve(
    txn: &DatabaseTransaction,
    order_id: &str,
    lines: impl IntoIterator<Item = OrderLine>,
) -> Result<ReservationState, DbErr> {
    let requested: Vec<OrderLine> = lines.into_iter().collect();
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
            for line in plan {
                if !stock::reserve(&attempt, &line.product_id, &line.variant_id, line.quantity).await? {
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
        let mut moved = Vec::with_capacity(plan.len());
        for line in &plan {
            let level =
                record(txn, line, MovementKind::Reservation, 0, line.quantity, "order placed", order_id).await?;
            moved.push(Moved { quantity: line.quantity, level });
        }
        reservations::add_lines(txn, order_id, &plan).await?;
        events::reserved(txn, order_id, &moved).await?;
        return Ok(ReservationState::Reserved);
    }

    reservations::transition(txn, order_id, ReservationState::Reserved, ReservationState::Rejected).await?;
    let well_formed = |line: &&OrderLine| !line.product_id.is_empty() && line.quantity > 0;
    let merged = domain::plan(requested.iter().filter(well_formed).cloned()).unwrap_or_default();
    let mut short_lines = Vec::new();
    for Line { variant_id, product_id, quantity } in merged {
        let available = match stock::find(txn, &variant_id).await? {
            Some(level) if level.orderable && level.product_id == product_id => level.available(),
            _ => 0,
        };
        if available < quantity {
            short_lines.push(Shortfall { product_id, variant_id, requested: quantity, available });
        }
    }
    // Malformed lines are short by definition.
    for line in requested.iter().filter(|line| !well_formed(line)) {
        short_lines.push(Shortfall {
            product_id: line.product_id.clone(),
            variant_id: domain::default_variant(&line.product_id, &line.variant_id).to_owned(),
            requested: i64::from(line.quantity),
            available: 0,
        });
    }
    events::reservation_failed(txn, order_id, &short_lines).await?;
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
                let mut moved = Vec::with_capacity(lines.len());
                for line in &lines {
                    let Line { variant_id, quantity, .. } = line;
                    if !stock::release(txn, variant_id, *quantity).await? {
                        return Err(DbErr::Custom(format!("releasing {quantity} of {variant_id}: fewer reserved")));
                    }
                    let level = record(txn, line, MovementKind::Release, 0, -quantity, why, order_id).await?;
                    moved.push(Moved { quantity: *quantity, level });
                }
                events::released(txn, order_id, &moved, why).await?;
            }
        }
        Some(ReservationState::Committed) => {
            if reservations::transition(txn, order_id, ReservationState::Committed, ReservationState::Restocked).await?
            {
                let lines = reservations::lines_of(txn, order_id).await?;
                let mut moved = Vec::with_capacity(lines.len());
                for line in &lines {
                    let Line { variant_id, quantity, .. } = line;
                    if !stock::adjust(txn, variant_id, *quantity).await? {
                        return Err(DbErr::Custom(format!("restocking {quantity} of {variant_id}")));
                    }
                    let level = record(txn, line, MovementKind::Release, *quantity, 0, why, order_id).await?;
                    moved.push(Moved { quantity: *quantity, level });
                }
                events::released(txn, order_id, &moved, why).await?;
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

/// Sells a paid order's reserved units: on hand and reserved both drop, per variant.
pub async fn commit(txn: &DatabaseTransaction, order_id: &str) -> Result<(), DbErr> {
    if !reservations::transition(txn, order_id, ReservationState::Reserved, ReservationState::Committed).await? {
        if !matches!(reservations::state(txn, order_id).await?, Some(ReservationState::Committed)) {
            tracing::warn!(order_id, "paid, but its stock is not reserved: nothing to commit");
        }
        return Ok(());
    }
    let lines = reservations::lines_of(txn, order_id).await?;
    let mut moved = Vec::with_capacity(lines.len());
    for line in &lines {
        let Line { variant_id, quantity, .. } = line;
        if !stock::commit(txn, variant_id, *quantity).await? {
            return Err(DbErr::Custom(format!("committing {quantity} of {variant_id}: fewer reserved")));
        }
        let level = record(txn, line, MovementKind::Commit, -quantity, -quantity, "order paid", order_id).await?;
        moved.push(Moved { quantity: *quantity, level });
    }
    events::committed(txn, order_id, &moved).await
}

/// Writes the ledger row and the StockAdjusted event of an admin's change; the level
/// after it.
async fn record_admin_change(
    txn: &DatabaseTransaction,
    variant_id: &str,
    kind: MovementKind,
    delta: i64,
    reason: &str,
    actor_id: &str,
) -> Result<stock::Model, Error> {
    let movement = Movement {
        variant_id,
        kind,
        on_hand_delta: delta,
        reserved_delta: 0,
        reason,
        order_id: None,
        actor_id: Some(actor_id),
    };
    let level = movements::record(txn, movement).await?;
    events::adjusted(txn, &level, delta, reason, actor_id).await?;
    Ok(level)
}

/// Writes the ledger row of an order's move of `line`; the variant's level after it.
async fn record(
    txn: &DatabaseTransaction,
    line: &Line,
    kind: MovementKind,
    on_hand_delta: i64,
    reserved_delta: i64,
    reason: &str,
    order_id: &str,
) -> Result<stock::Model, DbErr> {
    let movement = Movement {
        variant_id: &line.variant_id,
        kind,
        on_hand_delta,
        reserved_delta,
        reason,
        order_id: Some(order_id),
        actor_id: None,
    };
    movements::record(txn, movement).await
}
