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
    /// `MART_MEDIA_URL`: where uploaded images are kept: a folder (a path, or `file:///…`)
    /// or an S3-compatible bucket (`s3://bucket/prefix`, with the usual `AWS_*` variables:
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT` for
    /// another S3). `None` (the default): the folder `media` under the data dir.
    pub media_url: Option<String>,
    /// `MART_MEDIA_MAX_BYTES`: the largest image an upload may be (default 5 MiB; the edge
    /// reads the same variable and lets uploads this large through).
    pub media_max_bytes: usize,
}

impl Default for Settings {
    /// The embedded defaults.
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(1),
            media_url: None,
            media_max_bytes: mart_platform::config::DEFAULT_MEDIA_MAX_BYTES,
        }
    }
}

impl mart_platform::config::Settings for Settings {
    fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        Ok(Self {
            cache_ttl: vars.duration_or_off("MART_CATALOG_CACHE_TTL", defaults.cache_ttl)?,
            media_url: vars.get("MART_MEDIA_URL").map(check_media_url).transpose()?,
            media_max_bytes: mart_platform::config::media_max_bytes(vars)?,
        })
    }
}

/// `MART_MEDIA_URL` as given, when it names something [`Media`](crate::media::Media) can open.
fn check_media_url(url: String) -> Result<String, ConfigError> {
    match url.split_once("://") {
        None => Ok(url),
        Some(("file", path)) if path.starts_with('/') => Ok(url),
        Some(("s3", rest)) if !rest.is_empty() && !rest.starts_with('/') => Ok(url),
        Some(_) => Err(ConfigError {
            variable: "MART_MEDIA_URL",
            value: url,
            message: "expected a folder (a path or file:///path) or s3://bucket/prefix".to_owned(),
        }),
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
        let media =
            Settings::from_pairs(&[("MART_MEDIA_URL", "s3://shop-media/prod"), ("MART_MEDIA_MAX_BYTES", "1024")])
                .unwrap();
        assert_eq!((media.media_url.as_deref(), media.media_max_bytes), (Some("s3://shop-media/prod"), 1024));
        let vars = Vars::from_pairs([("MART_CATALOG_CACHE_TTL", "5s")]);
        assert_eq!(Config::from_vars(Service::Product, &vars).unwrap().own.cache_ttl, Duration::from_secs(5));
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_refused::<Settings>(&[
            ("MART_CATALOG_CACHE_TTL", "a while"),
            ("MART_CATALOG_CACHE_TTL", "0s"),
            ("MART_CATALOG_CACHE_TTL", "-1s"),
            ("MART_MEDIA_URL", "ftp://example.com/media"),
            ("MART_MEDIA_URL", "s3://"),
            ("MART_MEDIA_MAX_BYTES", "0"),
            ("MART_MEDIA_MAX_BYTES", "5MB"),
        ]);
    }
}
