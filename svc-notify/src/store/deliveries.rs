//! The `deliveries` table: every outgoing email and SMS, written in the same transaction as
//! its inbox entry and drained by the sender ([`crate::loops`]). A row records where the
//! message stands (`DeliveryStatus`), how many attempts were made and the last error, so no
//! message is dropped silently. Unique on (source, channel): one email per event, however
//! often the event is delivered.
//!
//! Senders claim a due row with one conditional `UPDATE` (status to `sending`, due time to
//! the end of a lease): of two replicas racing for a row, one wins; a row whose sender died
//! becomes due again when the lease ends.

use chrono::{DateTime, Utc};
use mart_platform::db;
use sea_orm::{QueryOrder, QuerySelect, Set, entity::prelude::*};

use crate::domain::{Channel, DeliveryStatus};

/// One outgoing message.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    /// UUIDv7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The inbox entry it belongs to.
    pub notification_id: String,
    /// The recipient; the address is looked up when sending (it may change, or arrive late).
    pub user_id: String,
    /// `Channel`.
    pub channel: String,
    /// The notification's source (event id); unique with the channel.
    pub source_id: String,
    /// Subject line.
    pub subject: String,
    /// Plain text content, without greeting (the layout is applied when sending).
    pub body_text: String,
    /// HTML content, escaped when it was rendered.
    pub body_html: String,
    /// `DeliveryStatus`.
    pub status: String,
    /// Send attempts made (waiting for a contact is not an attempt).
    pub attempts: i32,
    /// Why the last attempt failed, or why it was not sent.
    pub last_error: Option<String>,
    /// The address or number it was last sent to.
    pub recipient: Option<String>,
    /// When it is due (pending, waiting), or when a sender's lease ends (sending).
    pub next_attempt_at: DateTimeUtc,
    /// When it was queued.
    pub created_at: DateTimeUtc,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
    /// When it was handed over.
    pub sent_at: Option<DateTimeUtc>,
    /// W3C trace context of the event that queued it: sending continues that trace.
    pub traceparent: Option<String>,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The channel (`None` only for a channel a future version added).
    pub fn channel(&self) -> Option<Channel> {
        Channel::parse(&self.channel)
    }

    /// The status (`None` only for a status a future version added).
    pub fn status(&self) -> Option<DeliveryStatus> {
        DeliveryStatus::parse(&self.status)
    }
}

/// What to queue.
#[derive(Debug)]
pub struct NewDelivery<'a> {
    /// The inbox entry.
    pub notification_id: &'a str,
    /// The recipient.
    pub user_id: &'a str,
    /// The channel.
    pub channel: Channel,
    /// The source, as on the notification.
    pub source_id: &'a str,
    /// Subject line.
    pub subject: &'a str,
    /// Plain text.
    pub body_text: &'a str,
    /// HTML.
    pub body_html: &'a str,
    /// `Pending`, or `Waiting` when the contact is not known yet.
    pub status: DeliveryStatus,
}

/// Queues a message, due now; false if its source already has one on that channel.
pub async fn enqueue<C: ConnectionTrait>(db: &C, new: NewDelivery<'_>) -> Result<bool, DbErr> {
    let now = Utc::now();
    let row = ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        notification_id: Set(new.notification_id.to_owned()),
        user_id: Set(new.user_id.to_owned()),
        channel: Set(new.channel.as_str().to_owned()),
        source_id: Set(new.source_id.to_owned()),
        subject: Set(new.subject.to_owned()),
        body_text: Set(new.body_text.to_owned()),
        body_html: Set(new.body_html.to_owned()),
        status: Set(new.status.as_str().to_owned()),
        attempts: Set(0),
        last_error: Set(None),
        recipient: Set(None),
        next_attempt_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        sent_at: Set(None),
        traceparent: Set(mart_platform::telemetry::current_trace_context().map(|(traceparent, _)| traceparent)),
    };
    db::insert_once(db, row, [Column::SourceId, Column::Channel]).await
}

fn due_statuses() -> impl Iterator<Item = &'static str> {
    DeliveryStatus::DUE.into_iter().map(DeliveryStatus::as_str)
}

/// Up to `limit` messages due at `now`, oldest due first.
pub async fn due<C: ConnectionTrait>(db: &C, now: DateTime<Utc>, limit: u64) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::Status.is_in(due_statuses()))
        .filter(Column::NextAttemptAt.lte(now))
        .order_by_asc(Column::NextAttemptAt)
        .limit(limit)
        .all(db)
        .await
}

