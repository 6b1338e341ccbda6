//! The edge's configuration: where it listens and its limits (its own knobs, read here),
//! plus the shared settings it needs from platform — where the services are, the token
//! claims, logs and traces. The edge has no gRPC address or database of its own.

use std::{net::SocketAddr, time::Duration};

use mart_platform::config::{AuthConfig, ConfigError, Peers, TelemetryConfig, Vars};

use crate::{
    client::{Cidr, ClientPolicy, ForwardingHeader},
    limits::Rate,
};

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
    /// `MART_MEDIA_MAX_BYTES`: the body limit of the one route that takes raw bytes, the
    /// image upload (`POST /v1/media`, default 5 MiB), read from the variable svc-product
    /// refuses larger uploads by; also how large a gRPC message to or from it may be.
    pub media_max_bytes: usize,
    /// Whether the shop takes cards in the browser (`MART_STRIPE_PUBLISHABLE_KEY` is set): the
    /// storefront's Content-Security-Policy then allows Stripe.js and its frames.
    pub card_payments: bool,
    /// `MART_EDGE_TIMEOUT`: a call's deadline when the client sets none (`grpc-timeout`);
    /// also how long a body (REST, gRPC or grpc-web) may take to arrive (default 10 s).
    pub request_timeout: Duration,
    /// `MART_EDGE_MAX_DEADLINE`: the longest deadline a unary call gets, whatever the
    /// client's `grpc-timeout` asks (default 30 s; longer asks are cut to this).
    pub max_deadline: Duration,
    /// `MART_EDGE_CONCURRENCY`: requests in flight before the edge sheds load (default 1024).
    pub concurrency: usize,
    /// `MART_EDGE_CONCURRENCY_PER_CLIENT`: how many of those one client may hold (default a
    /// quarter of `concurrency`); beyond it the client gets 429 and the others go on.
    pub concurrency_per_client: usize,
    /// `MART_EDGE_MAX_STREAMS_PER_CONNECTION`: concurrent HTTP/2 streams on one connection
    /// (default 100).
    pub max_streams_per_connection: u32,
    /// `MART_EDGE_MAX_CONNECTIONS`: open connections before new ones are closed at once
    /// (default 4096).
    pub max_connections: usize,
    /// `MART_EDGE_MAX_CONNECTIONS_PER_CLIENT`: open connections from one client address
    /// (default 128; trusted proxies count in the total only).
    pub max_connections_per_client: usize,
    /// `MART_EDGE_IDLE_TIMEOUT`: a connection with no request in flight for this long is
    /// closed (default 60 s).
    pub idle_timeout: Duration,
    /// `MART_EDGE_TRUSTED_PROXIES` (comma-separated addresses or CIDR blocks, default none)
    /// and `MART_EDGE_CLIENT_IP_HEADER` (`x-forwarded-for` or `forwarded`): whose forwarding
    /// header tells the client's address.
    pub clients: ClientPolicy,
    /// `MART_EDGE_TRUST_TRACE_CONTEXT`: adopt a client's `traceparent` as the parent of the
    /// edge's span (default off: the edge starts its own trace and links the client's).
    pub trust_trace_context: bool,
    /// `MART_EDGE_RATE_PER_IP`: requests per second per client address (default 200, burst
    /// twice that); `None` (0) for no limit.
    pub rate_per_ip: Option<Rate>,
    /// `MART_EDGE_RATE_PER_USER`: requests per second per signed-in account (default 50);
    /// `None` (0) for no limit.
    pub rate_per_user: Option<Rate>,
    /// `MART_CORS_ORIGINS`: origins allowed to call from a browser, comma-separated (default
    /// none); `*` allows every origin (without credentials, which the edge never allows).
    pub cors_origins: Vec<String>,
}

impl Config {
    /// Reads `vars`.
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            http_addr: vars.socket_addr_or("MART_HTTP_ADDR", SocketAddr::from(([127, 0, 0, 1], 8000)))?,
            settings: Settings::from_vars(vars)?,
            peers: Peers::from_vars(vars)?,
            auth: AuthConfig::from_vars(vars)?,
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
        let concurrency = vars.positive_or("MART_EDGE_CONCURRENCY", 1024)?;
        let trusted_proxies = vars
            .list("MART_EDGE_TRUSTED_PROXIES")
            .iter()
            .map(|item| item.parse::<Cidr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|message| ConfigError {
                variable: "MART_EDGE_TRUSTED_PROXIES",
                value: vars.get("MART_EDGE_TRUSTED_PROXIES").unwrap_or_default(),
                message,
            })?;
        let cors_origins = vars.list("MART_CORS_ORIGINS");
        if let Some(bad) = cors_origins.iter().find(|origin| !is_origin(origin)) {
            return Err(ConfigError {
                variable: "MART_CORS_ORIGINS",
                value: vars.get("MART_CORS_ORIGINS").unwrap_or_default(),
                message: format!(
                    "`{bad}` is not an origin: expected `*` or scheme://host[:port] (no path), comma-separated"
                ),
            });
        }
        Ok(Self {
            body_limit: vars.positive_or("MART_EDGE_BODY_LIMIT", 1 << 20)?,
            media_max_bytes: mart_platform::config::media_max_bytes(vars)?,
            card_payments: vars.get("MART_STRIPE_PUBLISHABLE_KEY").is_some(),
            request_timeout: vars.duration_or("MART_EDGE_TIMEOUT", Duration::from_secs(10))?,
            max_deadline: vars.duration_or("MART_EDGE_MAX_DEADLINE", Duration::from_secs(30))?,
            concurrency,
            concurrency_per_client: vars.positive_or("MART_EDGE_CONCURRENCY_PER_CLIENT", (concurrency / 4).max(1))?,
            max_streams_per_connection: vars.number_in("MART_EDGE_MAX_STREAMS_PER_CONNECTION", 100, 1..=u32::MAX)?,
            max_connections: vars.positive_or("MART_EDGE_MAX_CONNECTIONS", 4096)?,
            max_connections_per_client: vars.positive_or("MART_EDGE_MAX_CONNECTIONS_PER_CLIENT", 128)?,
            idle_timeout: vars.duration_or("MART_EDGE_IDLE_TIMEOUT", Duration::from_secs(60))?,
            clients: ClientPolicy {
                trusted_proxies,
                header: vars.parse_or("MART_EDGE_CLIENT_IP_HEADER", ForwardingHeader::default(), |v| v.parse())?,
            },
            trust_trace_context: vars.parse_or("MART_EDGE_TRUST_TRACE_CONTEXT", false, parse_switch)?,
            rate_per_ip: rate(vars.parse_or("MART_EDGE_RATE_PER_IP", 200, per_second)?),
            rate_per_user: rate(vars.parse_or("MART_EDGE_RATE_PER_USER", 50, per_second)?),
            cors_origins,
        })
    }
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
fn parse_switch(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".to_owned()),
    }
}

