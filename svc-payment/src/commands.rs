//! Every change of a payment, whoever asks for it: order events (`reactions`), admins and
//! Stripe's webhook (`api`), and the expiry sweep (`loops`).
//!
//! A move runs in one transaction, which also carries the outbox rows (and the inbox or
//! processed Stripe event id) of the change, so a change and its announcement commit
//! together. `xxx_in` runs in the caller's transaction (the event handler's, which records
//! the event in the inbox); `xxx` opens its own, commits, and wakes the relay.
//!
//! Each move first takes the payment row's lock, then decides from the status it reads:
//! a racing move waits, then sees the outcome and does nothing. Provider calls happen
//! under that lock with idempotency keys, so a rolled-back attempt that is retried asks
//! the provider for the same object again — never a second PaymentIntent or refund.

use std::time::Duration;

use mart_platform::{bus::DatabaseTransaction, db, wake::Waker};
use sea_orm::DatabaseConnection;

use crate::{
    domain::{AdminRefund, ManualConfirmation, NewPayment, PaymentStatus, ProviderKind},
    error::Error,
    events,
    provider::{
        Providers, RefundOrder, RemoteState,
        stripe::webhook::{EventKind, StripeEvent},
    },
    store::{
        closed_orders, history,
        payments::{self, Change, Model, NewRow},
        refunds, stripe_events,
    },
};

/// Why a payment that arrives after its order stopped waiting is given back.
const LATE_PAYMENT: &str = "paid after the order stopped waiting for payment";

/// What every change needs: where it is written, who takes the money, and the relay to
/// wake once it committed.
#[derive(Clone)]
pub struct Commands {
    /// The service's database.
    db: DatabaseConnection,
    /// Who takes the money.
    providers: Providers,
    /// How long a new payment may stay unpaid.
    payment_timeout: Duration,
    /// Nudged after every commit that wrote events.
    relay: Waker,
}

// === impl Commands: in their own transaction ===

impl Commands {
    /// The changes over `db`, paying through `providers`, giving new payments
    /// `payment_timeout`, waking `relay` after each commit.
    pub fn new(db: DatabaseConnection, providers: Providers, payment_timeout: Duration, relay: Waker) -> Self {
        Self { db, providers, payment_timeout, relay }
    }

    /// An admin's word that a manual payment was received; the payment after it.
    pub async fn confirm_manual(&self, confirmation: &ManualConfirmation, actor: &str) -> Result<Model, Error> {
        let txn = db::begin_write(&self.db).await?;
        let payment = self.confirm_manual_in(&txn, confirmation, actor).await?;
        txn.commit().await?;
        self.relay.wake();
        Ok(payment)
    }

    /// An admin's full refund of a succeeded payment; the payment after it.
    pub async fn refund_succeeded(&self, refund: &AdminRefund, actor: &str) -> Result<Model, Error> {
        let txn = db::begin_write(&self.db).await?;
        let payment = self.refund_succeeded_in(&txn, refund, actor).await?;
        txn.commit().await?;
        self.relay.wake();
        Ok(payment)
    }

    /// Acts on a verified Stripe event, once (see [`Self::stripe_event_in`]).
    pub async fn stripe_event(&self, event: &StripeEvent) -> Result<(), Error> {
        let txn = db::begin_write(&self.db).await?;
        self.stripe_event_in(&txn, event).await?;
        txn.commit().await?;
        self.relay.wake();
        Ok(())
    }

    /// Fails the unpaid payment of `order_id` if it is due at `now` (see
    /// [`Self::expire_in`]); its events continue the checkout's trace.
    pub async fn expire(&self, order_id: &str, now: chrono::DateTime<chrono::Utc>) -> Result<(), Error> {
        let txn = db::begin_write(&self.db).await?;
        match self.expire_in(&txn, order_id, now).await {
            Ok(()) => {
                txn.commit().await?;
                self.relay.wake();
                Ok(())
            }
            Err(error) => {
                txn.rollback().await?;
                Err(error)
            }
        }
    }
}

// === impl Commands: in the caller's transaction ===

