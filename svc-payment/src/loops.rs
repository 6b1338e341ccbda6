//! svc-payment's own background work, two loops. [`Expiry`]: payments nobody pays, failed
//! once their deadline (the order's, carried by OrderAwaitingPayment) has passed,
//! announcing PaymentFailed with `expired` so that svc-order cancels the order and its
//! stock is released. [`Calls`]: the provider calls changes queued, made after their
//! commit ([`Commands::make_call`]), several at once, so one slow or failing call does not
//! hold up the others. `serve` registers both with platform's task runner
//! ([`mart_platform::tasks::Background::every`]), which stops them before the relay, so
//! what they wrote is still shipped.
//!
//! Every replica runs them; the row lock and the status check in [`Commands::expire`], and
//! the claim of a call, let only one of them act on a payment.

use mart_platform::{
    config::Service,
    tasks::{Round, Stop},
    telemetry,
};
use sea_orm::DatabaseConnection;
use tracing::Instrument as _;

use crate::{commands::Commands, error::Error, store};

/// The expiry loop's name, in its logs.
pub const NAME: &str = "payment.expiry";

/// The provider-call loop's name.
pub const CALLS: &str = "payment.provider-calls";

/// How many provider calls are made at once.
const CALLS_AT_ONCE: usize = 16;

/// How often the provider-call loop looks without being woken (retries come due).
pub const CALLS_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

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

/// How often the expiry loop looks for overdue payments: each payment's deadline is its
/// order's, whatever it is, so at most this late.
pub const EXPIRY_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

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

/// What the provider-call rounds need.
#[derive(Clone)]
pub struct Calls {
    /// The service's database, where the queued calls are found.
    pub db: DatabaseConnection,
    /// What makes each of them.
    pub commands: Commands,
}

impl Calls {
    /// Makes the calls due now, [`CALLS_AT_ONCE`] at a time, up to a batch, each in the
    /// trace of the payment's checkout. [`Round::More`] after a full batch.
    pub async fn round(self, stop: Stop) -> Result<Round, Error> {
        use futures::StreamExt as _;
        let due = store::calls::due(&self.db, chrono::Utc::now(), BATCH).await?;
        let full = due.len() as u64 == BATCH;
        futures::stream::iter(due)
            .for_each_concurrent(CALLS_AT_ONCE, |call| {
                let commands = self.commands.clone();
                let stop = stop.clone();
                async move {
                    if stop.is_stopped() {
                        return;
                    }
                    let span = tracing::info_span!("payment.provider_call", order.id = %call.order_id, call.kind = %call.kind);
                    telemetry::new_trace(&span, Service::Payment.process_name());
                    if let Err(error) = commands.make_call(&call).instrument(span).await {
                        tracing::warn!(%error, order_id = call.order_id, "a provider call failed here; it is made again");
                    }
                }
            })
            .await;
        Ok(if full { Round::More } else { Round::Idle })
    }
}
