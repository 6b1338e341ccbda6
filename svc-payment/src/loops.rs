//! svc-payment's own background work. One loop: payments nobody pays, failed once their
//! deadline (`MART_PAYMENT_TIMEOUT` after creation) has passed, announcing PaymentFailed
//! with `expired` so that svc-order cancels the order and its stock is released.
//!
//! Every replica runs it; the row lock and the status check in
//! [`Commands::expire_in`] let only one of them act on a payment.

use std::time::Duration;

use mart_platform::{config::Service, telemetry};
use sea_orm::DatabaseConnection;
use tokio::{sync::watch, task::JoinHandle};
use tracing::Instrument as _;

use crate::{commands::Commands, error::Error, store};

/// Payments handled per round: a backlog is worked off over several rounds, never in one
/// long transaction.
const BATCH: u64 = 50;

/// The loop's settings.
pub struct Expiry {
    /// The service's database, where the overdue payments are found.
    pub db: DatabaseConnection,
    /// What expires each of them (cancelling at the provider, waking the relay).
    pub commands: Commands,
    /// How often to look: a fraction of the payment timeout, so a payment expires at most
    /// that late.
    pub interval: Duration,
}

impl Expiry {
    /// The round interval for `timeout`: a quarter of it, between 50 ms and 30 s.
    pub fn interval_for(timeout: Duration) -> Duration {
        (timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(30))
    }

    /// Runs until `stop` turns true.
    pub fn spawn(self, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(self.interval) => {}
                    _ = stop.wait_for(|stopped| *stopped) => return,
                }
                if let Err(error) = self.round().await {
                    tracing::warn!(%error, "expiring unpaid payments failed; trying again next round");
                }
            }
        })
    }

    async fn round(&self) -> Result<(), Error> {
        let now = chrono::Utc::now();
        for order_id in store::payments::overdue(&self.db, now, BATCH).await? {
            let span = tracing::info_span!("payment.expire", order.id = %order_id);
            telemetry::new_trace(&span, Service::Payment.process_name());
            async {
                // One payment the provider cannot cancel right now must not hold up the rest.
                if let Err(error) = self.commands.expire(&order_id, now).await {
                    tracing::warn!(%error, order_id, "could not expire an unpaid payment");
                }
            }
            .instrument(span)
            .await;
        }
        Ok(())
    }
}