impl Commands {
    /// Opens the payment of an order that awaits one, with the current provider; nothing if
    /// the order has one already (a redelivered or repeated event), or was cancelled before
    /// (an OrderAwaitingPayment late, or replayed from the DLQ, after its OrderCancelled):
    /// no intent anyone could pay is created for an order that will not ship.
    pub async fn open_in(&self, txn: &DatabaseTransaction, new: &NewPayment, actor: &str) -> Result<(), Error> {
        if payments::by_order(txn, &new.order_id).await?.is_some() {
            return Ok(());
        }
        if closed_orders::is_closed(txn, &new.order_id).await? {
            tracing::warn!(order_id = new.order_id, "a payment asked for an order already cancelled: none opened");
            return Ok(());
        }
        let provider = self.providers.current()?;
        // Asked before the row exists: if this transaction fails, the retry's call carries
        // the same idempotency key and gets the same PaymentIntent back.
        let checkout = provider.start(new).await?;
        let expires_at = chrono::Utc::now() + self.payment_timeout;
        let row = NewRow {
            order_id: &new.order_id,
            user_id: &new.user_id,
            provider: provider.kind(),
            amount_minor: new.amount.amount_minor,
            currency: new.amount.currency.code(),
            provider_reference: checkout.reference,
            client_secret: checkout.client_secret,
            expires_at,
        };
        let Some(payment) = payments::create(txn, row).await? else {
            // Another consumer created it between the check and the insert.
            return Ok(());
        };
        history::record(txn, &payment.id, None, PaymentStatus::Pending, None, actor).await?;
        events::created(txn, &payment).await?;
        Ok(())
    }

    /// An admin's word that a manual payment was received; the payment after it.
    pub async fn confirm_manual_in(
        &self,
        txn: &DatabaseTransaction,
        confirmation: &ManualConfirmation,
        actor: &str,
    ) -> Result<Model, Error> {
        let order_id = confirmation.order_id.as_str();
        let reference = confirmation.reference.as_deref();
        let payment = payments::lock(txn, order_id).await?.ok_or(Error::NotFound)?;
        if provider_of(&payment)? != ProviderKind::Manual {
            return Err(Error::NotManual);
        }
        let status = status_of(&payment)?;
        if status != PaymentStatus::Pending {
            return Err(Error::WrongStatus { expected: PaymentStatus::Pending, actual: status });
        }
        move_to(txn, &payment, PaymentStatus::Succeeded, Change { reason: None, reference }, actor).await?;
        events::succeeded(txn, &payment).await?;
        reload(txn, order_id).await
    }

    /// An admin's full refund of a succeeded payment; the payment after it.
    pub async fn refund_succeeded_in(
        &self,
        txn: &DatabaseTransaction,
        refund: &AdminRefund,
        actor: &str,
    ) -> Result<Model, Error> {
        let order_id = refund.order_id.as_str();
        let payment = payments::lock(txn, order_id).await?.ok_or(Error::NotFound)?;
        let status = status_of(&payment)?;
        if status != PaymentStatus::Succeeded {
            return Err(Error::WrongStatus { expected: PaymentStatus::Succeeded, actual: status });
        }
        self.refund(txn, &payment, refund.reason.as_deref(), actor).await?;
        reload(txn, order_id).await
    }

    /// The order was cancelled: a pending payment is cancelled (at the provider too), a
    /// succeeded one refunded. Anything else has nothing left to undo.
    pub async fn order_cancelled_in(
        &self,
        txn: &DatabaseTransaction,
        order_id: &str,
        reason: &str,
        actor: &str,
    ) -> Result<(), Error> {
        let reason = if reason.trim().is_empty() { "order cancelled" } else { reason.trim() };
        let Some(payment) = payments::lock(txn, order_id).await? else {
            // Cancelled before it awaited payment: no money to deal with, and none to take
            // later — the tombstone keeps a late OrderAwaitingPayment from opening one.
            closed_orders::close(txn, order_id, reason).await?;
            return Ok(());
        };
        match status_of(&payment)? {
            PaymentStatus::Pending => {
                let provider = self.providers.get(provider_of(&payment)?)?;
                let remote = provider.cancel(order_id, payment.provider_reference.as_deref()).await?;
                move_to(
                    txn,
                    &payment,
                    PaymentStatus::Cancelled,
                    Change { reason: Some(reason), reference: None },
                    actor,
                )
                .await?;
                if remote == RemoteState::Succeeded {
                    // The customer paid just before the cancel reached the provider.
                    self.refund(txn, &reload(txn, order_id).await?, Some(LATE_PAYMENT), actor).await?;
                }
            }
            PaymentStatus::Succeeded => self.refund(txn, &payment, Some(reason), actor).await?,
            PaymentStatus::Failed | PaymentStatus::Cancelled | PaymentStatus::Refunded => {}
        }
        Ok(())
    }

