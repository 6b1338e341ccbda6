//! The lifecycle engine: every status change goes through [`drive`]. The lifecycle table
//! decides whether it may happen, a conditional update applies it, a history row records
//! it, and its event goes to the outbox — all in one transaction. The API's moves (cancel,
//! ship, deliver) run it through [`Commands::move_order`], the sweeper through
//! [`Commands::expire`], and the event reactions in the handler's own transaction through
//! [`react`] and [`remember`]. The commands tell the order's watchers after their commit;
//! the reactions' commit is the bus's, which tells them through `Reactions::committed`.
//!
//! A payment event moves an order only with the order's own money: [`paid`] and
//! [`payment_opened`] want its customer and its total in its currency, [`refunded`] its
//! customer and currency and no more than its total. Anything else is refused to the DLQ
//! with the reason and counted (`mart_payment_mismatches_total`).

use chrono::{DateTime, TimeDelta, Utc};
use mart_platform::{bus::DatabaseTransaction, db, money::Money};
use mart_proto::common;
use sea_orm::DbErr;

use super::Commands;
use crate::{
    domain::{Actor, CancellationSource, Change, IllegalTransition, OrderStatus, Refund, RefundLine, lifecycle},
    error::Error,
    events,
    store::{
        history::{self, Entry},
        orders,
    },
};

/// What came of trying to move an order.
#[derive(Debug)]
pub enum Moved {
    /// The order moved (and the move is recorded and announced).
    Done,
    /// The lifecycle does not allow the move from where the order is.
    Refused(IllegalTransition),
    /// No such order (for this owner).
    NotFound,
}

/// The event a reaction answers, as the history and the logs name it.
#[derive(Clone, Copy, Debug)]
pub struct Cause<'a> {
    /// The event's id, kept with the history entry it leads to.
    pub event_id: &'a str,
    /// Its type, for the note of an event that changed nothing.
    pub event_type: &'a str,
}

/// Moves order `id` (only if it belongs to `owner`, when given) by `change`, on behalf of
/// `actor`, in `txn`: checks the lifecycle against the status it reads, applies the change
/// with `WHERE status = <read>`, records it and publishes it. If a concurrent move wins in
/// between, it reads again and decides anew; each lost race means the order moved forward
/// on a lifecycle without cycles, so this ends within as many rounds as there are states.
pub async fn drive(
    txn: &DatabaseTransaction,
    id: &str,
    owner: Option<&str>,
    change: &Change,
    actor: &Actor,
    event_id: Option<&str>,
) -> Result<Moved, DbErr> {
    for _ in 0..OrderStatus::ALL.len() {
        let Some(order) = orders::find(txn, id, owner).await? else {
            return Ok(Moved::NotFound);
        };
        let from = order.status()?;
        if let Err(illegal) = lifecycle::check(from, change) {
            return Ok(Moved::Refused(illegal));
        }
        if !orders::apply(txn, id, from, change, Utc::now()).await? {
            continue;
        }
        if let Change::Rejected { short_lines } = change {
            orders::add_rejected_lines(txn, id, short_lines).await?;
        }
        let note = change.describe();
        let entry = Entry { order_id: id, from: Some(from), to: change.target(), actor, note: &note, event_id };
        history::record(txn, entry).await?;
        events::moved(txn, &order, from, change).await?;
        return Ok(Moved::Done);
    }
    Err(DbErr::Custom(format!("order {id} kept changing under a transition")))
}

impl Commands {
    /// Moves order `id` (only if it belongs to `owner`, when given) by `change` on behalf
    /// of `actor`, in a transaction of its own; the order after.
    pub async fn move_order(
        &self,
        id: &str,
        owner: Option<&str>,
        change: &Change,
        actor: &Actor,
    ) -> Result<orders::Full, Error> {
        let txn = db::begin_write(&self.db).await?;
        match drive(&txn, id, owner, change, actor, None).await? {
            Moved::Done => {}
            Moved::Refused(illegal) => return Err(illegal.into()),
            Moved::NotFound => return Err(Error::NotFound("order")),
        }
        txn.commit().await?;
        self.relay.wake();
        self.changes.notify(id);
        let order = orders::find(&self.db, id, None).await?.ok_or(Error::NotFound("order"))?;
        orders::full(&self.db, order).await?.ok_or(Error::NotFound("order"))
    }

