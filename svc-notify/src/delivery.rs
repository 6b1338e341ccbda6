//! Getting notifications out.
//!
//! [`notify`] writes an inbox entry and, in the same transaction, one row per outgoing
//! message (email when SMTP is configured, SMS when the user has a phone) into the delivery
//! queue. The [`Sender`], a background task beside the gRPC server, drains that queue: it
//! looks the recipient up at send time (so a contact that arrives after the order event
//! still gets the email, and a changed address is honoured), sends, and records the
//! outcome. Temporary failures are retried with exponential backoff; permanent ones and
//! exhausted retries end as `failed` with the last error — nothing is dropped silently.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use mart_platform::{
    config::{MailConfig, Service},
    telemetry,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use tokio::{
    sync::{Notify, watch},
    task::JoinHandle,
};

use tracing::Instrument as _;

use crate::{
    domain::{
        Channel, DeliveryStatus, RetryPolicy,
        templates::{self, Content, Html},
    },
    store::{
        contacts,
        deliveries::{self, NewDelivery, Outcome},
        notifications,
    },
};

pub mod email;
pub mod sms;

/// Why a message did not go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// What the server or provider said.
    pub message: String,
    /// Whether trying again is pointless (a 5xx answer, an address that cannot exist).
    pub permanent: bool,
}

impl SendError {
    /// A failure worth retrying.
    pub fn temporary(message: impl Into<String>) -> Self {
        Self { message: message.into(), permanent: false }
    }

    /// A failure no retry will fix.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { message: message.into(), permanent: true }
    }
}

/// The ways out a running service has.
pub struct Channels {
    /// Email, when `SMTP_URL` is set.
    pub mail: Option<email::Mailer>,
    /// Text messages.
    pub sms: Arc<dyn sms::SmsProvider>,
}

impl Channels {
    /// Email as `config` says, SMS through the log provider.
    pub fn from_config(config: &MailConfig) -> Result<Self, String> {
        let mail = config.smtp_url.as_deref().map(|url| email::Mailer::new(url, &config.mail_from)).transpose()?;
        Ok(Self { mail, sms: Arc::new(sms::LogSms) })
    }

    /// Whether notifications are emailed.
    pub fn email(&self) -> bool {
        self.mail.is_some()
    }
}

/// Tells the sender that messages were queued.
#[derive(Clone, Debug, Default)]
pub struct SenderWaker(Arc<Notify>);

impl SenderWaker {
    /// A waker not yet connected to a sender.
    pub fn new() -> Self {
        Self::default()
    }

    /// Call after committing a transaction that queued messages.
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

// === notify ===

/// What to tell whom, and on which channels besides the inbox.
#[derive(Debug)]
pub struct Notice<'a> {
    /// The recipient.
    pub user_id: &'a str,
    /// The words.
    pub content: Content,
    /// What caused it (an event id): one notification per source.
    pub source_id: Option<&'a str>,
    /// Email it (when SMTP is configured).
    pub email: bool,
    /// Text it (when the user has a phone number).
    pub sms: bool,
}

/// Writes `notice` into the inbox and queues its outgoing messages, through `db` (the
/// caller's transaction). `None` when its source was notified already (a redelivered
/// event) or the account is deleted.
pub async fn notify<C: ConnectionTrait>(
    db: &C,
    channels: &Channels,
    notice: Notice<'_>,
) -> Result<Option<notifications::Model>, DbErr> {
    let known = contacts::find(db, notice.user_id).await?;
    if known.as_ref().is_some_and(|row| row.deleted) {
        return Ok(None);
    }
    let contact = known.as_ref().and_then(contacts::Model::contact);
    let mut wanted = Vec::new();
    if notice.email && channels.email() {
        wanted.push(Channel::Email);
    } else if notice.email {
        // The embedded default (no SMTP_URL): inbox and log only.
        tracing::info!(user_id = notice.user_id, subject = %notice.content.subject, "not emailed: SMTP_URL is not set");
    }
    // The phone is only known from the contact: an SMS is not held back for a late one.
    if notice.sms && contact.as_ref().is_some_and(|c| c.phone.is_some()) {
        wanted.push(Channel::Sms);
    }
    let id = uuid::Uuid::now_v7().to_string();
    let source_id = notice.source_id.unwrap_or(&id);
    let Some(notification) =
        notifications::insert(db, &id, notice.user_id, &notice.content, &wanted, source_id).await?
    else {
        return Ok(None);
    };
    // Without a contact yet (its UserRegistered is still on the way) the email waits for it.
    let status = if contact.is_some() { DeliveryStatus::Pending } else { DeliveryStatus::Waiting };
    for channel in wanted {
        deliveries::enqueue(
            db,
            NewDelivery {
                notification_id: &notification.id,
                user_id: notice.user_id,
                channel,
                source_id,
                subject: &notice.content.subject,
                body_text: &notice.content.text,
                body_html: notice.content.html.as_str(),
                status,
            },
        )
        .await?;
    }
    Ok(Some(notification))
}

// === impl Sender ===

/// Messages claimed per round.
const BATCH: u64 = 20;

