//! svc-payment's own settings: which provider takes the money, Stripe's keys and address,
//! and how long a payment may stay unpaid. The settings every service shares (addresses,
//! database, bus, telemetry) are platform's; [`Config`] carries these as `own`.

use std::time::Duration;

use mart_platform::config::{ConfigError, Vars};

pub use crate::domain::ProviderKind;

/// svc-payment's configuration: the shared settings, and [`Settings`] as `own`.
pub type Config = mart_platform::config::Config<Settings>;

/// The knobs only svc-payment has.
#[derive(Clone)]
pub struct Settings {
    /// `MART_PAYMENT_PROVIDER` (`manual` or `stripe`): who takes the money of new payments.
    /// Default: `stripe` when `STRIPE_SECRET_KEY` is set, else `manual`.
    pub provider: ProviderKind,
    /// `STRIPE_SECRET_KEY`: the Stripe API key; required for `stripe`. Default: unset.
    pub stripe_secret_key: Option<String>,
    /// `STRIPE_WEBHOOK_SECRET`: what Stripe's webhooks are signed with; without it they are
    /// refused. Default: unset.
    pub stripe_webhook_secret: Option<String>,
    /// `MART_STRIPE_PUBLISHABLE_KEY` (`pk_…`): what a browser mounts Stripe's Payment Element
    /// with; GetPayment returns it beside a Stripe payment's client secret (the edge reads
    /// it too, to let Stripe.js into the storefront's CSP). Not secret. Default: unset.
    pub stripe_publishable_key: Option<String>,
    /// `STRIPE_API_BASE` (an http(s) URL): where Stripe is reached, so tests can stand in
    /// for it. Default: unset, Stripe's own.
    pub stripe_api_base: Option<String>,
    /// `MART_PAYMENT_TIMEOUT`: how long a payment may stay unpaid before it fails as
    /// expired, for an order event that carries no deadline of its own (svc-order's
    /// `payment_due_by`, written by every current svc-order, wins). Default: 30m.
    pub payment_timeout: Duration,
    /// `MART_PAYMENT_RETRY_WINDOW`: how long a provider call that finds the provider
    /// unavailable is tried again (a refund, opening a payment, a cancel) before it is
    /// abandoned for a human (`mart_provider_calls_total{outcome="abandoned"}`). Stripe
    /// itself retries webhooks for 3 days. Default: 24h.
    pub retry_window: Duration,
    /// `MART_PAYMENT_RETRY_MAX_INTERVAL`: the longest wait between two tries of such a
    /// call (the waits double from 1 s up to it). Default: 5m.
    pub retry_max_interval: Duration,
}

impl mart_platform::config::Settings for Settings {
    fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let stripe_secret_key = vars.get("STRIPE_SECRET_KEY");
        let default_provider = if stripe_secret_key.is_some() { ProviderKind::Stripe } else { ProviderKind::Manual };
        let provider = vars.parse_or("MART_PAYMENT_PROVIDER", default_provider, |v| {
            ProviderKind::parse(v).ok_or_else(|| "expected manual or stripe".to_owned())
        })?;
        if provider == ProviderKind::Stripe && stripe_secret_key.is_none() {
            return Err(ConfigError {
                variable: "STRIPE_SECRET_KEY",
                value: String::new(),
                message: "required when MART_PAYMENT_PROVIDER=stripe".to_owned(),
            });
        }
        let stripe_webhook_secret = vars.get("STRIPE_WEBHOOK_SECRET");
        // Without it no webhook verifies, so no card payment is ever seen as paid: every
        // paid order would be cancelled (and refunded) at its deadline.
        if provider == ProviderKind::Stripe && stripe_webhook_secret.is_none() {
            return Err(ConfigError {
                variable: "STRIPE_WEBHOOK_SECRET",
                value: String::new(),
                message: "required with Stripe (the whsec_… of the webhook endpoint): without it no payment is \
                          ever confirmed"
                    .to_owned(),
            });
        }
        Ok(Self {
            provider,
            stripe_secret_key,
            stripe_webhook_secret,
            stripe_publishable_key: vars.parse_or("MART_STRIPE_PUBLISHABLE_KEY", None, |v| {
                if v.starts_with("pk_") {
                    Ok(Some(v.to_owned()))
                } else {
                    Err("expected a Stripe publishable key, pk_live_… or pk_test_… (never the secret sk_…)".to_owned())
                }
            })?,
            stripe_api_base: vars.http_url("STRIPE_API_BASE")?,
            payment_timeout: vars.duration_or("MART_PAYMENT_TIMEOUT", Duration::from_secs(30 * 60))?,
            retry_window: vars.duration_or("MART_PAYMENT_RETRY_WINDOW", Duration::from_secs(24 * 3600))?,
            retry_max_interval: vars.duration_or("MART_PAYMENT_RETRY_MAX_INTERVAL", Duration::from_secs(300))?,
        })
    }
}

