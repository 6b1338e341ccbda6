//! Every change of a payment, whoever asks for it: order events (`reactions`), admins and
//! Stripe's webhook (`api`), the expiry sweep and the provider-call worker (`loops`).
//!
//! A move runs in one transaction, which also carries the outbox rows (and the inbox or
//! processed Stripe event id) of the change, so a change and its announcement commit
//! together. `xxx_in` runs in the caller's transaction (the event handler's, which records
//! the event in the inbox); `xxx` opens its own, commits, and wakes the relay.
//!
//! Each move first takes the payment row's lock, then decides from the status it reads:
//! a racing move waits, then sees the outcome and does nothing. **No remote provider is
//! called under that lock or inside any transaction**: a move that needs Stripe records
//! what it needs (a payment OPENING, a refund PENDING) and queues the call
//! ([`crate::store::calls`]) in its own transaction; [`calls`] makes it after the commit
//! and records the answer in a transaction of its own (record intent → call → record
//! result). A provider that is down delays the call, with backoff, for
//! `MART_PAYMENT_RETRY_WINDOW`; it never fails the event or holds a lock. Every call
//! carries an idempotency key, so a call made twice (a crash between the call and its
//! record) asks the provider for the same object again — never a second PaymentIntent or
//! refund. The manual provider answers without I/O: its calls are made in the move's own
//! transaction.

use std::time::Duration;

use mart_platform::{bus::DatabaseTransaction, db, wake::Waker};
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::{
    domain::{
        self, AdminRefund, Call, ManualConfirmation, NewPayment, PaymentStatus, ProviderKind, RefundLine, RefundStatus,
    },
    error::Error,
    events,
    provider::{
        Providers, RefundOrder, RemoteState,
        stripe::webhook::{EventKind, StripeEvent},
    },
    store::{
        calls as call_queue, closed_orders, history,
        payments::{self, Change, Model, NewRow},
        refunds::{self, NewRefund},
        stripe_events,
    },
};

pub mod calls;

/// Why a payment that arrives after its order stopped waiting is given back.
const LATE_PAYMENT: &str = "paid after the order stopped waiting for payment";

/// The refunds that count against what may still be given back: the money of a pending
/// one is promised.
const COUNTED: [RefundStatus; 2] = [RefundStatus::Pending, RefundStatus::Succeeded];

/// How patient the provider-call worker is.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    /// How long a call that finds the provider unavailable is tried again.
    pub window: Duration,
    /// The longest wait between two tries.
    pub max_interval: Duration,
}

/// What every change needs: where it is written, who takes the money, and the loops to
/// wake once it committed.
#[derive(Clone)]
pub struct Commands {
    /// The service's database.
    db: DatabaseConnection,
    /// Who takes the money.
    providers: Providers,
    /// How long a new payment may stay unpaid when its order event carries no deadline.
    payment_timeout: Duration,
    /// How provider calls are retried.
    retry: Retry,
    /// Nudged after every commit that wrote events.
    relay: Waker,
    /// Nudged after every commit that may have queued a provider call.
    calls: Waker,
}

/// A refund as an admin asked for it, with the payment after it.
#[derive(Debug)]
pub struct Refunded {
    /// The payment.
    pub payment: Model,
    /// The refund: succeeded, or pending while the provider is unavailable.
    pub refund: refunds::Model,
}

// === impl Commands: in their own transaction ===

impl Commands {
    /// The changes over `db`, paying through `providers`, giving new payments without a
    /// deadline `payment_timeout`, retrying provider calls as `retry` says, waking `relay`
    /// after each commit and `calls` (the provider-call worker) when it has work.
    pub fn new(
        db: DatabaseConnection,
        providers: Providers,
        payment_timeout: Duration,
        retry: Retry,
        relay: Waker,
        calls: Waker,
    ) -> Self {
        Self { db, providers, payment_timeout, retry, relay, calls }
    }

    /// Wakes the loops after a commit.
    fn committed(&self) {
        self.relay.wake();
        self.calls.wake();
    }

    /// An admin's word that a manual payment was received; the payment after it.
    pub async fn confirm_manual(&self, confirmation: &ManualConfirmation, actor: &str) -> Result<Model, Error> {
        let txn = db::begin_write(&self.db).await?;
        let payment = self.confirm_manual_in(&txn, confirmation, actor).await?;
        txn.commit().await?;
        self.committed();
        Ok(payment)
    }

