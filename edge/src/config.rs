//! The edge's configuration: where it listens and its limits (its own knobs, read here),
//! plus the shared settings it needs from platform — where the services are, the token
//! claims, logs and traces. The edge has no gRPC address or database of its own.

use std::{net::SocketAddr, time::Duration};

use mart_platform::config::{AuthConfig, ConfigError, Peers, TelemetryConfig, Vars};

use crate::limits::Rate;

/// Everything the edge binary reads.
#[derive(Clone, Debug)]
pub struct Config {
    /// `MART_HTTP_ADDR`: where the edge listens (default 127.0.0.1:8000).
    pub http_addr: SocketAddr,
    /// Its limits.
    pub settings: Settings,
    /// Where the services are (`MART_*_ADDR`).
    pub peers: Peers,
    /// The claims tokens are checked for.
    pub auth: AuthConfig,
    /// Logs and traces.
    pub telemetry: TelemetryConfig,
}

/// What the edge needs besides its listener and the services' addresses.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `MART_EDGE_BODY_LIMIT`: the largest request body, in bytes (default 1 MiB); larger is 413.
    pub body_limit: usize,
    /// `MART_EDGE_TIMEOUT`: a call's deadline when the client sets none (`grpc-timeout`);
    /// also how long a body may take to arrive (default 10 s).
    pub request_timeout: Duration,
    /// `MART_EDGE_CONCURRENCY`: requests in flight before the edge sheds load (default 1024).
    pub concurrency: usize,
    /// `MART_EDGE_RATE_PER_IP`: requests per second per client IP (default 200, burst twice
    /// that); `None` (0) for no limit.
    pub rate_per_ip: Option<Rate>,
    /// `MART_EDGE_RATE_PER_USER`: requests per second per signed-in account (default 50);
    /// `None` (0) for no limit.
    pub rate_per_user: Option<Rate>,
    /// `MART_CORS_ORIGINS`: origins allowed to call from a browser, comma-separated (default none).
    pub cors_origins: Vec<String>,
}

impl Config {
    /// Reads `vars`.
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            http_addr: vars.socket_addr_or("MART_HTTP_ADDR", SocketAddr::from(([127, 0, 0, 1], 8000)))?,
            settings: Settings::from_vars(vars)?,
            peers: Peers::from_vars(vars)?,
            auth: AuthConfig::shop(),
            telemetry: TelemetryConfig::from_vars(vars)?,
        })
    }

    /// The defaults, as with an empty environment: the services on their own ports of
    /// 127.0.0.1 (what `mart up` and the tests start from).
    pub fn embedded() -> Self {
        // With no variable set nothing can fail to parse.
        Self::from_vars(&Vars::default()).expect("defaults are valid")
    }
}

impl Settings {
    /// Reads the edge's limits from `vars`.
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let per_second =
            |v: &str| v.parse::<u32>().map_err(|_| "expected requests per second, 0 for no limit".to_owned());
        let rate = |per_second: u32| {
            (per_second > 0).then(|| Rate { per_second: f64::from(per_second), burst: f64::from(per_second) * 2.0 })
        };
        Ok(Self {
            body_limit: vars.positive_or("MART_EDGE_BODY_LIMIT", 1 << 20)?,
            request_timeout: vars.duration_or("MART_EDGE_TIMEOUT", Duration::from_secs(10))?,
            concurrency: vars.positive_or("MART_EDGE_CONCURRENCY", 1024)?,
            rate_per_ip: rate(vars.parse_or("MART_EDGE_RATE_PER_IP", 200, per_second)?),
            rate_per_user: rate(vars.parse_or("MART_EDGE_RATE_PER_USER", 50, per_second)?),
            cors_origins: vars.list("MART_CORS_ORIGINS"),
        })
    }
}

impl Default for Settings {
    fn default() -> Self {
        Config::embedded().settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(&Vars::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn defaults() {
        let config = Config::embedded();
        assert_eq!(config.http_addr, "127.0.0.1:8000".parse().unwrap());
        assert_eq!(config.peers.user, "http://127.0.0.1:50051");
        let settings = config.settings;
        assert_eq!((settings.body_limit, settings.concurrency), (1 << 20, 1024));
        assert_eq!(settings.request_timeout, Duration::from_secs(10));
        assert_eq!(settings.rate_per_ip.map(|r| r.per_second), Some(200.0));
        assert_eq!(settings.rate_per_user.map(|r| r.burst), Some(100.0));
        assert!(settings.cors_origins.is_empty());
    }

    #[test]
    fn values_are_read() {
        let config = with(&[
            ("MART_HTTP_ADDR", "0.0.0.0:8080"),
            ("MART_CORS_ORIGINS", "https://a.example, https://b.example"),
            ("MART_EDGE_BODY_LIMIT", "2048"),
            ("MART_EDGE_RATE_PER_IP", "0"),
            ("MART_EDGE_TIMEOUT", "3s"),
            ("MART_PRODUCT_ADDR", "http://catalog:50052/"),
        ])
        .unwrap();
        assert_eq!(config.http_addr.port(), 8080);
        assert_eq!(config.peers.product, "http://catalog:50052");
        let settings = config.settings;
        assert_eq!(settings.cors_origins, ["https://a.example", "https://b.example"]);
        assert_eq!((settings.body_limit, settings.rate_per_ip.is_none()), (2048, true));
        assert_eq!(settings.rate_per_user.map(|r| r.per_second), Some(50.0));
        assert_eq!(settings.request_timeout, Duration::from_secs(3));
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (variable, value) in [
            ("MART_HTTP_ADDR", "localhost"),
            ("MART_EDGE_BODY_LIMIT", "0"),
            ("MART_EDGE_TIMEOUT", "soon"),
            ("MART_EDGE_CONCURRENCY", "-1"),
            ("MART_EDGE_RATE_PER_IP", "lots"),
            ("MART_EDGE_RATE_PER_USER", "-5"),
            ("MART_USER_ADDR", "127.0.0.1:50051"),
            ("MART_LOG_FORMAT", "xml"),
        ] {
            let error = with(&[(variable, value)]).expect_err(variable);
            assert_eq!(error.variable, variable);
            assert!(error.to_string().contains(variable), "{error}");
        }
    }
}