/// The embedded defaults, as with an empty environment.
impl Default for Settings {
    fn default() -> Self {
        // With no variable set nothing can fail to parse.
        <Self as mart_platform::config::Settings>::from_vars(&Vars::default()).expect("defaults are valid")
    }
}

/// The secrets are never logged: only whether they are set.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("provider", &self.provider)
            .field("stripe_secret_key", &self.stripe_secret_key.as_ref().map(|_| "<set>"))
            .field("stripe_webhook_secret", &self.stripe_webhook_secret.as_ref().map(|_| "<set>"))
            .field("stripe_publishable_key", &self.stripe_publishable_key)
            .field("stripe_api_base", &self.stripe_api_base)
            .field("payment_timeout", &self.payment_timeout)
            .field("retry_window", &self.retry_window)
            .field("retry_max_interval", &self.retry_max_interval)
            .finish()
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
        let settings = Settings::default();
        assert_eq!(settings.provider, ProviderKind::Manual);
        assert_eq!(
            (settings.stripe_secret_key, settings.stripe_webhook_secret, settings.stripe_api_base),
            (None, None, None)
        );
        assert_eq!(settings.payment_timeout, Duration::from_secs(30 * 60));
        assert_eq!(settings.retry_window, Duration::from_secs(24 * 3600), "a day of provider trouble is retried");
        assert_eq!(settings.retry_max_interval, Duration::from_secs(300));
        assert_eq!(Config::embedded(Service::Payment).own.provider, ProviderKind::Manual);
    }

    #[test]
    fn values_are_read() {
        let settings = Settings::from_pairs(&[
            ("STRIPE_SECRET_KEY", "sk_test_x"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
            ("STRIPE_API_BASE", "http://127.0.0.1:12111"),
            ("MART_PAYMENT_TIMEOUT", "5m"),
            ("MART_PAYMENT_RETRY_WINDOW", "72h"),
            ("MART_PAYMENT_RETRY_MAX_INTERVAL", "2s"),
            ("MART_STRIPE_PUBLISHABLE_KEY", "pk_test_x"),
        ])
        .unwrap();
        assert_eq!(settings.stripe_publishable_key.as_deref(), Some("pk_test_x"));
        assert_eq!(settings.retry_window, Duration::from_secs(72 * 3600));
        assert_eq!(settings.retry_max_interval, Duration::from_secs(2));
        assert_eq!(settings.provider, ProviderKind::Stripe, "a Stripe key makes Stripe the default");
        assert_eq!(settings.stripe_secret_key.as_deref(), Some("sk_test_x"));
        assert_eq!(settings.stripe_webhook_secret.as_deref(), Some("whsec_x"));
        assert_eq!(settings.stripe_api_base.as_deref(), Some("http://127.0.0.1:12111"));
        assert_eq!(settings.payment_timeout, Duration::from_secs(300));

        let manual =
            Settings::from_pairs(&[("STRIPE_SECRET_KEY", "sk_test_x"), ("MART_PAYMENT_PROVIDER", "manual")]).unwrap();
        assert_eq!(manual.provider, ProviderKind::Manual, "said explicitly, manual wins over a key");

        let stripe = [("STRIPE_SECRET_KEY", "sk_test_x"), ("STRIPE_WEBHOOK_SECRET", "whsec_x")];
        let config = Config::from_vars(Service::Payment, &Vars::from_pairs(stripe));
        assert_eq!(config.unwrap().own.provider, ProviderKind::Stripe);
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_refused::<Settings>(&[
            ("MART_PAYMENT_PROVIDER", "paypal"),
            ("MART_STRIPE_PUBLISHABLE_KEY", "sk_live_oops"),
            ("MART_PAYMENT_TIMEOUT", "soon"),
            ("MART_PAYMENT_TIMEOUT", "0s"),
            ("MART_PAYMENT_RETRY_WINDOW", "forever"),
            ("MART_PAYMENT_RETRY_MAX_INTERVAL", "0s"),
            ("STRIPE_API_BASE", "127.0.0.1:12111"),
        ]);
        assert_eq!(
            Settings::from_pairs(&[("MART_PAYMENT_PROVIDER", "stripe")]).unwrap_err().variable,
            "STRIPE_SECRET_KEY"
        );
        // A Stripe key without the webhook secret would start and never see a payment.
        let refused = Settings::from_pairs(&[("STRIPE_SECRET_KEY", "sk_test_x")]).unwrap_err();
        assert_eq!(refused.variable, "STRIPE_WEBHOOK_SECRET");
        assert!(!refused.to_string().contains("sk_test_x"), "{refused}");
    }

    #[test]
    fn secrets_are_not_logged() {
        let settings =
            Settings::from_pairs(&[("STRIPE_SECRET_KEY", "sk_test_secret"), ("STRIPE_WEBHOOK_SECRET", "whsec_secret")]);
        let shown = format!("{:?}", settings.unwrap());
        assert!(!shown.contains("sk_test_secret") && !shown.contains("whsec_secret"), "{shown}");
        assert!(shown.contains("<set>"), "{shown}");
    }
}