    /// An admin's refund of a succeeded payment, all that is left or part of it. Recorded
    /// first, under the payment's lock (so concurrent refunds never add up to more than
    /// was captured), then asked of the provider after the commit: a provider that does
    /// not answer leaves the refund pending, retried by the worker.
    pub async fn refund(&self, refund: &AdminRefund, actor: &str) -> Result<Refunded, Error> {
        let txn = db::begin_write(&self.db).await?;
        let (row, call) = self.refund_in(&txn, refund, actor).await?;
        txn.commit().await?;
        self.relay.wake();
        if let Some(call) = call {
            // Asked now, so the admin usually sees the outcome; if this fails, the worker
            // makes the call again later.
            if let Err(error) = self.make_call(&call).await {
                tracing::warn!(%error, order_id = refund.order_id, "a refund could not be made yet; it is retried");
            }
        }
        let payment = reload(&self.db, &refund.order_id).await?;
        let refund = refunds::find(&self.db, &row.id).await?.ok_or(Error::NotFound)?;
        Ok(Refunded { payment, refund })
    }

    /// Acts on a verified Stripe event, once (see [`Self::stripe_event_in`]).
    pub async fn stripe_event(&self, event: &StripeEvent) -> Result<(), Error> {
        let txn = db::begin_write(&self.db).await?;
        self.stripe_event_in(&txn, event).await?;
        txn.commit().await?;
        self.committed();
        Ok(())
    }

    /// Fails the unpaid payment of `order_id` if it is due at `now`: cancelled at the
    /// provider first (outside any transaction), so it cannot be paid after its order gave
    /// up on it; then, under the lock, failed as expired — or, if the customer paid in the
    /// last moment, succeeded (money in time is money in). Nothing if it is no longer
    /// pending or not yet due (another replica, or the customer, was faster).
    pub async fn expire(&self, order_id: &str, now: chrono::DateTime<chrono::Utc>) -> Result<(), Error> {
        let Some(payment) = payments::by_order(&self.db, order_id).await? else { return Ok(()) };
        if !is_due(&payment, now)? {
            return Ok(());
        }
        let provider = self.providers.get(provider_of(&payment)?)?;
        let remote = provider.cancel(order_id, payment.provider_reference.as_deref()).await?;
        let txn = db::begin_write(&self.db).await?;
        let Some(payment) = payments::lock(&txn, order_id).await? else { return Ok(()) };
        if !is_due(&payment, now)? {
            return Ok(());
        }
        let actor = "expiry";
        if remote == RemoteState::Succeeded {
            self.paid(&txn, &payment, actor).await?;
        } else {
            let reason = Some("expired");
            move_to(&txn, &payment, PaymentStatus::Failed, Change { reason, reference: None }, actor).await?;
            events::failed(&txn, &payment, "expired", true).await?;
        }
        txn.commit().await?;
        self.committed();
        Ok(())
    }
}

// === impl Commands: in the caller's transaction ===