/// Drains the delivery queue.
pub struct Sender {
    db: DatabaseConnection,
    channels: Arc<Channels>,
    policy: RetryPolicy,
    waker: SenderWaker,
    /// The longest sleep without a wake-up: messages queued by event handlers (whose commit
    /// the sender cannot see coming), retries coming due, other replicas' rows.
    poll: Duration,
    /// How long a claimed message is held before another sender may take it (its sender
    /// died mid-send). Longer than one SMTP conversation may take.
    lease: Duration,
}

impl Sender {
    /// A sender over `db`'s queue, woken by `waker`.
    pub fn new(db: DatabaseConnection, channels: Arc<Channels>, policy: RetryPolicy, waker: SenderWaker) -> Self {
        Self { db, channels, policy, waker, poll: Duration::from_millis(250), lease: Duration::from_secs(120) }
    }

    /// Runs until `shutdown` turns true; the message in hand is finished first.
    pub fn spawn(self, shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(self.run(shutdown))
    }

    async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.send_due(&shutdown).await {
                Ok(handled) if handled as u64 >= BATCH => continue,
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "the delivery queue failed; trying again"),
            }
            tokio::select! {
                () = self.waker.0.notified() => {}
                () = tokio::time::sleep(self.poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// One round: claims and attempts the messages due now; how many it attempted.
    pub async fn send_due(&self, shutdown: &watch::Receiver<bool>) -> Result<usize, DbErr> {
        let now = Utc::now();
        let due = deliveries::due(&self.db, now, BATCH).await?;
        let mut handled = 0;
        for row in due {
            if *shutdown.borrow() {
                break;
            }
            let lease_until = now + self.lease;
            if !deliveries::claim(&self.db, &row.id, now, lease_until).await? {
                continue; // another replica took it
            }
            // Sending is the last step of the story that queued the message: its trace.
            let span = tracing::info_span!(
                "notify.send",
                otel.name = %format_args!("send {}", row.channel),
                delivery.id = %row.id,
                delivery.channel = %row.channel,
                delivery.attempt = row.attempts + 1,
            );
            telemetry::adopt(
                &span,
                Service::Notify.process_name(),
                telemetry::remote_parent(row.traceparent.as_deref(), None),
            );
            let outcome = self.attempt(&row).instrument(span.clone()).await?;
            deliveries::finish(&self.db, &row, outcome).instrument(span).await?;
            handled += 1;
        }
        Ok(handled)
    }

    /// Tries `row` once.
    async fn attempt(&self, row: &deliveries::Model) -> Result<Outcome, DbErr> {
        let now = Utc::now();
        let Some(known) = contacts::find(&self.db, &row.user_id).await? else {
            let waited = (now - row.created_at).to_std().unwrap_or_default();
            if waited > self.policy.contact_wait {
                return Ok(self.failed(row, String::new(), SendError::permanent("the recipient never became known")));
            }
            return Ok(Outcome::Waiting { recheck_at: later(now, self.policy.contact_recheck(waited)) });
        };
        let Some(contact) = known.contact() else {
            return Ok(Outcome::Cancelled { reason: "the account was deleted".to_owned() });
        };
        let result = match row.channel() {
            Some(Channel::Email) => {
                let Some(mailer) = &self.channels.mail else {
                    return Ok(Outcome::Cancelled { reason: "email is not configured (SMTP_URL)".to_owned() });
                };
                let html = Html::from_stored(row.body_html.clone());
                let (text, html) = templates::email(&row.subject, &row.body_text, &html, &contact.first_name);
                mailer.send(&contact, &row.subject, text, html.into_string()).await
            }
            Some(Channel::Sms) => {
                let Some(phone) = &contact.phone else {
                    return Ok(Outcome::Cancelled { reason: "no phone number".to_owned() });
                };
                let text = sms::text(&row.subject, &row.body_text);
                self.channels.sms.send(phone, &text).await.map(|()| phone.clone())
            }
            None => Err(SendError::permanent(format!("unknown channel {:?}", row.channel))),
        };
        Ok(match result {
            Ok(recipient) => {
                tracing::info!(delivery.id = %row.id, channel = %row.channel, attempt = row.attempts + 1, "sent");
                Outcome::Sent { recipient }
            }
            Err(error) => {
                let recipient = match row.channel() {
                    Some(Channel::Sms) => contact.phone.clone().unwrap_or_default(),
                    _ => contact.email.clone(),
                };
                self.failed(row, recipient, error)
            }
        })
    }

    /// The outcome of a failed attempt: retried later, unless permanent or the last one.
    fn failed(&self, row: &deliveries::Model, recipient: String, error: SendError) -> Outcome {
        let attempt = row.attempts.saturating_add(1);
        let retry_at = (!error.permanent && attempt < self.policy.max_attempts)
            .then(|| later(Utc::now(), self.policy.backoff(attempt)));
        if retry_at.is_some() {
            tracing::warn!(delivery.id = %row.id, channel = %row.channel, attempt, error = %error.message, "sending failed; will retry");
        } else {
            tracing::error!(delivery.id = %row.id, channel = %row.channel, attempt, error = %error.message, "sending failed for good");
        }
        Outcome::Failed { recipient, error: error.message, retry_at }
    }
}

/// `wait` after `now`. The waits come from the retry policy (minutes at most); a day is the
/// fallback for one too large to represent.
fn later(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(wait).unwrap_or_else(|_| chrono::Duration::days(1))
}
