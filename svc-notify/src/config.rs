//! svc-notify's own settings: where email goes out and whom it comes from. The settings
//! every service shares (addresses, database, bus, telemetry) are platform's; the
//! [`Config`] a binary reads carries these as `own`.

use mart_platform::config::{ConfigError, Vars};

/// What svc-notify is started with: the shared settings, and [`Settings`] as `own`.
pub type Config = mart_platform::config::Config<Settings>;

/// The sender of the shop's emails when `MART_MAIL_FROM` is not set.
pub const DEFAULT_MAIL_FROM: &str = "Online Mart <no-reply@mart.localhost>";

/// Outgoing mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `SMTP_URL` (`smtp://host:port`, `smtps://user:pass@host`): the mail server. Unset
    /// (the default, the embedded mode) means inbox and log only: nothing is emailed.
    pub smtp_url: Option<String>,
    /// `MART_MAIL_FROM`: the From: of every email, `Name <address>` (default
    /// [`DEFAULT_MAIL_FROM`]). Checked when the mailer is built, that is when `SMTP_URL` is set.
    pub mail_from: String,
}

impl Default for Settings {
    /// The embedded defaults: no mail server.
    fn default() -> Self {
        Self { smtp_url: None, mail_from: DEFAULT_MAIL_FROM.to_owned() }
    }
}

impl mart_platform::config::Settings for Settings {
    fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        Ok(Self {
            smtp_url: vars.parse_or("SMTP_URL", defaults.smtp_url, |v| check_smtp_url(v).map(Some))?,
            mail_from: vars.get("MART_MAIL_FROM").unwrap_or(defaults.mail_from),
        })
    }
}

/// `url` if it is an SMTP URL that keeps its credentials safe: a password goes only over
/// TLS (`smtps://`, or `smtp://…?tls=required` for STARTTLS), or to a server on loopback.
fn check_smtp_url(url: &str) -> Result<String, String> {
    let Some(rest) = url.strip_prefix("smtps://").or_else(|| url.strip_prefix("smtp://")) else {
        return Err("expected smtp://host:port or smtps://user:pass@host".to_owned());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (credentials, host_port) = match authority.rsplit_once('@') {
        Some((credentials, host_port)) => (Some(credentials), host_port),
        None => (None, authority),
    };
    let starttls_required =
        rest.split_once('?').is_some_and(|(_, query)| query.split('&').any(|p| p == "tls=required"));
    let host = match host_port.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if credentials.is_some() && url.starts_with("smtp://") && !starttls_required && !loopback {
        return Err(
            "a password over plain SMTP travels in clear text: use smtps://, or smtp://…?tls=required for STARTTLS"
                .to_owned(),
        );
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    use mart_platform::{
        config::{Service, Settings as _},
        test_util::assert_refused,
    };

    use super::*;

    #[test]
    fn defaults_are_the_embedded_mode() {
        assert_eq!(Settings::from_pairs(&[]).unwrap(), Settings::default());
        let config = Config::embedded(Service::Notify);
        assert_eq!(config.own.smtp_url, None);
        assert_eq!(config.own.mail_from, "Online Mart <no-reply@mart.localhost>");
    }

    #[test]
    fn values_are_read() {
        let settings = Settings::from_pairs(&[
            ("SMTP_URL", " smtps://user:pass@mail.example.com "),
            ("MART_MAIL_FROM", "Shop <shop@example.com>"),
        ])
        .unwrap();
        assert_eq!(settings.smtp_url.as_deref(), Some("smtps://user:pass@mail.example.com"));
        assert_eq!(settings.mail_from, "Shop <shop@example.com>");
        assert_eq!(
            Settings::from_pairs(&[("SMTP_URL", "smtp://127.0.0.1:2525")]).unwrap().smtp_url.as_deref(),
            Some("smtp://127.0.0.1:2525")
        );
        assert_eq!(Settings::from_pairs(&[("SMTP_URL", "")]).unwrap().smtp_url, None, "empty is unset");
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_refused::<Settings>(&[
            ("SMTP_URL", "mail.example.com"),
            ("SMTP_URL", "http://mail.example.com"),
            ("SMTP_URL", "smtp://user:secret@mail.example.com:587"),
            ("SMTP_URL", "smtp://user:secret@mail.example.com:587?tls=opportunistic"),
        ]);
        let refused = Settings::from_pairs(&[("SMTP_URL", "smtp://user:secret@mail.example.com")]).unwrap_err();
        assert!(!refused.to_string().contains("secret"), "the password is not echoed: {refused}");
        for safe in [
            "smtps://user:secret@mail.example.com",
            "smtp://user:secret@mail.example.com:587?tls=required",
            "smtp://user:secret@127.0.0.1:2525",
            "smtp://user:secret@[::1]:2525",
            "smtp://mail.example.com:25",
        ] {
            assert_eq!(Settings::from_pairs(&[("SMTP_URL", safe)]).unwrap().smtp_url.as_deref(), Some(safe));
        }
        let error = Config::from_vars(Service::Notify, &Vars::from_pairs([("SMTP_URL", "mail.example.com")]));
        assert_eq!(error.unwrap_err().variable, "SMTP_URL");
    }
}
