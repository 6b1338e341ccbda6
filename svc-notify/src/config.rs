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
            smtp_url: vars.parse_or("SMTP_URL", defaults.smtp_url, |v| {
                if v.starts_with("smtp://") || v.starts_with("smtps://") {
                    Ok(Some(v.to_owned()))
                } else {
                    Err("expected smtp://host:port or smtps://user:pass@host".to_owned())
                }
            })?,
            mail_from: vars.get("MART_MAIL_FROM").unwrap_or(defaults.mail_from),
        })
    }
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
        assert_refused::<Settings>(&[("SMTP_URL", "mail.example.com"), ("SMTP_URL", "http://mail.example.com")]);
        let error = Config::from_vars(Service::Notify, &Vars::from_pairs([("SMTP_URL", "mail.example.com")]));
        assert_eq!(error.unwrap_err().variable, "SMTP_URL");
    }
}
