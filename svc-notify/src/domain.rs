//! The rules of notifying, free of I/O: what a notification can be about, the channels and
//! the life of one outgoing message, what the shop has to say about each fact
//! ([`templates`]), and how often a failed send is tried again.

use std::time::Duration;

use mart_platform::{money::Money, retry::Backoff};

pub mod templates;

/// What a notification is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Welcome after registration.
    Welcome,
    /// An order was placed.
    OrderPlaced,
    /// An order was rejected for lack of stock.
    OrderRejected,
    /// A payment succeeded.
    PaymentSucceeded,
    /// An order was shipped.
    OrderShipped,
    /// An order was cancelled.
    OrderCancelled,
    /// A payment was refunded.
    PaymentRefunded,
    /// An admin wrote to the user.
    AdminMessage,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 8] = [
        Kind::Welcome,
        Kind::OrderPlaced,
        Kind::OrderRejected,
        Kind::PaymentSucceeded,
        Kind::OrderShipped,
        Kind::OrderCancelled,
        Kind::PaymentRefunded,
        Kind::AdminMessage,
    ];

    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Welcome => "welcome",
            Kind::OrderPlaced => "order_placed",
            Kind::OrderRejected => "order_rejected",
            Kind::PaymentSucceeded => "payment_succeeded",
            Kind::OrderShipped => "order_shipped",
            Kind::OrderCancelled => "order_cancelled",
            Kind::PaymentRefunded => "payment_refunded",
            Kind::AdminMessage => "admin_message",
        }
    }

    /// From storage.
    pub fn parse(value: &str) -> Option<Self> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == value)
    }
}

/// A way out besides the inbox (which every notification lands in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Channel {
    /// Email over SMTP.
    Email,
    /// A text message.
    Sms,
}

impl Channel {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    /// From storage.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            _ => None,
        }
    }
}

/// Where one outgoing message stands.
///
/// ```text
///  pending ──claim──► sending ──ok──► sent
///     ▲                  │ └──temporary failure, attempts left──► pending (later)
///     │                  ├──permanent failure / attempts spent──► failed
///     │                  ├──account deleted, no phone──► cancelled
///  waiting ◄─────────────┘ contact not known yet (retried when it arrives)
/// ```
///
/// A `sending` row whose lease ran out (its sender died) is due again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Due at `next_attempt_at`.
    Pending,
    /// The recipient's contact is not known yet (their UserRegistered has not arrived).
    Waiting,
    /// A sender holds it until `next_attempt_at` (its lease).
    Sending,
    /// Handed to the mail server or SMS provider.
    Sent,
    /// Given up: a permanent refusal, or every attempt failed. `last_error` says why.
    Failed,
    /// Not to be sent: the account was deleted, or there is no phone number.
    Cancelled,
}

impl DeliveryStatus {
    /// Every status.
    pub const ALL: [DeliveryStatus; 6] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Waiting,
        DeliveryStatus::Sending,
        DeliveryStatus::Sent,
        DeliveryStatus::Failed,
        DeliveryStatus::Cancelled,
    ];

    /// The statuses a sender picks up once due.
    pub const DUE: [DeliveryStatus; 3] = [DeliveryStatus::Pending, DeliveryStatus::Waiting, DeliveryStatus::Sending];

    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Waiting => "waiting",
            DeliveryStatus::Sending => "sending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Cancelled => "cancelled",
        }
    }

    /// From storage.
    pub fn parse(value: &str) -> Option<Self> {
        DeliveryStatus::ALL.into_iter().find(|status| status.as_str() == value)
    }
}

/// How a user is reached, as the user service last announced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// Sign-in email address.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// E.164 phone number, if any.
    pub phone: Option<String>,
}

impl Contact {
    /// "First Last", for the To: header.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name).trim().to_owned()
    }
}

