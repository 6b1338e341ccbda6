//! svc-user's own settings: token lifetimes and the first admin. The settings every service
//! shares (addresses, database, bus, the token claims `iss`/`aud` in `config.auth`) stay in
//! [`mart_platform::config`]; these ride along as `config.own`.

use std::time::Duration;

use mart_platform::config::{AuthConfig, ConfigError, Vars};

/// svc-user's configuration: the shared settings, and [`Settings`] as `own`.
pub type Config = mart_platform::config::Config<Settings>;

/// The knobs only svc-user has.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `MART_ACCESS_TOKEN_TTL` (default 15m): how long an access token is valid; retired
    /// signing keys stay published this long and a little more.
    pub access_token_ttl: Duration,
    /// `MART_REFRESH_TOKEN_TTL` (default 30d): how long an unused refresh token is valid.
    pub refresh_token_ttl: Duration,
    /// `MART_PASSWORD_HASH_CONCURRENCY` (default 4): passwords hashed at once in the process,
    /// 19 MiB each; more wait briefly, then are answered RESOURCE_EXHAUSTED (HTTP 429).
    pub password_hash_concurrency: usize,
    /// `MART_KEY_ENCRYPTION_KEY` (32 bytes, base64): seals the private signing keys in the
    /// database. Unset: a key kept in `$MART_DATA_DIR/user-key-encryption.key`, created at
    /// first start (what `mart up` uses); set it wherever the data dir is not kept.
    pub key_encryption_key: Option<Hidden>,
    /// `MART_BOOTSTRAP_ADMIN_EMAIL` and `MART_BOOTSTRAP_ADMIN_PASSWORD`, both or neither
    /// (default neither): the admin created at start while the shop has no active admin.
    pub bootstrap_admin: Option<BootstrapAdmin>,
}

/// A secret setting: shown as `(hidden)` by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Hidden(String);

impl Hidden {
    /// `secret`, kept out of `Debug` output.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(hidden)")
    }
}

/// The first admin's credentials.
#[derive(Clone)]
pub struct BootstrapAdmin {
    /// Their email.
    pub email: String,
    /// Their password, as given (never logged: see the `Debug` impl).
    pub password: String,
}

impl std::fmt::Debug for BootstrapAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapAdmin").field("email", &self.email).finish_non_exhaustive()
    }
}

impl Default for Settings {
    /// The embedded defaults: what an empty environment gives.
    fn default() -> Self {
        Self {
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            password_hash_concurrency: crate::passwords::DEFAULT_CONCURRENCY,
            key_encryption_key: None,
            bootstrap_admin: None,
        }
    }
}

impl mart_platform::config::Settings for Settings {
    fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let access_token_ttl = vars.duration_or("MART_ACCESS_TOKEN_TTL", defaults.access_token_ttl)?;
        let max = AuthConfig::from_vars(vars)?.max_token_lifetime;
        if access_token_ttl > max {
            return Err(ConfigError {
                variable: "MART_ACCESS_TOKEN_TTL",
                value: format!("{access_token_ttl:?}"),
                message: format!(
                    "{access_token_ttl:?} is longer than verifiers accept ({max:?}, MART_ACCESS_TOKEN_MAX_TTL)"
                ),
            });
        }
        Ok(Self {
            access_token_ttl,
            refresh_token_ttl: vars.duration_or("MART_REFRESH_TOKEN_TTL", defaults.refresh_token_ttl)?,
            password_hash_concurrency: vars.number_in(
                "MART_PASSWORD_HASH_CONCURRENCY",
                defaults.password_hash_concurrency,
                1..=256,
            )?,
            key_encryption_key: vars.parse_or("MART_KEY_ENCRYPTION_KEY", None, |v| {
                let sealer = crate::keys::Sealer::load(Some(v), std::path::Path::new(""));
                sealer.map(|_| Some(Hidden(v.to_owned()))).map_err(|error| error.to_string())
            })?,
            bootstrap_admin: bootstrap_admin(vars)?,
        })
    }
}