    /// Cancels order `id` because its payment deadline passed — if, when it looks under
    /// the order's lock, it is still due to be cancelled at `now` (RESERVED past the
    /// deadline, AWAITING_PAYMENT past it and `grace`: `lifecycle::expires_at`); whether it
    /// was. The sweeper's query may be stale: the payment may have opened or come in since.
    pub async fn expire(&self, id: &str, now: DateTime<Utc>, grace: TimeDelta) -> Result<bool, DbErr> {
        let change = Change::Cancelled {
            source: CancellationSource::PaymentExpired,
            reason: "the payment was not received in time".to_owned(),
        };
        let txn = db::begin_write(&self.db).await?;
        // What is read under the lock stays so until the commit: a RESERVED order is not
        // cancelled without its grace because its payment opened in between.
        db::lock_row::<orders::Entity, _>(&txn, orders::Column::Id, id).await?;
        let expires_at = match orders::find(&txn, id, None).await? {
            Some(order) => match order.payment_deadline {
                Some(deadline) => lifecycle::expires_at(order.status()?, deadline, grace),
                None => None,
            },
            None => None,
        };
        if expires_at.is_some_and(|at| at <= now)
            && let Moved::Done = drive(&txn, id, None, &change, &Actor::PaymentDeadline, None).await?
        {
            txn.commit().await?;
            self.relay.wake();
            self.changes.notify(id);
            return Ok(true);
        }
        // Paid, opened, cancelled or given more time since the sweeper's query: nothing to do.
        txn.rollback().await?;
        Ok(false)
    }
}