/// An amount as an event states it, for the words of a message: money of a currency this
/// shop knows, or, from a sender whose currency this version does not list, the figures as
/// sent. Shown raw rather than refused: the customer still hears about their order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Amount {
    /// A circulating currency: shown in its own minor unit ("12.99 EUR").
    Money(Money),
    /// A currency code this shop does not know: minor units and code as sent ("1299 XBT").
    Raw {
        /// Minor units, as sent.
        amount_minor: i64,
        /// The code, as sent.
        currency: String,
    },
}

impl Amount {
    /// `amount_minor` of the currency `code`, as another service sent it.
    pub fn from_sent(amount_minor: i64, code: &str) -> Self {
        match Money::from_stored(amount_minor, code) {
            Ok(money) => Amount::Money(money),
            Err(_) => Amount::Raw { amount_minor, currency: code.to_owned() },
        }
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Amount::Money(money) => money.fmt(f),
            Amount::Raw { amount_minor, currency } => write!(f, "{amount_minor} {currency}"),
        }
    }
}

/// The longest subject an admin may write, in characters.
pub const MAX_SUBJECT: usize = 200;

/// The longest message body an admin may write, in characters.
pub const MAX_BODY: usize = 10_000;

/// A message an admin sends to one user (SendNotification), checked: a subject of one line
/// (at most [`MAX_SUBJECT`] characters; no line break can smuggle in a mail header), a body
/// of running text (at most [`MAX_BODY`]), and the channels besides the inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminMessage {
    /// The recipient; whether the user exists is the store's question.
    pub user_id: String,
    /// One line.
    pub subject: String,
    /// The words.
    pub body: String,
    /// Where it goes out besides the inbox.
    pub channels: Vec<Channel>,
}

/// How hard the sender tries.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Send attempts in all before a message is marked failed.
    pub max_attempts: i32,
    /// The wait after each failed attempt.
    pub backoff: Backoff,
    /// How long a message waits for its recipient's contact before it is given up.
    pub contact_wait: Duration,
}

impl Default for RetryPolicy {
    /// About two hours of attempts: mail servers' temporary refusals (greylisting, a full
    /// queue) usually clear well within that.
    fn default() -> Self {
        Self {
            max_attempts: 20,
            backoff: Backoff::new(Duration::from_millis(250), Duration::from_secs(600)),
            contact_wait: Duration::from_secs(24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// When to look for a missing contact again, for a message `waited` old: soon at first,
    /// then at most once a minute (a newly arrived contact also wakes the message at once).
    pub fn contact_recheck(&self, waited: Duration) -> Duration {
        (waited / 2).clamp(Duration::from_secs(1), Duration::from_secs(60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        for status in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(status.as_str()), Some(status));
        }
        for channel in [Channel::Email, Channel::Sms] {
            assert_eq!(Channel::parse(channel.as_str()), Some(channel));
        }
        assert_eq!(Kind::parse("nope"), None);
    }

    #[test]
    fn amounts_read_like_a_price_or_as_sent() {
        assert_eq!(Amount::from_sent(12_345, "EUR").to_string(), "123.45 EUR");
        assert_eq!(Amount::from_sent(1200, "JPY").to_string(), "1200 JPY");
        assert_eq!(Amount::from_sent(1_500, "KWD").to_string(), "1.500 KWD");
        let unknown = Amount::from_sent(1299, "XBT");
        assert_eq!(unknown, Amount::Raw { amount_minor: 1299, currency: "XBT".into() });
        assert_eq!(unknown.to_string(), "1299 XBT");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let waits: Vec<_> = (1..=4).map(|n| policy.backoff.after(n).as_millis()).collect();
        assert_eq!(waits, [250, 500, 1000, 2000]);
        assert_eq!(policy.backoff.after(40), Duration::from_secs(600));
        assert_eq!(policy.contact_recheck(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(policy.contact_recheck(Duration::from_secs(3600)), Duration::from_secs(60));
    }
}
