//! The ways out to the world: [`email`] over SMTP (lettre) and text messages through an
//! [`SmsProvider`] ([`sms`]: the log provider of the embedded mode). [`Channels`] holds the
//! ones a running service has; the sender ([`crate::loops`]) hands each due message to one
//! of them, and every failure says whether a retry can help ([`SendError`]).

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::config::Settings;

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

/// Something that delivers a text message to a phone number: the seam a real SMS gateway
/// plugs into.
pub trait SmsProvider: Send + Sync + 'static {
    /// Sends `text` to `to` (E.164).
    fn send<'a>(&'a self, to: &'a str, text: &'a str) -> BoxFuture<'a, Result<(), SendError>>;
}

/// The ways out a running service has.
pub struct Channels {
    /// Email, when `SMTP_URL` is set.
    pub mail: Option<email::Mailer>,
    /// Text messages.
    pub sms: Arc<dyn SmsProvider>,
}

impl Channels {
    /// Email as `settings` say, SMS through the log provider.
    pub fn from_config(settings: &Settings) -> Result<Self, String> {
        let mail = settings.smtp_url.as_deref().map(|url| email::Mailer::new(url, &settings.mail_from)).transpose()?;
        Ok(Self { mail, sms: Arc::new(sms::LogSms) })
    }

    /// Whether notifications are emailed.
    pub fn email(&self) -> bool {
        self.mail.is_some()
    }
}