/// The first admin, if both variables are set; an error naming the missing one if only one
/// is. The password is read as given: spaces may be part of it.
fn bootstrap_admin(vars: &Vars) -> Result<Option<BootstrapAdmin>, ConfigError> {
    const EMAIL: &str = "MART_BOOTSTRAP_ADMIN_EMAIL";
    const PASSWORD: &str = "MART_BOOTSTRAP_ADMIN_PASSWORD";
    let missing = |variable: &'static str, other: &str| ConfigError {
        variable,
        value: String::new(),
        message: format!("must be set together with {other}"),
    };
    match (vars.get(EMAIL), vars.get_raw(PASSWORD)) {
        (Some(email), Some(password)) => Ok(Some(BootstrapAdmin { email, password })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(missing(PASSWORD, EMAIL)),
        (None, Some(_)) => Err(missing(EMAIL, PASSWORD)),
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
        let config = Config::embedded(Service::User);
        assert_eq!(config.own.access_token_ttl, Duration::from_secs(900));
        assert_eq!(config.own.refresh_token_ttl, Duration::from_secs(30 * 86400));
        assert!(config.own.bootstrap_admin.is_none());
        let defaults = Settings::default();
        assert_eq!(
            (defaults.access_token_ttl, defaults.refresh_token_ttl),
            (config.own.access_token_ttl, config.own.refresh_token_ttl)
        );
    }

    #[test]
    fn values_are_read() {
        let settings = Settings::from_pairs(&[
            ("MART_ACCESS_TOKEN_TTL", "5m"),
            ("MART_REFRESH_TOKEN_TTL", "12h"),
            ("MART_BOOTSTRAP_ADMIN_EMAIL", " owner@example.com "),
            ("MART_BOOTSTRAP_ADMIN_PASSWORD", " spaces count "),
        ])
        .unwrap();
        assert_eq!(settings.access_token_ttl, Duration::from_secs(300));
        assert_eq!(settings.refresh_token_ttl, Duration::from_secs(12 * 3600));
        let admin = settings.bootstrap_admin.unwrap();
        assert_eq!((admin.email.as_str(), admin.password.as_str()), ("owner@example.com", " spaces count "));

        // Through the whole configuration, as a binary reads it.
        let vars = Vars::from_pairs([("MART_ACCESS_TOKEN_TTL", "5m")]);
        let config = Config::from_vars(Service::User, &vars).unwrap();
        assert_eq!(config.own.access_token_ttl, Duration::from_secs(300));
    }

    #[test]
    fn the_password_stays_out_of_debug_output() {
        let settings = Settings::from_pairs(&[
            ("MART_BOOTSTRAP_ADMIN_EMAIL", "owner@example.com"),
            ("MART_BOOTSTRAP_ADMIN_PASSWORD", "hunter2 hunter2"),
        ])
        .unwrap();
        let shown = format!("{settings:?}");
        assert!(shown.contains("owner@example.com") && !shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_refused::<Settings>(&[
            ("MART_ACCESS_TOKEN_TTL", "fifteen minutes"),
            ("MART_ACCESS_TOKEN_TTL", "2h"),
            ("MART_REFRESH_TOKEN_TTL", "0s"),
            ("MART_PASSWORD_HASH_CONCURRENCY", "0"),
            ("MART_PASSWORD_HASH_CONCURRENCY", "lots"),
            ("MART_ACCESS_TOKEN_MAX_TTL", "never"),
            ("MART_KEY_ENCRYPTION_KEY", "too short"),
        ]);
        let key = crate::keys::Sealer::generate();
        let settings = Settings::from_pairs(&[("MART_KEY_ENCRYPTION_KEY", key.as_str())]).unwrap();
        assert_eq!(settings.key_encryption_key.as_ref().map(Hidden::expose), Some(key.as_str()));
        assert!(!format!("{settings:?}").contains(&key), "the key is not in Debug output");
        let longer = Settings::from_pairs(&[("MART_ACCESS_TOKEN_TTL", "2h"), ("MART_ACCESS_TOKEN_MAX_TTL", "3h")]);
        assert_eq!(longer.unwrap().access_token_ttl, Duration::from_secs(7200), "allowed with a longer maximum");
        assert_eq!(
            Settings::from_pairs(&[("MART_BOOTSTRAP_ADMIN_EMAIL", "a@b.c")]).unwrap_err().variable,
            "MART_BOOTSTRAP_ADMIN_PASSWORD"
        );
        assert_eq!(
            Settings::from_pairs(&[("MART_BOOTSTRAP_ADMIN_PASSWORD", "a password")]).unwrap_err().variable,
            "MART_BOOTSTRAP_ADMIN_EMAIL"
        );
    }
}