/// `*`, or what a browser sends as `Origin`: `scheme://host[:port]`, nothing after it.
fn is_origin(origin: &str) -> bool {
    if origin == "*" {
        return true;
    }
    let Some((scheme, host)) = origin.split_once("://") else { return false };
    !scheme.is_empty()
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !host.is_empty()
        && !host.contains(['/', '?', '#', ' ', '*'])
        && http::HeaderValue::from_str(origin).is_ok()
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
        assert_eq!(settings.max_deadline, Duration::from_secs(30));
        assert_eq!(settings.concurrency_per_client, 256);
        assert_eq!(settings.max_streams_per_connection, 100);
        assert_eq!((settings.max_connections, settings.max_connections_per_client), (4096, 128));
        assert_eq!(settings.idle_timeout, Duration::from_secs(60));
        assert!(settings.clients.trusted_proxies.is_empty());
        assert_eq!(settings.clients.header, ForwardingHeader::XForwardedFor);
        assert!(!settings.trust_trace_context);
    }

    #[test]
    fn the_new_limits_are_read() {
        let settings = with(&[
            ("MART_EDGE_CONCURRENCY", "100"),
            ("MART_EDGE_MAX_DEADLINE", "5s"),
            ("MART_EDGE_MAX_STREAMS_PER_CONNECTION", "16"),
            ("MART_EDGE_MAX_CONNECTIONS", "50"),
            ("MART_EDGE_MAX_CONNECTIONS_PER_CLIENT", "5"),
            ("MART_EDGE_IDLE_TIMEOUT", "2m"),
            ("MART_EDGE_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7,fd00::/8"),
            ("MART_EDGE_CLIENT_IP_HEADER", "Forwarded"),
            ("MART_EDGE_TRUST_TRACE_CONTEXT", "true"),
            ("MART_CORS_ORIGINS", "*"),
        ])
        .unwrap()
        .settings;
        // A quarter of the gate unless set.
        assert_eq!(settings.concurrency_per_client, 25);
        assert_eq!(settings.max_deadline, Duration::from_secs(5));
        assert_eq!(settings.max_streams_per_connection, 16);
        assert_eq!((settings.max_connections, settings.max_connections_per_client), (50, 5));
        assert_eq!(settings.idle_timeout, Duration::from_secs(120));
        let trusted: Vec<String> = settings.clients.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(trusted, ["10.0.0.0/8", "192.0.2.7/32", "fd00::/8"]);
        assert_eq!(settings.clients.header, ForwardingHeader::Forwarded);
        assert!(settings.trust_trace_context);
        assert_eq!(settings.cors_origins, ["*"]);
        let settings = with(&[("MART_EDGE_CONCURRENCY_PER_CLIENT", "7")]).unwrap().settings;
        assert_eq!(settings.concurrency_per_client, 7);
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
            ("MART_EDGE_MAX_DEADLINE", "0"),
            ("MART_EDGE_CONCURRENCY_PER_CLIENT", "0"),
            ("MART_EDGE_MAX_STREAMS_PER_CONNECTION", "0"),
            ("MART_EDGE_MAX_CONNECTIONS", "many"),
            ("MART_EDGE_MAX_CONNECTIONS_PER_CLIENT", "-3"),
            ("MART_EDGE_IDLE_TIMEOUT", "forever"),
            ("MART_EDGE_TRUSTED_PROXIES", "10.0.0.0/8, ingress.local"),
            ("MART_EDGE_TRUSTED_PROXIES", "10.0.0.0/40"),
            ("MART_EDGE_CLIENT_IP_HEADER", "x-real-ip"),
            ("MART_EDGE_TRUST_TRACE_CONTEXT", "maybe"),
            ("MART_CORS_ORIGINS", "https://shop.example/"),
            ("MART_CORS_ORIGINS", "shop.example"),
            ("MART_USER_ADDR", "127.0.0.1:50051"),
            ("MART_LOG_FORMAT", "xml"),
        ] {
            let error = with(&[(variable, value)]).expect_err(variable);
            assert_eq!(error.variable, variable);
            assert!(error.to_string().contains(variable), "{error}");
        }
    }
}
