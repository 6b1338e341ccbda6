//! The payment deadline. An order whose stock is reserved waits for its payment until the
//! deadline stored with it (set from `MART_PAYMENT_TIMEOUT`); then this sweeper cancels it,
//! which releases the stock. The deadline is a column, so a restart loses nothing: the
//! next sweep finds what came due while the service was down. Replicas may sweep at once:
//! the cancellation is conditional on the order still awaiting payment.

use std::time::Duration;

use chrono::Utc;
use mart_platform::{config::Service, db, outbox::relay::RelayWaker, telemetry};
use sea_orm::{DatabaseConnection, DbErr};
use tokio::{sync::watch, task::JoinHandle};
use tracing::Instrument as _;

use crate::{
    domain::{Actor, CancellationSource, Change},
    events::{self, Moved},
    store::orders,
};

/// How often the sweeper looks for overdue orders.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// The most orders one sweep cancels; the rest wait for the next.
const BATCH: u64 = 100;

/// Starts the sweeper on `db`, waking `relay` after cancelling, until `shutdown` turns true.
pub fn spawn(db: DatabaseConnection, relay: RelayWaker, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => return,
                _ = ticks.tick() => {}
            }
            match sweep(&db).await {
                Ok(0) => {}
                Ok(cancelled) => {
                    tracing::info!(cancelled, "cancelled orders whose payment did not come in time");
                    relay.wake();
                }
                Err(error) => tracing::warn!(%error, "the payment deadline sweep failed; retrying"),
            }
        }
    })
}

/// Cancels the orders whose payment deadline has passed; how many it cancelled.
pub async fn sweep(db: &DatabaseConnection) -> Result<usize, DbErr> {
    let change = Change::Cancelled {
        source: CancellationSource::PaymentExpired,
        reason: "the payment was not received in time".to_owned(),
    };
    let mut cancelled = 0;
    for id in orders::overdue(db, Utc::now(), BATCH).await? {
        let span = tracing::info_span!("order.expire", order.id = %id);
        telemetry::new_trace(&span, Service::Order.process_name());
        if expire(db, &id, &change).instrument(span).await? {
            cancelled += 1;
        }
    }
    Ok(cancelled)
}

/// Cancels order `id` if it still awaits its payment; whether it did.
async fn expire(db: &DatabaseConnection, id: &str, change: &Change) -> Result<bool, DbErr> {
    let txn = db::begin_write(db).await?;
    match events::drive(&txn, id, None, change, &Actor::PaymentDeadline, None).await? {
        Moved::Done => {
            txn.commit().await?;
            Ok(true)
        }
        // Paid or cancelled since the query: nothing to do.
        Moved::Refused(_) | Moved::NotFound => {
            txn.rollback().await?;
            Ok(false)
        }
    }
}
