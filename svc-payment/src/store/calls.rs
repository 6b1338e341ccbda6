//! The `provider_calls` table: calls to the payment provider that a change needs, made
//! after the change commits, never inside its transaction (a slow or failing provider must
//! not hold a database lock). A call is queued in the transaction of the change that
//! needs it, claimed by whoever makes it (a lease, so a crashed caller's call is made
//! again — safe, with the provider idempotency keys), and finished in the transaction
//! that records its answer. The calls of one payment are made one at a time, in the order
//! they were queued.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{QueryOrder, QuerySelect, Set, entity::prelude::*, sea_query::Expr};

use crate::domain::Call;

/// Queued: to be made (again) from `next_attempt_at`.
pub const QUEUED: &str = "queued";
/// Answered and recorded.
pub const DONE: &str = "done";
/// Refused for good, or unanswered past the retry window: a human looks.
pub const ABANDONED: &str = "abandoned";

/// One call to make.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "provider_calls")]
pub struct Model {
    /// Call id (UUIDv7: queue order).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The payment it is about.
    pub payment_id: String,
    /// Its order.
    pub order_id: String,
    /// `open`, `cancel`, `settle`, `refund`.
    pub kind: String,
    /// The refund id (`refund`) or decline code (`settle`).
    pub detail: Option<String>,
    /// `queued`, `done`, `abandoned`.
    pub status: String,
    /// Attempts made so far.
    pub attempts: i32,
    /// When it may be made (again): now, after a backoff, or after a claim's lease.
    pub next_attempt_at: DateTimeUtc,
    /// When it was queued: the retry window counts from here.
    pub queued_at: DateTimeUtc,
    /// What went wrong last.
    pub last_error: Option<String>,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The call; `None` for a kind outside the domain (a bug).
    pub fn call(&self) -> Option<Call> {
        Call::from_stored(&self.kind, self.detail.as_deref())
    }

    /// The kind, as metrics label it.
    pub fn kind_label(&self) -> &'static str {
        match self.call() {
            Some(call) => call.to_stored().0,
            None => "unknown",
        }
    }
}

/// Queues `call` about payment `payment_id` of `order_id`, to be made at once; its id.
pub async fn queue<C: ConnectionTrait>(db: &C, payment_id: &str, order_id: &str, call: &Call) -> Result<String, DbErr> {
    let now = Utc::now();
    let (kind, detail) = call.to_stored();
    let id = uuid::Uuid::now_v7().to_string();
    ActiveModel {
        id: Set(id.clone()),
        payment_id: Set(payment_id.to_owned()),
        order_id: Set(order_id.to_owned()),
        kind: Set(kind.to_owned()),
        detail: Set(detail.map(str::to_owned)),
        status: Set(QUEUED.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        queued_at: Set(now),
        last_error: Set(None),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// The calls that may be made at `now`: of each payment with queued calls, its oldest,
/// if it is due. At most `limit`, oldest first.
pub async fn due<C: ConnectionTrait>(db: &C, now: DateTime<Utc>, limit: u64) -> Result<Vec<Model>, DbErr> {
    let queued = Entity::find()
        .filter(Column::Status.eq(QUEUED))
        .order_by_asc(Column::Id)
        .limit(limit.saturating_mul(4))
        .all(db)
        .await?;
    let mut seen = std::collections::HashSet::new();
    Ok(queued
        .into_iter()
        .filter(|call| seen.insert(call.payment_id.clone()))
        .filter(|call| call.next_attempt_at <= now)
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect())
}

/// Call `id`.
pub async fn find<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id.to_owned()).one(db).await
}

/// Whether an older call of the same payment is still queued (this one must wait for it).
pub async fn waits_behind<C: ConnectionTrait>(db: &C, call: &Model) -> Result<bool, DbErr> {
    Ok(Entity::find()
        .filter(Column::PaymentId.eq(&call.payment_id))
        .filter(Column::Status.eq(QUEUED))
        .filter(Column::Id.lt(&call.id))
        .one(db)
        .await?
        .is_some())
}

/// Claims `call` for `lease`: nobody else makes it meanwhile. Whether this caller got it
/// (it was still queued and not claimed, or rescheduled, since it was read).
pub async fn claim<C: ConnectionTrait>(db: &C, call: &Model, lease: std::time::Duration) -> Result<bool, DbErr> {
    let now = Utc::now();
    let until = now + TimeDelta::from_std(lease).unwrap_or(TimeDelta::MAX);
    let result = Entity::update_many()
        .col_expr(Column::NextAttemptAt, Expr::value(until))
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(&call.id))
        .filter(Column::Status.eq(QUEUED))
        .filter(Column::NextAttemptAt.eq(call.next_attempt_at))
        .filter(Column::NextAttemptAt.lte(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Finishes queued call `id` as `status` (`DONE` or `ABANDONED`, with why); whether it
/// was still queued.
pub async fn finish<C: ConnectionTrait>(db: &C, id: &str, status: &str, error: Option<&str>) -> Result<bool, DbErr> {
    let mut update = Entity::update_many()
        .col_expr(Column::Status, Expr::value(status))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()));
    if let Some(error) = error {
        update = update.col_expr(Column::LastError, Expr::value(error));
    }
    let result = update.filter(Column::Id.eq(id)).filter(Column::Status.eq(QUEUED)).exec(db).await?;
    Ok(result.rows_affected == 1)
}

/// Makes queued call `id` due again at `at`, after `error`.
pub async fn retry_at<C: ConnectionTrait>(db: &C, id: &str, at: DateTime<Utc>, error: &str) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::NextAttemptAt, Expr::value(at))
        .col_expr(Column::LastError, Expr::value(error))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(QUEUED))
        .exec(db)
        .await
        .map(drop)
}

/// How many calls are queued, and how old the oldest is: what an operator watches.
pub async fn backlog<C: ConnectionTrait>(db: &C) -> Result<(u64, Option<DateTime<Utc>>), DbErr> {
    let oldest = Entity::find().filter(Column::Status.eq(QUEUED)).order_by_asc(Column::Id).one(db).await?;
    let count = Entity::find().filter(Column::Status.eq(QUEUED)).count(db).await?;
    Ok((count, oldest.map(|call| call.queued_at)))
}

/// Forgets finished calls older than `retention`; how many went.
pub async fn prune<C: ConnectionTrait>(db: &C, retention: std::time::Duration) -> Result<u64, DbErr> {
    let cutoff = mart_platform::db::cutoff(retention);
    let pruned =
        Entity::delete_many().filter(Column::Status.ne(QUEUED)).filter(Column::UpdatedAt.lt(cutoff)).exec(db).await?;
    Ok(pruned.rows_affected)
}
