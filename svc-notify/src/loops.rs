//! svc-notify's own background work: the [`Sender`], a loop of the service's
//! [`Background`] (`notify.sender`) that drains the delivery queue.
//!
//! It looks the recipient up at send time (so a contact that arrives after the order event
//! still gets the email, and a changed address is honoured), sends through a
//! [`crate::provider`] channel, and records the outcome ([`commands::finish_delivery`]).
//! Temporary failures are retried with exponential backoff; permanent ones and exhausted
//! retries end as `failed` with the last error — nothing is dropped silently.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use mart_platform::{
    config::Service,
    tasks::{Background, Every, Round, Stop},
    telemetry,
    wake::Waker,
};
use sea_orm::{DatabaseConnection, DbErr};
use tracing::Instrument as _;

use crate::{
    commands,
    domain::{
        Channel, RetryPolicy,
        templates::{self, Html},
    },
    provider::{Channels, SendError, sms},
    store::{
        contacts,
        deliveries::{self, Outcome},
    },
};

// === impl Sender ===

/// Messages claimed per round.
const BATCH: u64 = 20;

/// The longest wait between two rounds without a wake-up: messages queued by event handlers
/// (whose commit the sender cannot see coming), retries coming due, other replicas' rows.
pub const POLL: Duration = Duration::from_millis(250);

/// Drains the delivery queue.
pub struct Sender {
    db: DatabaseConnection,
    channels: Arc<Channels>,
    policy: RetryPolicy,
    /// How long a claimed message is held before another sender may take it (its sender
    /// died mid-send). Longer than one SMTP conversation may take.
    lease: Duration,
}

impl Sender {
    /// A sender over `db`'s queue.
    pub fn new(db: DatabaseConnection, channels: Arc<Channels>, policy: RetryPolicy) -> Self {
        Self { db, channels, policy, lease: Duration::from_secs(120) }
    }

    /// Runs as the loop `notify.sender` of `background`: a round every [`POLL`], at once
    /// when `waker` is woken, and again right away after a full batch. When the service
    /// stops, the message in hand is finished first.
    pub fn start(self, background: &mut Background, waker: Waker) {
        let sender = Arc::new(self);
        background.every("notify.sender", Every::or_when_woken(POLL, waker), move |stop: Stop| {
            let sender = Arc::clone(&sender);
            async move { sender.round(&stop).await }
        });
    }

    /// One round: claims and attempts the messages due now, up to a batch; `More` when the
    /// batch was full (more may be due).
    pub async fn round(&self, stop: &Stop) -> Result<Round, DbErr> {
        let handled = self.send_due(stop).await?;
        Ok(if handled as u64 >= BATCH { Round::More } else { Round::Idle })
    }

    /// Claims and attempts the messages due now, until `stop` says the service is stopping;
    /// how many it attempted.
    async fn send_due(&self, stop: &Stop) -> Result<usize, DbErr> {
        let now = Utc::now();
        let due = deliveries::due(&self.db, now, BATCH).await?;
        let mut handled = 0;
        for row in due {
            if stop.is_stopped() {
                break;
            }
            let lease_until = now + self.lease;
            if !commands::claim_delivery(&self.db, &row.id, now, lease_until).await? {
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
            commands::finish_delivery(&self.db, &row, outcome).instrument(span).await?;
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
            .then(|| later(Utc::now(), self.policy.backoff.after(u32::try_from(attempt).unwrap_or(0))));
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
