//! svc-payment's own background work. One loop: payments nobody pays, failed once their
//! deadline (`MART_PAYMENT_TIMEOUT` after creation) has passed, announcing PaymentFailed
//! with `expired` so that svc-order cancels the order and its stock is released. `serve`
//! registers it with platform's task runner ([`mart_platform::tasks::Background::every`]),
//! which stops it before the relay, so what it wrote is still shipped.
//!
//! Every replica runs it; the row lock and the status check in
//! [`Commands::expire_in`] let only one of them act on a payment.

use std::time::Duration;

use mart_platform::{
    config::Service,
    tasks::{Round, Stop},
    telemetry,
};
use sea_orm::DatabaseConnection;
use tracing::Instrument as _;

use crate::{commands::Commands, error::Error, store};

/// The loop's name, in its logs.
pub const NAME: &str = "payment.expiry";

/// Payments handled per round: a backlog is worked off over several rounds, never in one
/// long transaction.
const BATCH: u64 = 50;

/// What the expiry rounds need.
#[derive(Clone)]
pub struct Expiry {
    /// The service's database, where the overdue payments are found.
    pub db: DatabaseConnection,
    /// What expires each of them (cancelling at the provider, waking the relay).
    pub commands: Commands,
}

/// The round interval for `timeout`: a quarter of it, between 50 ms and 30 s, so a payment
/// expires at most that late.
pub fn interval_for(timeout: Duration) -> Duration {
    (timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(30))
}

impl Expiry {
    /// Expires the payments overdue now, up to a batch. [`Round::More`] after a full batch
    /// that all expired (more may wait); a payment that could not be expired (its provider
    /// is down) waits for the next interval, so a failing provider is not asked in a loop.
    pub async fn round(self, stop: Stop) -> Result<Round, Error> {
        let now = chrono::Utc::now();
        let overdue = store::payments::overdue(&self.db, now, BATCH).await?;
        let full = overdue.len() as u64 == BATCH;
        let mut all_expired = true;
        for order_id in overdue {
            if stop.is_stopped() {
                return Ok(Round::Idle);
            }
            let span = tracing::info_span!("payment.expire", order.id = %order_id);
            telemetry::new_trace(&span, Service::Payment.process_name());
            async {
                // One payment the provider cannot cancel right now must not hold up the rest.
                if let Err(error) = self.commands.expire(&order_id, now).await {
                    tracing::warn!(%error, order_id, "could not expire an unpaid payment");
                    all_expired = false;
                }
            }
            .instrument(span)
            .await;
        }
        Ok(if full && all_expired { Round::More } else { Round::Idle })
    }
}