/// Takes `id` for one attempt until `lease_until`, if it is still due at `now`; whether this
/// caller got it.
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    id: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(DeliveryStatus::Sending.as_str()))
        .col_expr(Column::NextAttemptAt, Expr::value(lease_until))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.is_in(due_statuses()))
        .filter(Column::NextAttemptAt.lte(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// How an attempt on a claimed message ended.
#[derive(Debug)]
pub enum Outcome {
    /// Handed over to `recipient`.
    Sent {
        /// The address or number.
        recipient: String,
    },
    /// Failed; tried again at `retry_at`, or given up when `None`.
    Failed {
        /// The address or number.
        recipient: String,
        /// What went wrong.
        error: String,
        /// When to try again.
        retry_at: Option<DateTime<Utc>>,
    },
    /// Not to be sent, for `reason`.
    Cancelled {
        /// Why.
        reason: String,
    },
    /// The contact is not known yet: look again at `recheck_at`. Not an attempt.
    Waiting {
        /// When to look again.
        recheck_at: DateTime<Utc>,
    },
}

/// Records `outcome` of the attempt on `claimed` (the row as claimed).
pub async fn finish<C: ConnectionTrait>(db: &C, claimed: &Model, outcome: Outcome) -> Result<(), DbErr> {
    let now = Utc::now();
    let attempt = claimed.attempts.saturating_add(1);
    let update = Entity::update_many().col_expr(Column::UpdatedAt, Expr::value(now));
    let update = match outcome {
        Outcome::Sent { recipient } => update
            .col_expr(Column::Status, Expr::value(DeliveryStatus::Sent.as_str()))
            .col_expr(Column::Attempts, Expr::value(attempt))
            .col_expr(Column::Recipient, Expr::value(recipient))
            .col_expr(Column::SentAt, Expr::value(now)),
        Outcome::Failed { recipient, error, retry_at } => {
            let (status, at) = match retry_at {
                Some(at) => (DeliveryStatus::Pending, at),
                None => (DeliveryStatus::Failed, now),
            };
            update
                .col_expr(Column::Status, Expr::value(status.as_str()))
                .col_expr(Column::Attempts, Expr::value(attempt))
                .col_expr(Column::Recipient, Expr::value(recipient))
                .col_expr(Column::LastError, Expr::value(error.chars().take(1000).collect::<String>()))
                .col_expr(Column::NextAttemptAt, Expr::value(at))
        }
        Outcome::Cancelled { reason } => update
            .col_expr(Column::Status, Expr::value(DeliveryStatus::Cancelled.as_str()))
            .col_expr(Column::LastError, Expr::value(reason)),
        Outcome::Waiting { recheck_at } => update
            .col_expr(Column::Status, Expr::value(DeliveryStatus::Waiting.as_str()))
            .col_expr(Column::LastError, Expr::value("waiting for the recipient's contact data"))
            .col_expr(Column::NextAttemptAt, Expr::value(recheck_at)),
    };
    update
        .filter(Column::Id.eq(&claimed.id))
        .filter(Column::Status.eq(DeliveryStatus::Sending.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// Makes `user_id`'s messages that wait for a contact due now: it just arrived.
pub async fn contact_arrived<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<u64, DbErr> {
    let now = Utc::now();
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(DeliveryStatus::Pending.as_str()))
        .col_expr(Column::NextAttemptAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::Status.eq(DeliveryStatus::Waiting.as_str()))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Cancels every unsent message of `user_id` (the account was deleted).
pub async fn cancel_for_user<C: ConnectionTrait>(db: &C, user_id: &str, reason: &str) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(DeliveryStatus::Cancelled.as_str()))
        .col_expr(Column::LastError, Expr::value(reason))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::Status.is_in([DeliveryStatus::Pending.as_str(), DeliveryStatus::Waiting.as_str()]))
        .exec(db)
        .await?;
    Ok(())
}

/// The messages of notification `notification_id`.
pub async fn of_notification<C: ConnectionTrait>(db: &C, notification_id: &str) -> Result<Vec<Model>, DbErr> {
    Entity::find().filter(Column::NotificationId.eq(notification_id)).order_by_asc(Column::Channel).all(db).await
}
