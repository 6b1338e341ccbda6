//! Text messages, behind the [`SmsProvider`] trait so a real gateway can be plugged in. The
//! default provider writes the message to the log (the embedded mode has no gateway).

use futures::future::BoxFuture;

use super::{SendError, SmsProvider};

/// The provider of the embedded mode: logs each message.
#[derive(Debug, Default)]
pub struct LogSms;

impl SmsProvider for LogSms {
    fn send<'a>(&'a self, to: &'a str, text: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            tracing::info!(to, text, "SMS (log provider)");
            Ok(())
        })
    }
}

/// The most characters of an SMS: three concatenated segments.
const MAX_SMS: usize = 459;

/// The text of an SMS about `subject`: the subject and as much of `body` as fits.
pub fn text(subject: &str, body: &str) -> String {
    let full = format!("Online Mart: {subject}. {body}");
    if full.chars().count() <= MAX_SMS {
        return full;
    }
    let mut cut: String = full.chars().take(MAX_SMS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_texts_are_cut() {
        assert_eq!(super::text("Shipped", "On its way."), "Online Mart: Shipped. On its way.");
        let long = super::text("S", &"x".repeat(1000));
        assert_eq!(long.chars().count(), super::MAX_SMS);
        assert!(long.ends_with('…'));
    }
}
