//! Email over SMTP with lettre (tokio, rustls): one multipart/alternative message per
//! delivery, plain text and HTML.

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};

use super::SendError;
use crate::domain::Contact;

/// How long one SMTP conversation may take before it counts as a (temporary) failure.
const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

/// Sends email through the server of `SMTP_URL`, from `MART_MAIL_FROM`.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// A mailer for `smtp_url` (`smtp://host:port`, `smtps://user:pass@host`, …) sending
    /// from `from` (`Name <address>`). Fails naming the variable that is wrong.
    pub fn new(smtp_url: &str, from: &str) -> Result<Self, String> {
        let from = from.parse::<Mailbox>().map_err(|error| format!("MART_MAIL_FROM={from:?}: {error}"))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|error| format!("SMTP_URL: {error}"))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Self { transport, from })
    }

    /// Sends `subject` with the two bodies to `to`; the address it went to.
    pub async fn send(&self, to: &Contact, subject: &str, text: String, html: String) -> Result<String, SendError> {
        let address = to
            .email
            .parse()
            .map_err(|error| SendError::permanent(format!("not a deliverable address {:?}: {error}", to.email)))?;
        let name = to.display_name();
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new((!name.is_empty()).then_some(name), address))
            .subject(subject)
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|error| SendError::permanent(format!("building the message: {error}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(to.email.clone()),
            // 5xx: the server will not take it, however often we ask.
            Err(error) if error.is_permanent() => Err(SendError::permanent(error.to_string())),
            Err(error) => Err(SendError::temporary(error.to_string())),
        }
    }
}