/// Applies `change` for the event `cause`, in the handler's `txn`; an order that has moved
/// past it keeps the event in its history only.
pub async fn react(
    txn: &DatabaseTransaction,
    cause: Cause<'_>,
    order_id: &str,
    actor: Actor,
    change: Change,
) -> Result<(), DbErr> {
    match drive(txn, order_id, None, &change, &actor, Some(cause.event_id)).await? {
        Moved::Done => Ok(()),
        Moved::NotFound => {
            tracing::warn!(order_id, event.id = %cause.event_id, r#type = %cause.event_type, "an event about an unknown order");
            Ok(())
        }
        Moved::Refused(illegal) => {
            let note = format!("ignored {}: {illegal}", cause.event_type);
            remember(txn, cause, order_id, &actor, &note).await
        }
    }
}

/// A PaymentSucceeded that names `order_id`, `user_id` and `amount`: the order is paid
/// only if the money is the order's — its customer, its total to the minor unit, in its
/// currency. Anything else is refused (to the DLQ, with the reason, counted as
/// `mart_payment_mismatches_total`): whoever wrote the event cannot ship an order for less.
pub async fn paid(
    txn: &DatabaseTransaction,
    cause: Cause<'_>,
    order_id: &str,
    payment_id: &str,
    user_id: &str,
    amount: Option<&common::Money>,
) -> Result<(), MismatchOr> {
    let claim = Claim { event: "PaymentSucceeded", payment_id, user_id };
    let change = Change::Paid { payment_id: payment_id.to_owned() };
    vouched_move(txn, cause, order_id, &claim, amount, change).await
}

/// A PaymentCreated that names `order_id`, `user_id` and `amount`: svc-payment opened the
/// order's payment, so a RESERVED order now awaits it (AWAITING_PAYMENT: pay now). Only a
/// payment of the order's own money opens it, checked as [`paid`] checks it: a payment
/// for another amount could never pay the order, and nobody should be asked to pay it.
pub async fn payment_opened(
    txn: &DatabaseTransaction,
    cause: Cause<'_>,
    order_id: &str,
    payment_id: &str,
    user_id: &str,
    amount: Option<&common::Money>,
) -> Result<(), MismatchOr> {
    let claim = Claim { event: "PaymentCreated", payment_id, user_id };
    let change = Change::PaymentOpened { payment_id: payment_id.to_owned() };
    vouched_move(txn, cause, order_id, &claim, amount, change).await
}

/// Moves `order_id` by `change` for `claim`, if the claim's `amount` is the order's total
/// for its customer (else refused, see [`paid`]).
async fn vouched_move(
    txn: &DatabaseTransaction,
    cause: Cause<'_>,
    order_id: &str,
    claim: &Claim<'_>,
    amount: Option<&common::Money>,
    change: Change,
) -> Result<(), MismatchOr> {
    if let Some(order) = orders::find(txn, order_id, None).await? {
        vouch(&order, cause, claim, &[("the payment", amount, Expected::Total)])?;
    }
    Ok(react(txn, cause, order_id, Actor::Payment, change).await?)
}

/// A PaymentRefunded: money went back from the order's payment. It must be the order's
/// customer and currency, and never more than the order's total (else it is refused, as
/// [`paid`] refuses). The order's `refunded` becomes the refunds' cumulative total unless
/// it already says more (so the same refund told twice, or two told out of order, change
/// nothing), the refund goes in the history with its amount, reason and lines, and a full
/// refund of a PAID order cancels it ([`Refund::change`]: source REFUNDED, so its stock
/// goes back; svc-payment does nothing more for a payment already refunded). After
/// shipping, or in part, the refund is recorded only.
pub async fn refunded(
    txn: &DatabaseTransaction,
    cause: Cause<'_>,
    event: &mart_proto::events::PaymentRefunded,
) -> Result<(), MismatchOr> {
    let order_id = event.order_id.as_str();
    let Some(order) = orders::find(txn, order_id, None).await? else {
        tracing::warn!(order_id, event.id = %cause.event_id, "a refund of an unknown order");
        return Ok(());
    };
    let claim = Claim { event: "PaymentRefunded", payment_id: &event.payment_id, user_id: &event.user_id };
    let amount = event.amount.as_ref();
    // A refund told before `refunded_total` existed gave back its amount (and, not `full`,
    // it is recorded only).
    let refunded_total = event.refunded_total.as_ref().or(amount);
    let amounts =
        [("the refund", amount, Expected::AtMostTotal), ("the refunds so far", refunded_total, Expected::AtMostTotal)];
    vouch(&order, cause, &claim, &amounts)?;
    // Both are in the order's currency now.
    let currency = order.currency()?;
    let in_order_currency = |money: Option<&common::Money>| Money::new(money.map_or(0, |m| m.amount_minor), currency);
    let refund = Refund {
        refund_id: event.refund_id.clone(),
        payment_id: event.payment_id.clone(),
        amount: in_order_currency(amount),
        refunded_total: in_order_currency(refunded_total),
        full: event.full,
        lines: event
            .lines
            .iter()
            .map(|line| RefundLine { product_id: line.product_id.clone(), quantity: line.quantity })
            .collect(),
        reason: event.reason.clone(),
    };
    orders::record_refund(txn, order_id, refund.refunded_total.amount_minor, Utc::now()).await?;
    remember(txn, cause, order_id, &Actor::Payment, &refund.describe()).await?;
    if let Some(change) = refund.change(order.status()?) {
        react(txn, cause, order_id, Actor::Payment, change).await?;
    }
    Ok(())
}

/// Pays order `order_id` if it is RESERVED for a payment of nothing (every line free, or a
/// discount to zero), as `cause` moved it there: there is nothing to collect, so it goes
/// straight to PAID and its stock is committed like any other's.
pub async fn free_order_paid(txn: &DatabaseTransaction, cause: Cause<'_>, order_id: &str) -> Result<(), DbErr> {
    let Some(order) = orders::find(txn, order_id, None).await? else { return Ok(()) };
    if order.total_minor != 0 || order.status()? != OrderStatus::Reserved {
        return Ok(());
    }
    let change = Change::Paid { payment_id: "none (a free order)".to_owned() };
    // The reservation that made it payable is what pays it.
    react(txn, cause, order_id, Actor::Inventory, change).await
}

/// What a payment event says about the money it moves: which event, which payment, whose.
#[derive(Clone, Copy, Debug)]
struct Claim<'a> {
    /// The event's name, for the refusal.
    event: &'static str,
    /// svc-payment's id of the payment.
    payment_id: &'a str,
    /// Whose money it says it is.
    user_id: &'a str,
}

