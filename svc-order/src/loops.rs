//! svc-order's own background work: the payment deadline. An order whose stock is
//! reserved waits for its payment until the deadline stored with it (set from
//! `MART_PAYMENT_TIMEOUT`, and announced, so svc-payment expires the payment at that same
//! instant). This sweeper cancels ([`Commands::expire`]), which releases the stock, a
//! RESERVED order at the deadline — no payment was opened, none can come — and an
//! AWAITING_PAYMENT order only `MART_ORDER_EXPIRY_GRACE` later: svc-payment cancels that
//! payment at the provider at the deadline and its PaymentFailed cancels the order, so the
//! sweep is the backstop for when svc-payment is down. The deadline is a column, so a
//! restart loses nothing: the next sweep finds what came due while the service was down.
//! Replicas may sweep at once: the cancellation looks again under the order's lock.
//!
//! [`serve`](crate::serve) runs [`sweep`] as the loop [`NAME`] of platform's
//! [`Background`](mart_platform::tasks::Background), every [`INTERVAL`]; it stops before
//! the relay's last round, so its cancellations still ship.
//!
//! The second loop, [`RECHECK`], is WatchOrder's safety net ([`crate::watch`]): every
//! `MART_ORDER_WATCH_RECHECK` it looks up when each watched order last changed, a few
//! queries for all of them, and wakes the watchers of those that moved since it last
//! looked (or that it sees for the first time) — changes another replica committed, which
//! this process was not told of.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use chrono::{DateTime, TimeDelta, Utc};
use mart_platform::{
    config::Service,
    tasks::{Round, Stop},
    telemetry,
};
use sea_orm::{DatabaseConnection, DbErr};
use tracing::Instrument as _;

use crate::{commands::Commands, store::orders, watch::OrderChanges};

/// The loop's name, in its logs.
pub const NAME: &str = "order.expiry";

/// How often the sweeper looks for overdue orders.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// The most orders one sweep cancels; a full batch sweeps again at once.
const BATCH: u64 = 100;

/// Cancels the orders in `db` whose payment deadline has passed (and `grace` after it, for
/// an order whose payment exists), through `commands`, each in its own trace, until the
/// service `stop`s. [`Round::More`] when it found a full batch: more may be overdue.
pub async fn sweep(db: &DatabaseConnection, commands: &Commands, grace: Duration, stop: &Stop) -> Result<Round, DbErr> {
    let grace = TimeDelta::from_std(grace).unwrap_or(TimeDelta::MAX);
    let now = Utc::now();
    let overdue = orders::overdue(db, now, grace, BATCH).await?;
    let full = overdue.len() as u64 == BATCH;
    let mut cancelled = 0;
    for id in overdue {
        if stop.is_stopped() {
            break;
        }
        let span = tracing::info_span!("order.expire", order.id = %id);
        telemetry::new_trace(&span, Service::Order.process_name());
        if commands.expire(&id, now, grace).instrument(span).await? {
            cancelled += 1;
        }
    }
    if cancelled > 0 {
        tracing::info!(cancelled, "cancelled orders whose payment did not come in time");
    }
    Ok(if full { Round::More } else { Round::Idle })
}

/// The re-read's name, in its logs.
pub const RECHECK: &str = "order.watch-recheck";

/// How many watched orders one query of the re-read looks up.
const RECHECK_BATCH: usize = 500;

/// When each watched order had last changed at the previous re-read: what the next one
/// compares with. Holds the watched orders only (it is rebuilt each round).
#[derive(Debug, Default)]
pub struct Seen(Mutex<HashMap<String, DateTime<Utc>>>);

/// One round of the re-read: looks up every order watched in `changes` in `db` and
/// notifies those whose `updated_at` is not what `seen` holds (new to it, or changed).
/// A notification for a change the watcher already sent costs it one read, and nothing
/// is sent again.
pub async fn recheck(db: &DatabaseConnection, changes: &OrderChanges, seen: &Seen) -> Result<Round, DbErr> {
    let watched = changes.keys();
    let mut now = HashMap::with_capacity(watched.len());
    for batch in watched.chunks(RECHECK_BATCH) {
        now.extend(orders::versions(db, batch).await?);
    }
    let moved: Vec<String> = {
        let mut seen = seen.0.lock().unwrap_or_else(PoisonError::into_inner);
        let moved = now.iter().filter(|(id, at)| seen.get(*id) != Some(at)).map(|(id, _)| id.clone()).collect();
        *seen = now;
        moved
    };
    for id in &moved {
        changes.notify(id.as_str());
    }
    Ok(Round::Idle)
}