    /// The payment of `order_id` was not paid in time: it fails as expired (cancelled at the
    /// provider first, so it cannot be paid after the order gave up on it). Nothing if it is
    /// no longer pending or not yet due (another replica, or the customer, was faster).
    pub async fn expire_in(
        &self,
        txn: &DatabaseTransaction,
        order_id: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), Error> {
        let Some(payment) = payments::lock(txn, order_id).await? else { return Ok(()) };
        let due = payment.expires_at.is_some_and(|at| at <= now);
        if status_of(&payment)? != PaymentStatus::Pending || !due {
            return Ok(());
        }
        let actor = "expiry";
        let provider = self.providers.get(provider_of(&payment)?)?;
        if provider.cancel(order_id, payment.provider_reference.as_deref()).await? == RemoteState::Succeeded {
            // Paid in the last moment; its webhook is on the way. Money in time is money in.
            return self.paid(txn, &payment, actor).await;
        }
        let reason = Some("expired");
        move_to(txn, &payment, PaymentStatus::Failed, Change { reason, reference: None }, actor).await?;
        events::failed(txn, &payment, "expired", true).await
    }

    /// Acts on a verified Stripe event, once: a second delivery of the same event id changes
    /// nothing. Events about PaymentIntents this service did not create are acknowledged.
    pub async fn stripe_event_in(&self, txn: &DatabaseTransaction, event: &StripeEvent) -> Result<(), Error> {
        let kind = match &event.kind {
            EventKind::IntentSucceeded { .. } => "payment_intent.succeeded",
            EventKind::IntentFailed { .. } => "payment_intent.payment_failed",
            EventKind::ChargeRefunded { .. } => "charge.refunded",
            EventKind::Other(kind) => kind.as_str(),
        };
        if !stripe_events::claim(txn, &event.id, kind).await? {
            return Ok(());
        }
        let actor = format!("stripe:{}", event.id);
        match &event.kind {
            EventKind::IntentSucceeded { intent_id } => {
                if let Some(payment) = lock_intent(txn, intent_id).await? {
                    self.paid(txn, &payment, &actor).await?;
                }
            }
            EventKind::IntentFailed { intent_id, reason } => {
                if let Some(payment) = lock_intent(txn, intent_id).await? {
                    self.failed(txn, &payment, reason, &actor).await?;
                }
            }
            EventKind::ChargeRefunded { intent_id, fully } => {
                let Some(payment) = lock_intent(txn, intent_id).await? else { return Ok(()) };
                // Our own refunds arrive here too, after the payment is already refunded; a
                // full refund made in Stripe's dashboard is news. Partial refunds are not
                // something this shop does: leave them to a human.
                if *fully && status_of(&payment)? == PaymentStatus::Succeeded {
                    let reason = Some("refunded in Stripe");
                    move_to(txn, &payment, PaymentStatus::Refunded, Change { reason, reference: None }, &actor).await?;
                    refunds::record(txn, &payment.id, None, payment.amount_minor, &payment.currency, reason).await?;
                    events::refunded(txn, &payment, reason).await?;
                } else if !*fully {
                    tracing::warn!(
                        order_id = payment.order_id,
                        "a partial refund was made in Stripe; nothing recorded"
                    );
                }
            }
            EventKind::Other(kind) => tracing::debug!(kind, "a Stripe event svc-payment does not act on"),
        }
        Ok(())
    }
}

// === impl Commands: the steps the moves share ===