/// How an amount of a payment event must compare with the order's total.
#[derive(Clone, Copy, Debug)]
enum Expected {
    /// Exactly it (what is paid, or asked to be paid).
    Total,
    /// No more than it (what is given back).
    AtMostTotal,
}

/// Refuses `claim`, the event `cause` about `order`, unless it is the order's customer and
/// each of `amounts` (named for the reason) is in the order's currency and as `Expected` of
/// its total; a refusal is logged and counted (`mart_payment_mismatches_total`), and goes
/// to the DLQ with the reason.
fn vouch(
    order: &orders::Model,
    cause: Cause<'_>,
    claim: &Claim<'_>,
    amounts: &[(&str, Option<&common::Money>, Expected)],
) -> Result<(), MismatchOr> {
    let (user_id, payment_id, order_id) = (claim.user_id, claim.payment_id, order.id.as_str());
    let mismatch = if order.user_id != user_id {
        Some(format!("it is {}'s order, not {user_id}'s", order.user_id))
    } else {
        amounts.iter().find_map(|(what, amount, expected)| {
            let (amount_minor, currency) = amount.map_or((0, ""), |m| (m.amount_minor, m.currency.as_str()));
            let fits = match expected {
                Expected::Total => order.total_minor == amount_minor,
                Expected::AtMostTotal => (0..=order.total_minor).contains(&amount_minor),
            };
            (!fits || !order.currency.eq_ignore_ascii_case(currency)).then(|| {
                format!("the order is {} {}, {what} {amount_minor} {currency}", order.total_minor, order.currency)
            })
        })
    };
    let Some(why) = mismatch else { return Ok(()) };
    mart_platform::metrics::payment_mismatch("svc-order");
    tracing::error!(order_id, payment_id, event.id = %cause.event_id, why, "a payment that does not match its order");
    Err(MismatchOr::Mismatch(format!("{} {payment_id} for order {order_id}: {why}", claim.event)))
}

/// Why a payment event ([`paid`], [`payment_opened`], [`refunded`]) changed nothing.
#[derive(Debug)]
pub enum MismatchOr {
    /// The event's money is not the order's: the event goes to the DLQ with this reason.
    Mismatch(String),
    /// The database failed.
    Database(DbErr),
}

impl From<DbErr> for MismatchOr {
    fn from(error: DbErr) -> Self {
        Self::Database(error)
    }
}

impl From<MismatchOr> for mart_platform::bus::HandlerError {
    fn from(error: MismatchOr) -> Self {
        match error {
            // The money is not the order's: no retry can make it so.
            MismatchOr::Mismatch(why) => Self::permanent(why),
            MismatchOr::Database(error) => error.into(),
        }
    }
}

/// Records the event `cause` in the history of `order_id` without moving it, in the
/// handler's `txn`.
pub async fn remember(
    txn: &DatabaseTransaction,
    cause: Cause<'_>,
    order_id: &str,
    actor: &Actor,
    note: &str,
) -> Result<(), DbErr> {
    let Some(order) = orders::find(txn, order_id, None).await? else {
        tracing::warn!(order_id, event.id = %cause.event_id, "an event about an unknown order");
        return Ok(());
    };
    let status = order.status()?;
    let entry = Entry { order_id, from: Some(status), to: status, actor, note, event_id: Some(cause.event_id) };
    history::record(txn, entry).await
}
