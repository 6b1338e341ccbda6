//! svc-product's own settings, beside the ones every service shares (platform's
//! [`Config`](mart_platform::config::Config)): read once at start from the environment,
//! built directly by tests.

use std::time::Duration;

use mart_platform::config::{ConfigError, Vars};

/// svc-product's configuration: the shared settings, and [`Settings`] as `own`.
pub type Config = mart_platform::config::Config<Settings>;

/// The knobs of the catalog alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `MART_CATALOG_CACHE_TTL`: how long a GetProduct answer (stock figure included) may be
    /// reused before the database and svc-inventory are asked again (see
    /// [`ProductCache`](crate::product_cache::ProductCache)); `0` switches the cache off.
    /// Default 1 s.
    pub cache_ttl: Duration,
}

impl Default for Settings {
    /// The embedded defaults.
    fn default() -> Self {
        Self { cache_ttl: Duration::from_secs(1) }
    }
}

impl mart_platform::config::Settings for Settings {
    fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        Ok(Self { cache_ttl: vars.duration_or_off("MART_CATALOG_CACHE_TTL", defaults.cache_ttl)? })
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
        assert_eq!(Config::embedded(Service::Product).own.cache_ttl, Duration::from_secs(1));
    }

    #[test]
    fn values_are_read() {
        assert_eq!(
            Settings::from_pairs(&[("MART_CATALOG_CACHE_TTL", "250ms")]).unwrap().cache_ttl,
            Duration::from_millis(250)
        );
        assert_eq!(
            Settings::from_pairs(&[("MART_CATALOG_CACHE_TTL", " 0 ")]).unwrap().cache_ttl,
            Duration::ZERO,
            "0 is off"
        );
        let vars = Vars::from_pairs([("MART_CATALOG_CACHE_TTL", "5s")]);
        assert_eq!(Config::from_vars(Service::Product, &vars).unwrap().own.cache_ttl, Duration::from_secs(5));
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_refused::<Settings>(&[
            ("MART_CATALOG_CACHE_TTL", "a while"),
            ("MART_CATALOG_CACHE_TTL", "0s"),
            ("MART_CATALOG_CACHE_TTL", "-1s"),
        ]);
    }
}
