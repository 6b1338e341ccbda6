//! svc-order's own background work: the payment deadline. An order whose stock is
//! reserved waits for its payment until the deadline stored with it (set from
//! `MART_PAYMENT_TIMEOUT`); then this sweeper cancels it ([`Commands::expire`]), which
//! releases the stock. The deadline is a column, so a restart loses nothing: the next
//! sweep finds what came due while the service was down. Replicas may sweep at once: the
//! cancellation is conditional on the order still awaiting payment.

use std::time::Duration;

use chrono::Utc;
use mart_platform::{config::Service, telemetry};
use sea_orm::{DatabaseConnection, DbErr};
use tokio::{sync::watch, task::JoinHandle};
use tracing::Instrument as _;

use crate::{commands::Commands, store::orders};

/// How often the sweeper looks for overdue orders.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// The most orders one sweep cancels; the rest wait for the next.
const BATCH: u64 = 100;

/// Starts the sweeper, finding overdue orders in `db` and cancelling them through
/// `commands`, until `shutdown` turns true.
pub fn spawn(db: DatabaseConnection, commands: Commands, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => return,
                _ = ticks.tick() => {}
            }
            match sweep(&db, &commands).await {
                Ok(0) => {}
                Ok(cancelled) => tracing::info!(cancelled, "cancelled orders whose payment did not come in time"),
                Err(error) => tracing::warn!(%error, "the payment deadline sweep failed; retrying"),
            }
        }
    })
}

/// Cancels the orders whose payment deadline has passed, each in its own trace; how many
/// it cancelled.
pub async fn sweep(db: &DatabaseConnection, commands: &Commands) -> Result<usize, DbErr> {
    let mut cancelled = 0;
    for id in orders::overdue(db, Utc::now(), BATCH).await? {
        let span = tracing::info_span!("order.expire", order.id = %id);
        telemetry::new_trace(&span, Service::Order.process_name());
        if commands.expire(&id).instrument(span).await? {
            cancelled += 1;
        }
    }
    Ok(cancelled)
}
