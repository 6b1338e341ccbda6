//! Making the provider calls that changes queued: claim the call (a lease, so nobody else
//! makes it meanwhile), ask the provider with no transaction open, then record the answer
//! under the payment's lock in a transaction of its own, with the events it leads to.
//!
//! An unavailable provider (a 5xx, a timeout) is asked again after a wait that doubles
//! from 1 s up to `MART_PAYMENT_RETRY_MAX_INTERVAL`, for `MART_PAYMENT_RETRY_WINDOW` from
//! when the call was queued; the calls of other payments go on meanwhile. A refusal
//! (a 4xx) is final at once. A call given up on is `abandoned`, logged as an error and
//! counted (`mart_provider_calls_total{outcome="abandoned"}`), and what it was for ends
//! visibly: a payment that could not be opened fails (its order is cancelled), a refund
//! that could not be made fails (the money is still with the shop: a human decides).

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use mart_platform::{bus::DatabaseTransaction, db, metrics, retry::Backoff};

use super::{Commands, move_to, provider_of, reload, status_of};
use crate::{
    domain::{Call, NewPayment, PaymentStatus, RefundStatus},
    error::Error,
    events,
    provider::{Checkout, ProviderError, RefundOrder, RemoteState},
    store::{
        calls,
        payments::{self, Change, Model},
        refunds,
    },
};

/// How long a claimed call is its caller's: longer than the longest call (two Stripe
/// calls of at most 10 s each), so a live caller is never overtaken, and a crashed one's
/// call is made again soon after.
pub const LEASE: Duration = Duration::from_secs(60);

/// What the provider answered.
#[derive(Debug)]
enum Answer {
    /// The payment was opened.
    Opened(Checkout),
    /// Where the payment stands after a cancel (or a look).
    Remote(RemoteState),
    /// The refund went through, with the provider's id.
    Refunded(Option<String>),
}

impl Commands {
    /// Makes queued `call` if it is still queued and nobody else claimed it (or it waits
    /// behind an older call of its payment); whether it was made.
    pub async fn make_call(&self, call: &calls::Model) -> Result<bool, Error> {
        if calls::waits_behind(&self.db, call).await? || !calls::claim(&self.db, call, LEASE).await? {
            return Ok(false);
        }
        let kind = call.kind_label();
        let Some(what) = call.call() else {
            self.abandon(call, None, "a call of a kind this version does not know").await?;
            return Ok(true);
        };
        let Some(payment) = payments::by_order(&self.db, &call.order_id).await? else {
            self.abandon(call, None, "its payment is gone").await?;
            return Ok(true);
        };
        let answer = self.ask(&payment, &what).await;
        match answer {
            Ok(answer) => {
                let txn = db::begin_write(&self.db).await?;
                self.record_in(&txn, &what, &payment.order_id, answer, &actor(call)).await?;
                calls::finish(&txn, &call.id, calls::DONE, None).await?;
                txn.commit().await?;
                self.committed();
                metrics::provider_call(kind, "ok");
            }
            Err(Error::Provider(ProviderError::Unavailable(why))) => {
                let waited = Utc::now() - call.queued_at;
                if waited > TimeDelta::from_std(self.retry.window).unwrap_or(TimeDelta::MAX) {
                    let why = format!("the provider stayed unavailable for {}: {why}", humantime(self.retry.window));
                    self.abandon(call, Some((&what, &payment)), &why).await?;
                } else {
                    let backoff = Backoff::new(Duration::from_secs(1), self.retry.max_interval);
                    let attempts = u32::try_from(call.attempts + 1).unwrap_or(u32::MAX);
                    let wait = backoff.after(attempts);
                    let at = Utc::now() + TimeDelta::from_std(wait).unwrap_or(TimeDelta::MAX);
                    tracing::warn!(order_id = call.order_id, kind, attempts, ?wait, %why, "provider unavailable; the call is retried");
                    calls::retry_at(&self.db, &call.id, at, &why).await?;
                    metrics::provider_call(kind, "retry");
                }
            }
            Err(Error::Provider(refused)) => {
                self.abandon(call, Some((&what, &payment)), &refused.to_string()).await?;
            }
            Err(other) => {
                // Our own trouble (the database): the lease runs out and the call is made
                // again; nothing was recorded.
                return Err(other);
            }
        }
        Ok(true)
    }