impl Commands {
    /// Opens the payment of an order that awaits one, with the current provider, due at
    /// `due_by` (the order's deadline; `MART_PAYMENT_TIMEOUT` from now when the event has
    /// none). Nothing if the order has one already (a redelivered or repeated event), or
    /// was cancelled before (an OrderAwaitingPayment late, or replayed from the DLQ, after
    /// its OrderCancelled): no intent anyone could pay is created for an order that will
    /// not ship. With Stripe the payment is OPENING until the PaymentIntent exists (the
    /// worker creates it after this commits); PaymentCreated says when it is payable.
    pub async fn open_in(
        &self,
        txn: &DatabaseTransaction,
        new: &NewPayment,
        due_by: Option<chrono::DateTime<chrono::Utc>>,
        actor: &str,
    ) -> Result<(), Error> {
        if payments::by_order(txn, &new.order_id).await?.is_some() {
            return Ok(());
        }
        if closed_orders::is_closed(txn, &new.order_id).await? {
            tracing::warn!(order_id = new.order_id, "a payment asked for an order already cancelled: none opened");
            return Ok(());
        }
        let provider = self.providers.current()?;
        let expires_at = due_by.unwrap_or_else(|| chrono::Utc::now() + self.payment_timeout);
        let local = provider.local();
        let checkout = if local { provider.start(new).await? } else { Default::default() };
        let status = if local { PaymentStatus::Pending } else { PaymentStatus::Opening };
        let row = NewRow {
            order_id: &new.order_id,
            user_id: &new.user_id,
            provider: provider.kind(),
            status,
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
        history::record(txn, &payment.id, None, status, None, actor).await?;
        if local {
            events::created(txn, &payment).await
        } else {
            call_queue::queue(txn, &payment.id, &payment.order_id, &Call::Open).await.map(drop).map_err(Error::from)
        }
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

    /// Records an admin's refund of a succeeded payment: the amount asked (or all that is
    /// left) if it fits in what was captured minus every refund so far, pending ones
    /// included. The refund, and the provider call still to make, if any.
    pub async fn refund_in(
        &self,
        txn: &DatabaseTransaction,
        refund: &AdminRefund,
        actor: &str,
    ) -> Result<(refunds::Model, Option<call_queue::Model>), Error> {
        let order_id = refund.order_id.as_str();
        let payment = payments::lock(txn, order_id).await?.ok_or(Error::NotFound)?;
        let status = status_of(&payment)?;
        if status == PaymentStatus::Refunded {
            // Everything went back already: the same answer as for any refund too large.
            return Err(Error::RefundTooLarge { left: payment.money(0)? });
        }
        if status != PaymentStatus::Succeeded {
            return Err(Error::WrongStatus { expected: PaymentStatus::Succeeded, actual: status });
        }
        if let Some(amount) = &refund.amount
            && amount.currency.code() != payment.currency
        {
            let why = format!("must be in {}, the payment's currency", payment.currency);
            return Err(Error::Invalid(vec![mart_platform::error::FieldViolation::new("amount.currency", why)]));
        }
        let counted = refunds::total(txn, &payment.id, &COUNTED).await?;
        let asked = refund.amount.map(|amount| amount.amount_minor);
        let amount = match domain::refundable(payment.amount_minor, counted, asked) {
            Ok(amount) => amount,
            Err(left) => return Err(Error::RefundTooLarge { left: payment.money(left)? }),
        };
        self.give_back(txn, &payment, amount, refund.reason.as_deref(), &refund.lines, actor).await
    }

    /// The order was cancelled: an opening or pending payment is cancelled (at the provider
    /// too, after the commit), what is left of a succeeded one refunded. Anything else has
    /// nothing left to undo.
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
            PaymentStatus::Opening | PaymentStatus::Pending => {
                let change = Change { reason: Some(reason), reference: None };
                move_to(txn, &payment, PaymentStatus::Cancelled, change, actor).await?;
                // Stopped at the provider after the commit (after the open, if that is
                // still queued); a payment that beat the cancel is refunded then.
                if !self.providers.get(provider_of(&payment)?)?.local() {
                    call_queue::queue(txn, &payment.id, order_id, &Call::Cancel).await?;
                }
            }
            PaymentStatus::Succeeded => {
                let counted = refunds::total(txn, &payment.id, &COUNTED).await?;
                if let Ok(left) = domain::refundable(payment.amount_minor, counted, None) {
                    self.give_back(txn, &payment, left, Some(reason), &[], actor).await?;
                }
            }
            PaymentStatus::Failed | PaymentStatus::Cancelled | PaymentStatus::Refunded => {}
        }
        Ok(())
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
                // A failed attempt is not final at Stripe (the customer may pay with
                // another card): the worker asks where it stands, then cancels it.
                if let Some(payment) = lock_intent(txn, intent_id).await?
                    && status_of(&payment)? == PaymentStatus::Pending
                {
                    call_queue::queue(txn, &payment.id, &payment.order_id, &Call::Settle { reason: reason.clone() })
                        .await?;
                }
            }
            EventKind::ChargeRefunded { intent_id, amount_refunded } => {
                let Some(payment) = lock_intent(txn, intent_id).await? else { return Ok(()) };
                self.refunded_at_provider(txn, &payment, *amount_refunded, &actor).await?;
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
                let counted = refunds::total(txn, &payment.id, &COUNTED).await?;
                if let Ok(left) = domain::refundable(payment.amount_minor, counted, None) {
                    self.give_back(txn, payment, left, Some(LATE_PAYMENT), &[], actor).await?;
                }
                Ok(())
            }
            PaymentStatus::Opening => {
                // Nobody could pay it yet: a provider that says so is confused.
                tracing::error!(order_id = payment.order_id, "money for a payment still opening; left to its open");
                Ok(())
            }
            PaymentStatus::Succeeded | PaymentStatus::Refunded => Ok(()),
        }
    }

    /// Records a refund of `amount_minor` of `payment` and asks for it: with a local
    /// provider here and now, else by queueing the call. The refund, and the call if one
    /// was queued.
    async fn give_back(
        &self,
        txn: &DatabaseTransaction,
        payment: &Model,
        amount_minor: i64,
        reason: Option<&str>,
        lines: &[RefundLine],
        actor: &str,
    ) -> Result<(refunds::Model, Option<call_queue::Model>), Error> {
        let row = record_refund(txn, payment, amount_minor, reason, lines, actor).await?;
        let provider = self.providers.get(provider_of(payment)?)?;
        if provider.local() {
            let amount = payment.money(amount_minor)?;
            let order = RefundOrder {
                order_id: &payment.order_id,
                refund_id: &row.id,
                reference: payment.provider_reference.as_deref(),
                amount: &amount,
                reason,
            };
            let provider_refund_id = provider.refund(order).await?;
            self.refund_succeeded(txn, payment, &row, provider_refund_id.as_deref(), actor).await?;
            return Ok((row, None));
        }
        let call_id =
            call_queue::queue(txn, &payment.id, &payment.order_id, &Call::Refund { refund_id: row.id.clone() }).await?;
        let call = call_queue::find(txn, &call_id).await?.ok_or(Error::NotFound)?;
        Ok((row, Some(call)))
    }

    /// Refund `row` of `payment` (locked, and read under the lock) went through at the
    /// provider (as `provider_refund_id`): settled, counted on the payment (REFUNDED once all
    /// of it went back), announced. Nothing if it was settled before.
    async fn refund_succeeded(
        &self,
        txn: &DatabaseTransaction,
        payment: &Model,
        row: &refunds::Model,
        provider_refund_id: Option<&str>,
        actor: &str,
    ) -> Result<(), Error> {
        if !refunds::settle(txn, &row.id, RefundStatus::Succeeded, provider_refund_id, None).await? {
            return Ok(());
        }
        payments::add_refunded(txn, &payment.id, row.amount_minor).await?;
        // The payment as it now is; nothing else can have changed it under the lock.
        let after = Model { refunded_minor: payment.refunded_minor + row.amount_minor, ..payment.clone() };
        if after.refunded_minor >= after.amount_minor && status_of(&after)?.may_become(PaymentStatus::Refunded) {
            let change = Change { reason: row.reason.as_deref(), reference: None };
            move_to(txn, &after, PaymentStatus::Refunded, change, actor).await?;
        }
        events::refunded(txn, &after, row).await
    }

    /// Stripe says `amount_refunded` of `payment`'s charge went back, all refunds together.
    /// What is more than this service's own refunds (pending ones included: their webhook
    /// may come first) was refunded by someone in Stripe's dashboard: recorded and
    /// announced like any refund. Our own refunds' webhooks change nothing.
    async fn refunded_at_provider(
        &self,
        txn: &DatabaseTransaction,
        payment: &Model,
        amount_refunded: i64,
        actor: &str,
    ) -> Result<(), Error> {
        let counted = refunds::total(txn, &payment.id, &COUNTED).await?;
        let news = amount_refunded.min(payment.amount_minor) - counted;
        if news <= 0
            || !matches!(
                status_of(payment)?,
                PaymentStatus::Succeeded | PaymentStatus::Cancelled | PaymentStatus::Failed
            )
        {
            return Ok(());
        }
        let reason = Some("refunded in Stripe's dashboard");
        let row = record_refund(txn, payment, news, reason, &[], actor).await?;
        self.refund_succeeded(txn, payment, &row, None, actor).await
    }
}