impl Commands {
    /// The money arrived. A pending payment succeeds; one the order no longer waits for
    /// (cancelled, or failed and its order cancelled) is refunded at once: the payment
    /// service is the authority on money and keeps none it should not.
    async fn paid(&self, txn: &DatabaseTransaction, payment: &Model, actor: &str) -> Result<(), Error> {
        match status_of(payment)? {
            PaymentStatus::Pending => {
                move_to(txn, payment, PaymentStatus::Succeeded, Change::default(), actor).await?;
                events::succeeded(txn, payment).await
            }
            PaymentStatus::Failed | PaymentStatus::Cancelled => {
                self.refund(txn, payment, Some(LATE_PAYMENT), actor).await
            }
            PaymentStatus::Succeeded | PaymentStatus::Refunded => Ok(()),
        }
    }

    /// An attempt to pay failed. Only a pending payment can fail; a failure that arrives
    /// after a success is stale and moves nothing backwards. A failed attempt is not final at
    /// Stripe (the customer may have paid since), so the PaymentIntent is asked afresh, then
    /// cancelled so that it cannot be paid after the order gives up on it.
    async fn failed(&self, txn: &DatabaseTransaction, payment: &Model, reason: &str, actor: &str) -> Result<(), Error> {
        if status_of(payment)? != PaymentStatus::Pending {
            return Ok(());
        }
        let provider = self.providers.get(provider_of(payment)?)?;
        let reference = payment.provider_reference.as_deref();
        if provider.state(reference).await? == Some(RemoteState::Succeeded)
            || provider.cancel(&payment.order_id, reference).await? == RemoteState::Succeeded
        {
            return self.paid(txn, payment, actor).await;
        }
        move_to(txn, payment, PaymentStatus::Failed, Change { reason: Some(reason), reference: None }, actor).await?;
        events::failed(txn, payment, reason, false).await
    }

    /// Gives a payment's money back in full: at the provider (one refund per order, by its
    /// idempotency key), then here (one refund row per payment, by its key), announced.
    async fn refund(
        &self,
        txn: &DatabaseTransaction,
        payment: &Model,
        reason: Option<&str>,
        actor: &str,
    ) -> Result<(), Error> {
        let provider = self.providers.get(provider_of(payment)?)?;
        let amount = payment.amount().map_err(|error| Error::Corrupt(format!("payment {}: {error}", payment.id)))?;
        let refund_id = provider
            .refund(RefundOrder {
                order_id: &payment.order_id,
                reference: payment.provider_reference.as_deref(),
                amount: &amount,
                reason,
            })
            .await?;
        move_to(txn, payment, PaymentStatus::Refunded, Change { reason, reference: None }, actor).await?;
        refunds::record(txn, &payment.id, refund_id, payment.amount_minor, &payment.currency, reason).await?;
        events::refunded(txn, payment, reason).await
    }
}

// === the steps that need no provider ===

/// Moves `payment` (locked, and read under the lock) to `to`, with its history row.
async fn move_to(
    txn: &DatabaseTransaction,
    payment: &Model,
    to: PaymentStatus,
    change: Change<'_>,
    actor: &str,
) -> Result<(), Error> {
    let from = status_of(payment)?;
    let reason = change.reason;
    if !payments::transition(txn, &payment.id, to, change).await? {
        return Err(Error::WrongStatus { expected: to, actual: from });
    }
    history::record(txn, &payment.id, Some(from), to, reason, actor).await?;
    Ok(())
}

async fn lock_intent(txn: &DatabaseTransaction, intent_id: &str) -> Result<Option<Model>, Error> {
    match payments::by_intent(txn, intent_id).await? {
        Some(payment) => Ok(payments::lock(txn, &payment.order_id).await?),
        None => {
            tracing::info!(intent_id, "a Stripe event about a PaymentIntent svc-payment did not create");
            Ok(None)
        }
    }
}

async fn reload(txn: &DatabaseTransaction, order_id: &str) -> Result<Model, Error> {
    payments::by_order(txn, order_id).await?.ok_or(Error::NotFound)
}

fn status_of(payment: &Model) -> Result<PaymentStatus, Error> {
    payment.status().ok_or_else(|| Error::Corrupt(format!("payment {} has status {:?}", payment.id, payment.status)))
}

fn provider_of(payment: &Model) -> Result<ProviderKind, Error> {
    payment
        .provider()
        .ok_or_else(|| Error::Corrupt(format!("payment {} has provider {:?}", payment.id, payment.provider)))
}