    /// Asks the provider what `what` needs for `payment`. No transaction is open.
    async fn ask(&self, payment: &Model, what: &Call) -> Result<Answer, Error> {
        let provider = self.providers.get(provider_of(payment)?)?;
        let reference = payment.provider_reference.as_deref();
        Ok(match what {
            Call::Open => {
                let amount = payment.money(payment.amount_minor)?;
                let new = NewPayment { order_id: payment.order_id.clone(), user_id: payment.user_id.clone(), amount };
                Answer::Opened(provider.start(&new).await?)
            }
            Call::Cancel => Answer::Remote(provider.cancel(&payment.order_id, reference).await?),
            Call::Settle { .. } => {
                if provider.state(reference).await? == Some(RemoteState::Succeeded) {
                    Answer::Remote(RemoteState::Succeeded)
                } else {
                    Answer::Remote(provider.cancel(&payment.order_id, reference).await?)
                }
            }
            Call::Refund { refund_id } => {
                let refund = refunds::find(&self.db, refund_id).await?.ok_or(Error::NotFound)?;
                let amount = payment.money(refund.amount_minor)?;
                let order = RefundOrder {
                    order_id: &payment.order_id,
                    refund_id,
                    reference,
                    amount: &amount,
                    reason: refund.reason.as_deref(),
                };
                Answer::Refunded(provider.refund(order).await?)
            }
        })
    }

    /// Records `answer` to `what` for the payment of `order_id`, in `txn`, under its lock.
    async fn record_in(
        &self,
        txn: &DatabaseTransaction,
        what: &Call,
        order_id: &str,
        answer: Answer,
        actor: &str,
    ) -> Result<(), Error> {
        let payment = payments::lock(txn, order_id).await?.ok_or(Error::NotFound)?;
        match (what, answer) {
            (Call::Open, Answer::Opened(checkout)) => {
                if status_of(&payment)? == PaymentStatus::Opening {
                    let secret = checkout.client_secret.as_deref();
                    payments::set_checkout(txn, &payment.id, checkout.reference.as_deref(), secret).await?;
                    move_to(txn, &payment, PaymentStatus::Pending, Change::default(), actor).await?;
                    events::created(txn, &reload(txn, order_id).await?).await?;
                } else {
                    // Cancelled while it was opening: keep only the reference, for the
                    // cancel queued behind this call.
                    payments::set_checkout(txn, &payment.id, checkout.reference.as_deref(), None).await?;
                }
            }
            (Call::Cancel | Call::Settle { .. }, Answer::Remote(RemoteState::Succeeded)) => {
                // The customer paid just before the cancel reached the provider: a
                // pending payment succeeds, a cancelled one's money goes back.
                self.paid(txn, &payment, actor).await?;
            }
            (Call::Settle { reason }, Answer::Remote(_)) => {
                if status_of(&payment)? == PaymentStatus::Pending {
                    let change = Change { reason: Some(reason), reference: None };
                    move_to(txn, &payment, PaymentStatus::Failed, change, actor).await?;
                    events::failed(txn, &payment, reason, false).await?;
                }
            }
            (Call::Cancel, Answer::Remote(_)) => {}
            (Call::Refund { refund_id }, Answer::Refunded(provider_refund_id)) => {
                let row = refunds::find(txn, refund_id).await?.ok_or(Error::NotFound)?;
                self.refund_succeeded(txn, &payment, &row, provider_refund_id.as_deref(), actor).await?;
            }
            (what, answer) => {
                return Err(Error::Corrupt(format!("the answer {answer:?} to {what:?} cannot be")));
            }
        }
        Ok(())
    }

    /// Gives up on `call` for `why`: what it was for ends visibly (see the module docs).
    async fn abandon(&self, call: &calls::Model, about: Option<(&Call, &Model)>, why: &str) -> Result<(), Error> {
        let kind = call.kind_label();
        tracing::error!(order_id = call.order_id, kind, why, "a payment provider call was abandoned: a human looks");
        metrics::provider_call(kind, "abandoned");
        let txn = db::begin_write(&self.db).await?;
        if let Some((what, payment)) = about {
            let payment = payments::lock(&txn, &payment.order_id).await?.ok_or(Error::NotFound)?;
            let actor = actor(call);
            match what {
                Call::Open | Call::Settle { .. }
                    if matches!(status_of(&payment)?, PaymentStatus::Opening | PaymentStatus::Pending) =>
                {
                    let reason = format!("the payment provider: {why}");
                    let change = Change { reason: Some(&reason), reference: None };
                    move_to(&txn, &payment, PaymentStatus::Failed, change, &actor).await?;
                    events::failed(&txn, &payment, &reason, false).await?;
                }
                Call::Refund { refund_id } => {
                    refunds::settle(&txn, refund_id, RefundStatus::Failed, None, Some(why)).await?;
                }
                Call::Open | Call::Settle { .. } | Call::Cancel => {}
            }
        }
        calls::finish(&txn, &call.id, calls::ABANDONED, Some(why)).await?;
        txn.commit().await?;
        self.committed();
        Ok(())
    }
}

/// Who made the change a call's answer records.
fn actor(call: &calls::Model) -> String {
    format!("provider-call:{}", call.id)
}

/// A window as people write it (`24h`).
fn humantime(window: Duration) -> String {
    let secs = window.as_secs();
    match secs {
        s if s % 3600 == 0 && s > 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 && s > 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}
