//! The lifecycle engine: every status change goes through [`drive`]. The lifecycle table
//! decides whether it may happen, a conditional update applies it, a history row records
//! it, and its event goes to the outbox — all in one transaction. The API's moves (cancel,
//! ship, deliver) run it through [`Commands::move_order`], the sweeper through
//! [`Commands::expire`], and the event reactions in the handler's own transaction through
//! [`react`] and [`remember`].

use chrono::Utc;
use mart_platform::{bus::DatabaseTransaction, db};
use sea_orm::DbErr;

use super::Commands;
use crate::{
    domain::{Actor, CancellationSource, Change, IllegalTransition, OrderStatus, lifecycle},
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
        let order = orders::find(&self.db, id, None).await?.ok_or(Error::NotFound("order"))?;
        orders::full(&self.db, order).await?.ok_or(Error::NotFound("order"))
    }

    /// Cancels order `id` because its payment deadline passed, if it still awaits its
    /// payment; whether it did.
    pub async fn expire(&self, id: &str) -> Result<bool, DbErr> {
        let change = Change::Cancelled {
            source: CancellationSource::PaymentExpired,
            reason: "the payment was not received in time".to_owned(),
        };
        let txn = db::begin_write(&self.db).await?;
        match drive(&txn, id, None, &change, &Actor::PaymentDeadline, None).await? {
            Moved::Done => {
                txn.commit().await?;
                self.relay.wake();
                Ok(true)
            }
            // Paid or cancelled since the sweeper's query: nothing to do.
            Moved::Refused(_) | Moved::NotFound => {
                txn.rollback().await?;
                Ok(false)
            }
        }
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
    amount: Option<&mart_proto::common::Money>,
) -> Result<(), MismatchOr> {
    if let Some(order) = orders::find(txn, order_id, None).await? {
        let (amount_minor, currency) = amount.map_or((0, ""), |m| (m.amount_minor, m.currency.as_str()));
        let mismatch = if order.user_id != user_id {
            Some(format!("it is {}'s order, not {user_id}'s", order.user_id))
        } else if order.total_minor != amount_minor || !order.currency.eq_ignore_ascii_case(currency) {
            Some(format!(
                "the order is {} {}, the payment {amount_minor} {currency}",
                order.total_minor, order.currency
            ))
        } else {
            None
        };
        if let Some(why) = mismatch {
            mart_platform::metrics::payment_mismatch("svc-order");
            tracing::error!(order_id, payment_id, event.id = %cause.event_id, why, "a payment that does not match its order");
            return Err(MismatchOr::Mismatch(format!("PaymentSucceeded {payment_id} for order {order_id}: {why}")));
        }
    }
    let change = Change::Paid { payment_id: payment_id.to_owned() };
    Ok(react(txn, cause, order_id, Actor::Payment, change).await?)
}

/// Pays order `order_id` if it awaits a payment of nothing (every line free, or a
/// discount to zero), as `cause` moved it there: there is nothing to collect, so it goes
/// straight to PAID and its stock is committed like any other's.
pub async fn free_order_paid(txn: &DatabaseTransaction, cause: Cause<'_>, order_id: &str) -> Result<(), DbErr> {
    let Some(order) = orders::find(txn, order_id, None).await? else { return Ok(()) };
    if order.total_minor != 0 || order.status()? != OrderStatus::AwaitingPayment {
        return Ok(());
    }
    let change = Change::Paid { payment_id: "none (a free order)".to_owned() };
    // The reservation that made it payable is what pays it.
    react(txn, cause, order_id, Actor::Inventory, change).await
}

/// Why [`paid`] did not pay an order.
#[derive(Debug)]
pub enum MismatchOr {
    /// The event's money is not the order's.
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
            MismatchOr::Mismatch(why) => Self(why),
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