// === the steps that need no provider ===

/// Records a pending refund of `amount_minor` of `payment`, asked for by `actor`.
async fn record_refund(
    txn: &DatabaseTransaction,
    payment: &Model,
    amount_minor: i64,
    reason: Option<&str>,
    lines: &[RefundLine],
    actor: &str,
) -> Result<refunds::Model, Error> {
    let refund = NewRefund { payment, amount_minor, reason, lines, requested_by: actor };
    Ok(refunds::create(txn, refund).await?)
}

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

async fn reload<C: ConnectionTrait>(db: &C, order_id: &str) -> Result<Model, Error> {
    payments::by_order(db, order_id).await?.ok_or(Error::NotFound)
}

/// Whether `payment` is pending and past its deadline at `now`.
fn is_due(payment: &Model, now: chrono::DateTime<chrono::Utc>) -> Result<bool, Error> {
    Ok(status_of(payment)? == PaymentStatus::Pending && payment.expires_at.is_some_and(|at| at <= now))
}

fn status_of(payment: &Model) -> Result<PaymentStatus, Error> {
    payment.status().ok_or_else(|| Error::Corrupt(format!("payment {} has status {:?}", payment.id, payment.status)))
}

fn provider_of(payment: &Model) -> Result<ProviderKind, Error> {
    payment
        .provider()
        .ok_or_else(|| Error::Corrupt(format!("payment {} has provider {:?}", payment.id, payment.provider)))
}
