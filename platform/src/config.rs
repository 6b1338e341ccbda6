//! Typed configuration, read once from the environment (DESIGN.md §5).
//!
//! Every variable has a default that works for the embedded mode; a value that does not
//! parse stops start-up with a message naming the variable ([`ConfigError`], exit code 2).
//! Tests never touch the process environment: they build a [`Config`] with
//! [`Config::from_vars`] or adjust the fields of [`Config::embedded`].
//!
//! The mechanism lives here — [`Vars`], the lookup, with parse helpers that name the
//! variable in their error — and so do the settings every service shares: addresses, its
//! database, the event bus, token claims, telemetry. A service's own knobs live in its own
//! crate (`svc-payment/src/config.rs`), as a type implementing [`Settings`] that [`Config`]
//! carries as `own`: adding a knob touches one crate.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

// === Vars ===

/// The variables a configuration is read from: a snapshot of the process environment, or
/// a test's own pairs. An empty value counts as unset.
#[derive(Clone, Debug, Default)]
pub struct Vars(HashMap<String, String>);

impl Vars {
    /// The process environment, as it is now.
    pub fn from_env() -> Self {
        Self(std::env::vars().collect())
    }

    /// Exactly `pairs` (tests).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(pairs.into_iter().map(|(name, value)| (name.to_owned(), value.to_owned())).collect())
    }

    /// These variables with `name` set to `value` (a command-line flag over the environment).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_owned(), value.into());
    }

    /// These variables without `name` (one that means something else in this program).
    pub fn remove(&mut self, name: &str) {
        self.0.remove(name);
    }

    /// `name`'s value, trimmed; `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// `name`'s value as given, spaces kept (a password); `None` when unset or empty.
    pub fn get_raw(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.is_empty()).cloned()
    }

    /// `name` parsed by `parse`, `default` when unset; a failed parse names `name`.
    pub fn parse_or<T>(
        &self,
        name: &'static str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        parse_or(name, self.get(name), default, parse)
    }

    /// `name` as a duration (`90s`, `15m`, `30d`; never zero), `default` when unset.
    pub fn duration_or(&self, name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
        self.parse_or(name, default, parse_duration)
    }

    /// `name` as a duration, where `0` means "off" ([`Duration::ZERO`]); `default` when unset.
    /// For knobs that can be switched off (a cache's lifetime), which `duration_or` refuses.
    pub fn duration_or_off(&self, name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
        self.parse_or(name, default, |v| if v == "0" { Ok(Duration::ZERO) } else { parse_duration(v) })
    }

    /// `name` as a whole number within `range`, `default` when unset.
    pub fn number_in<T>(
        &self,
        name: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + std::fmt::Display,
    {
        self.parse_or(name, default, |v| {
            v.parse()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| format!("expected a number from {} to {}", range.start(), range.end()))
        })
    }

    /// `name` as a positive whole number, `default` when unset.
    pub fn positive_or(&self, name: &'static str, default: usize) -> Result<usize, ConfigError> {
        self.parse_or(name, default, parse_positive)
    }

    /// `name` as `host:port`, `default` when unset.
    pub fn socket_addr_or(&self, name: &'static str, default: SocketAddr) -> Result<SocketAddr, ConfigError> {
        self.parse_or(name, default, parse_socket_addr)
    }

    /// `name` as an `http://` or `https://` URL, if set.
    pub fn http_url(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
        self.get(name).map(|v| parse_http_url(name, v)).transpose()
    }

    /// `name` as a comma-separated list, empty items dropped; empty when unset.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| v.split(',').map(|item| item.trim().to_owned()).filter(|item| !item.is_empty()).collect())
            .unwrap_or_default()
    }
}

/// A service's own settings, read from [`Vars`] by the service's crate.
pub trait Settings: Clone + std::fmt::Debug + Send + Sync + Sized + 'static {
    /// Reads them; a bad value is an error naming its variable.
    fn from_vars(vars: &Vars) -> Result<Self, ConfigError>;

    /// Reads them from exactly `pairs`, nothing from the environment (tests).
    fn from_pairs(pairs: &[(&str, &str)]) -> Result<Self, ConfigError> {
        Self::from_vars(&Vars::from_pairs(pairs.iter().copied()))
    }
}

/// A service with no settings of its own.
impl Settings for () {
    fn from_vars(_: &Vars) -> Result<Self, ConfigError> {
        Ok(())
    }
}

/// The six services, for their defaults (port, database file).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// Accounts, tokens, addresses.
    User,
    /// The catalog.
    Product,
    /// Cart and checkout.
    Order,
    /// Stock.
    Inventory,
    /// Inbox, email, SMS.
    Notify,
    /// Payments.
    Payment,
}

impl Service {
    /// Every service, in port order.
    pub const ALL: [Service; 6] =
        [Service::User, Service::Product, Service::Order, Service::Inventory, Service::Notify, Service::Payment];

    /// The binary's name, `svc-user`, …: its `service.name` in traces and its metrics label.
    pub fn process_name(self) -> &'static str {
        match self {
            Service::User => "svc-user",
            Service::Product => "svc-product",
            Service::Order => "svc-order",
            Service::Inventory => "svc-inventory",
            Service::Notify => "svc-notify",
            Service::Payment => "svc-payment",
        }
    }

    /// The short name: `user`, `product`, …
    pub fn name(self) -> &'static str {
        match self {
            Service::User => "user",
            Service::Product => "product",
            Service::Order => "order",
            Service::Inventory => "inventory",
            Service::Notify => "notify",
            Service::Payment => "payment",
        }
    }

    /// The port it listens on by default (DESIGN.md §1).
    pub fn default_port(self) -> u16 {
        match self {
            Service::User => 50051,
            Service::Product => 50052,
            Service::Order => 50053,
            Service::Inventory => 50054,
            Service::Notify => 50055,
            Service::Payment => 50056,
        }
    }

    fn addr_variable(self) -> &'static str {
        match self {
            Service::User => "MART_USER_ADDR",
            Service::Product => "MART_PRODUCT_ADDR",
            Service::Order => "MART_ORDER_ADDR",
            Service::Inventory => "MART_INVENTORY_ADDR",
            Service::Notify => "MART_NOTIFY_ADDR",
            Service::Payment => "MART_PAYMENT_ADDR",
        }
    }
}

/// A variable that is set to something we cannot use. It names the variable and shows the
/// value, except what is secret: the value of a `*_PASSWORD`, `*_SECRET` or `*_KEY` variable
/// is hidden, and so is the password in a URL's `user:password@` (`DATABASE_URL`, `SMTP_URL`).
#[derive(thiserror::Error)]
#[error("invalid {variable}={}: {message}", shown(variable, value))]
pub struct ConfigError {
    /// The variable's name, so the operator knows what to fix.
    pub variable: &'static str,
    /// The value as given (secret: shown only as [`ConfigError`]'s `Display` shows it).
    pub value: String,
    /// What was expected.
    pub message: String,
}

impl std::fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigError")
            .field("variable", &self.variable)
            .field("value", &shown(self.variable, &self.value))
            .field("message", &self.message)
            .finish()
    }
}

/// `value` of `variable` as an error may show it.
fn shown(variable: &str, value: &str) -> String {
    if ["PASSWORD", "SECRET", "KEY"].iter().any(|secret| variable.ends_with(secret)) {
        return "(hidden)".to_owned();
    }
    // scheme://user:password@host… → scheme://user:***@host…
    if let Some((scheme, rest)) = value.split_once("://") {
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@')
            && let Some(colon) = rest[..at].find(':')
        {
            return format!("{:?}", format!("{scheme}://{}:***{}", &rest[..colon], &rest[at..]));
        }
    }
    format!("{value:?}")
}

/// Everything a service binary needs to start: the settings every service shares, and
/// its own (`S`, defined in its crate) as `own`.
#[derive(Clone, Debug)]
pub struct Config<S = ()> {
    /// Which service this is; picks the defaults below.
    pub service: Service,
    /// `MART_GRPC_ADDR`: where this service listens.
    pub grpc_addr: SocketAddr,
    /// `MART_DATA_DIR`: where embedded SQLite files live.
    pub data_dir: PathBuf,
    /// `DATABASE_URL`: this service's own database.
    pub database_url: String,
    /// Where the other services are reached (`MART_*_ADDR`).
    pub peers: Peers,
    /// The event bus.
    pub events: EventsConfig,
    /// The claims every token carries and every verifier checks.
    pub auth: AuthConfig,
    /// Logs and traces.
    pub telemetry: TelemetryConfig,
    /// The service's own settings, read by its crate.
    pub own: S,
}

/// Addresses (`http://host:port`) of every service, for gRPC clients.
#[derive(Clone, Debug)]
pub struct Peers {
    /// `MART_USER_ADDR`.
    pub user: String,
    /// `MART_PRODUCT_ADDR`.
    pub product: String,
    /// `MART_ORDER_ADDR`.
    pub order: String,
    /// `MART_INVENTORY_ADDR`.
    pub inventory: String,
    /// `MART_NOTIFY_ADDR`.
    pub notify: String,
    /// `MART_PAYMENT_ADDR`.
    pub payment: String,
}

impl Peers {
    /// The address of `service`.
    pub fn of(&self, service: Service) -> &str {
        match service {
            Service::User => &self.user,
            Service::Product => &self.product,
            Service::Order => &self.order,
            Service::Inventory => &self.inventory,
            Service::Notify => &self.notify,
            Service::Payment => &self.payment,
        }
    }
}

/// Which event bus carries domain events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventBusKind {
    /// A durable log in a SQL database, for one machine.
    Embedded,
    /// Kafka, for production.
    Kafka,
}

/// Who makes the Kafka topics exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KafkaTopics {
    /// Each service creates missing topics through the admin API at start (`create`).
    Create,
    /// Topics are provisioned outside the services (`external`: by operators, or for a
    /// broker without the admin API such as librdkafka's mock cluster); a service only
    /// checks at start that they exist.
    External,
}

/// `MART_EVENT_BUS`, `KAFKA_BROKERS` and the event bus's tuning.
#[derive(Clone, Debug)]
pub struct EventsConfig {
    /// `MART_EVENT_BUS`.
    pub bus: EventBusKind,
    /// `KAFKA_BROKERS`: bootstrap servers.
    pub kafka_brokers: String,
    /// `MART_KAFKA_TOPICS`: `create` (the default) or `external`.
    pub kafka_topics: KafkaTopics,
    /// `MART_EVENT_LOG_URL`: the embedded bus's log (a SQLite file shared by the services of
    /// one host by default; PostgreSQL also works).
    pub log_url: String,
    /// `MART_EVENT_PARTITIONS`: partitions per topic (created topics, embedded log).
    pub partitions: u32,
    /// `MART_EVENT_MAX_ATTEMPTS`: the most attempts of an event whose handler fails
    /// transiently before it goes to the DLQ; `0` (the default): no cap, only the window.
    /// A permanent failure goes to the DLQ at once.
    pub max_attempts: u32,
    /// `MART_EVENT_RETRY_WINDOW`: how long after its first transient failure an event is
    /// still tried (with backoff up to 10 s) before it goes to the DLQ. Default 24h.
    pub retry_window: Duration,
    /// `MART_OUTBOX_RETENTION`: how long sent outbox rows are kept.
    pub outbox_retention: Duration,
    /// `MART_EVENT_RETENTION`: how long the embedded log keeps events, and consumers (and
    /// svc-payment, for Stripe's) remember the events they handled.
    pub event_retention: Duration,
    /// `KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME`,
    /// `KAFKA_SASL_PASSWORD`, `KAFKA_SSL_CA_LOCATION`: how to reach a secured cluster, as
    /// librdkafka properties.
    pub kafka_client: KafkaClient,
    /// `MART_KAFKA_SESSION_TIMEOUT`: how long a silent consumer keeps its partitions
    /// (how soon a crashed replica's events move on); 6s to 30m.
    pub kafka_session_timeout: Duration,
}

/// librdkafka client properties (`security.protocol`, `sasl.username`, …). `Debug` hides
/// the password.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KafkaClient(pub Vec<(String, String)>);

impl std::fmt::Debug for KafkaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = self.0.iter().map(|(key, value)| (key, if key.contains("password") { "(hidden)" } else { value }));
        f.debug_map().entries(shown).finish()
    }
}

impl KafkaClient {
    /// The properties `vars` ask for, checked for a combination librdkafka can connect with.
    fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let refuse = |variable: &'static str, value: &str, message: &str| ConfigError {
            variable,
            value: value.to_owned(),
            message: message.to_owned(),
        };
        let mut client = Vec::new();
        let protocol = vars.parse_or("KAFKA_SECURITY_PROTOCOL", None, |v| {
            let v = v.to_ascii_lowercase();
            match v.as_str() {
                "plaintext" | "ssl" | "sasl_plaintext" | "sasl_ssl" => Ok(Some(v)),
                _ => Err("expected plaintext, ssl, sasl_plaintext or sasl_ssl".to_owned()),
            }
        })?;
        let mechanism = vars.parse_or("KAFKA_SASL_MECHANISM", None, |v| {
            let v = v.to_ascii_uppercase();
            match v.as_str() {
                "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512" | "OAUTHBEARER" => Ok(Some(v)),
                _ => Err("expected PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER".to_owned()),
            }
        })?;
        let username = vars.get("KAFKA_SASL_USERNAME");
        let password = vars.get_raw("KAFKA_SASL_PASSWORD").filter(|p| !p.is_empty());
        let sasl = protocol.as_deref().is_some_and(|p| p.starts_with("sasl_"));
        if sasl && mechanism.is_none() {
            return Err(refuse("KAFKA_SASL_MECHANISM", "", "required with a sasl_* KAFKA_SECURITY_PROTOCOL"));
        }
        if !sasl && (mechanism.is_some() || username.is_some() || password.is_some()) {
            let value = protocol.as_deref().unwrap_or_default();
            return Err(refuse("KAFKA_SECURITY_PROTOCOL", value, "SASL settings need sasl_ssl (or sasl_plaintext)"));
        }
        let needs_credentials = mechanism.as_deref().is_some_and(|m| m != "OAUTHBEARER");
        match (username.is_some(), password.is_some()) {
            (true, false) => return Err(refuse("KAFKA_SASL_PASSWORD", "", "required with KAFKA_SASL_USERNAME")),
            (false, true) => return Err(refuse("KAFKA_SASL_USERNAME", "", "required with KAFKA_SASL_PASSWORD")),
            (false, false) if needs_credentials => {
                return Err(refuse("KAFKA_SASL_USERNAME", "", "required with this KAFKA_SASL_MECHANISM"));
            }
            _ => {}
        }
        if let Some(ca) = vars.get("KAFKA_SSL_CA_LOCATION") {
            if !Path::new(&ca).exists() {
                return Err(refuse("KAFKA_SSL_CA_LOCATION", &ca, "no such file"));
            }
            client.push(("ssl.ca.location".to_owned(), ca));
        }
        for (key, value) in [
            ("security.protocol", protocol),
            ("sasl.mechanism", mechanism),
            ("sasl.username", username),
            ("sasl.password", password),
        ] {
            if let Some(value) = value {
                client.push((key.to_owned(), value));
            }
        }
        Ok(Self(client))
    }
}

/// The claims of the shop's tokens and how verifiers keep up with svc-user. Issuer and
/// audience are fixed names, not knobs: every service must agree. (The lifetime svc-user
/// gives its tokens is its own setting, `MART_ACCESS_TOKEN_TTL`, at most the maximum here.)
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// The `iss` claim.
    pub issuer: String,
    /// The `aud` claim.
    pub audience: String,
    /// `MART_ACCESS_TOKEN_MAX_TTL`: tokens valid for longer (`exp - iat`) are refused
    /// (default 1h).
    pub max_token_lifetime: Duration,
    /// `MART_AUTH_REFRESH_INTERVAL`: how often verifiers fetch svc-user's keys and revoked
    /// sessions (default 1s): a retired key or an ended session stops working within it.
    pub refresh_interval: Duration,
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// OTLP wire protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// OTLP over gRPC.
    Grpc,
    /// OTLP over HTTP with protobuf bodies.
    HttpProtobuf,
}

/// `RUST_LOG`, `MART_LOG_FORMAT`, `OTEL_EXPORTER_OTLP_*`.
#[derive(Clone, Debug)]
pub struct TelemetryConfig {
    /// `RUST_LOG`.
    pub log_filter: String,
    /// `MART_LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`; unset means no export.
    pub otlp_endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub otlp_protocol: OtlpProtocol,
    /// `MART_METRICS_ADDR`: where a service answers `GET /metrics` (Prometheus text);
    /// unset means no listener (the edge always serves `/metrics` on its own port).
    pub metrics_addr: Option<SocketAddr>,
}

// === impl Config ===

impl<S: Settings> Config<S> {
    /// Reads the process environment.
    pub fn from_env(service: Service) -> Result<Self, ConfigError> {
        Self::from_vars(service, &Vars::from_env())
    }

    /// The embedded defaults, as with an empty environment.
    pub fn embedded(service: Service) -> Self {
        // With no variable set nothing can fail to parse.
        Self::from_vars(service, &Vars::default()).expect("defaults are valid")
    }

    /// Reads `vars`: the shared settings here, the service's own with `S`.
    pub fn from_vars(service: Service, vars: &Vars) -> Result<Self, ConfigError> {
        let shared = Config::shared(service, vars)?;
        Ok(shared.with(S::from_vars(vars)?))
    }
}

impl<S> Config<S> {
    /// This configuration with `own` as the service's own settings.
    pub fn with<T>(self, own: T) -> Config<T> {
        let Config { service, grpc_addr, data_dir, database_url, peers, events, auth, telemetry, own: _ } = self;
        Config { service, grpc_addr, data_dir, database_url, peers, events, auth, telemetry, own }
    }
}

impl Config {
    /// The settings every service shares, from `vars`.
    fn shared(service: Service, vars: &Vars) -> Result<Self, ConfigError> {
        let data_dir = data_dir(vars);
        let database_url = match vars.get("DATABASE_URL") {
            Some(url) => check_database_url("DATABASE_URL", url)?,
            None => sqlite_url(&data_dir, service),
        };
        Ok(Config {
            service,
            grpc_addr: vars.socket_addr_or("MART_GRPC_ADDR", default_addr(service.default_port()))?,
            peers: Peers::from_vars(vars)?,
            events: EventsConfig::from_vars(vars, &data_dir)?,
            auth: AuthConfig::from_vars(vars)?,
            telemetry: TelemetryConfig::from_vars(vars)?,
            data_dir,
            database_url,
            own: (),
        })
    }
}

// === the shared sections ===

/// The default of `MART_MEDIA_MAX_BYTES`: 5 MiB.
pub const DEFAULT_MEDIA_MAX_BYTES: usize = 5 << 20;

/// Room for what an upload's gRPC message holds beside the image (its content type, the
/// protobuf framing): a message to or from the media routes may be `MART_MEDIA_MAX_BYTES`
/// plus this, so that a larger image is refused by the media limit, not by a message limit.
pub const MEDIA_MESSAGE_OVERHEAD: usize = 16 << 10;

/// The largest gRPC message of the media routes when images may be `media_max_bytes`.
pub fn media_message_limit(media_max_bytes: usize) -> usize {
    media_max_bytes.saturating_add(MEDIA_MESSAGE_OVERHEAD)
}

/// `MART_MEDIA_MAX_BYTES`: the largest uploaded image, in bytes (default 5 MiB). svc-product
/// refuses larger uploads and the edge lets uploads this large through (its body limit for
/// every other route is far smaller), so both read it here.
pub fn media_max_bytes(vars: &Vars) -> Result<usize, ConfigError> {
    vars.positive_or("MART_MEDIA_MAX_BYTES", DEFAULT_MEDIA_MAX_BYTES)
}

/// `MART_DATA_DIR`: where embedded SQLite files live (default `./.mart`).
pub fn data_dir(vars: &Vars) -> PathBuf {
    vars.get("MART_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("./.mart"))
}

impl Peers {
    /// `MART_USER_ADDR` … `MART_PAYMENT_ADDR`, each defaulting to its port on 127.0.0.1.
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let peer = |s: Service| -> Result<String, ConfigError> {
            vars.parse_or(s.addr_variable(), format!("http://127.0.0.1:{}", s.default_port()), |v| {
                if (v.starts_with("http://") || v.starts_with("https://")) && v.len() > "https://".len() {
                    Ok(v.trim_end_matches('/').to_owned())
                } else {
                    Err("expected http://host:port".to_owned())
                }
            })
        };
        Ok(Peers {
            user: peer(Service::User)?,
            product: peer(Service::Product)?,
            order: peer(Service::Order)?,
            inventory: peer(Service::Inventory)?,
            notify: peer(Service::Notify)?,
            payment: peer(Service::Payment)?,
        })
    }
}

impl EventsConfig {
    /// `MART_EVENT_BUS`, `KAFKA_BROKERS`, `MART_KAFKA_TOPICS`, `MART_EVENT_LOG_URL` (default
    /// `events.db` in `data_dir`), `MART_EVENT_PARTITIONS`, `MART_EVENT_MAX_ATTEMPTS`,
    /// `MART_OUTBOX_RETENTION`.
    pub fn from_vars(vars: &Vars, data_dir: &Path) -> Result<Self, ConfigError> {
        Ok(EventsConfig {
            bus: vars.parse_or("MART_EVENT_BUS", EventBusKind::Embedded, |v| match v {
                "embedded" => Ok(EventBusKind::Embedded),
                "kafka" => Ok(EventBusKind::Kafka),
                _ => Err("expected embedded or kafka".to_owned()),
            })?,
            kafka_brokers: vars.get("KAFKA_BROKERS").unwrap_or_else(|| "localhost:9092".to_owned()),
            kafka_topics: vars.parse_or("MART_KAFKA_TOPICS", KafkaTopics::Create, |v| match v {
                "create" => Ok(KafkaTopics::Create),
                "external" => Ok(KafkaTopics::External),
                _ => Err("expected create or external".to_owned()),
            })?,
            log_url: match vars.get("MART_EVENT_LOG_URL") {
                Some(url) => check_database_url("MART_EVENT_LOG_URL", url)?,
                None => format!("sqlite://{}?mode=rwc", data_dir.join("events.db").display()),
            },
            partitions: vars.number_in("MART_EVENT_PARTITIONS", 4, 1..=1024)?,
            max_attempts: vars.number_in("MART_EVENT_MAX_ATTEMPTS", 0, 0..=1_000_000)?,
            retry_window: vars.duration_or("MART_EVENT_RETRY_WINDOW", Duration::from_secs(24 * 3600))?,
            outbox_retention: vars.duration_or("MART_OUTBOX_RETENTION", Duration::from_secs(7 * 24 * 3600))?,
            event_retention: vars.duration_or("MART_EVENT_RETENTION", Duration::from_secs(30 * 24 * 3600))?,
            kafka_client: KafkaClient::from_vars(vars)?,
            kafka_session_timeout: vars.parse_or(
                "MART_KAFKA_SESSION_TIMEOUT",
                crate::bus::kafka::DEFAULT_SESSION_TIMEOUT,
                |v| match parse_duration(v)? {
                    d if (Duration::from_secs(6)..=Duration::from_secs(1800)).contains(&d) => Ok(d),
                    _ => Err("expected 6s to 30m (what brokers accept by default)".to_owned()),
                },
            )?,
        })
    }
}

impl AuthConfig {
    /// The claims every token of this shop carries and every verifier checks, with the
    /// default lifetime and refresh.
    pub fn shop() -> Self {
        AuthConfig {
            issuer: "mart".to_owned(),
            audience: "mart".to_owned(),
            max_token_lifetime: crate::auth::jwt::DEFAULT_MAX_TOKEN_LIFETIME,
            refresh_interval: Duration::from_secs(1),
        }
    }

    /// [`AuthConfig::shop`] with `MART_ACCESS_TOKEN_MAX_TTL` and `MART_AUTH_REFRESH_INTERVAL`.
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let shop = Self::shop();
        Ok(AuthConfig {
            max_token_lifetime: vars.duration_or("MART_ACCESS_TOKEN_MAX_TTL", shop.max_token_lifetime)?,
            refresh_interval: vars.duration_or("MART_AUTH_REFRESH_INTERVAL", shop.refresh_interval)?,
            ..shop
        })
    }
}

impl TelemetryConfig {
    /// `RUST_LOG`, `MART_LOG_FORMAT`, `OTEL_EXPORTER_OTLP_ENDPOINT`,
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`, `MART_METRICS_ADDR`.
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        Ok(TelemetryConfig {
            // Migrations and SQL statements are worth seeing only when asked for.
            log_filter: vars.get("RUST_LOG").unwrap_or_else(|| "info,sea_orm_migration=warn,sqlx=warn".to_owned()),
            log_format: vars.parse_or("MART_LOG_FORMAT", LogFormat::Text, |v| match v {
                "text" => Ok(LogFormat::Text),
                "json" => Ok(LogFormat::Json),
                _ => Err("expected text or json".to_owned()),
            })?,
            otlp_endpoint: vars.http_url("OTEL_EXPORTER_OTLP_ENDPOINT")?,
            otlp_protocol: vars.parse_or("OTEL_EXPORTER_OTLP_PROTOCOL", OtlpProtocol::Grpc, |v| match v {
                "grpc" => Ok(OtlpProtocol::Grpc),
                "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
                _ => Err("expected grpc or http/protobuf".to_owned()),
            })?,
            metrics_addr: match vars.get("MART_METRICS_ADDR") {
                None => None,
                Some(_) => Some(vars.socket_addr_or("MART_METRICS_ADDR", default_addr(0))?),
            },
        })
    }
}

/// Reads the environment or ends the process with exit code 2 and a message naming the
/// variable: what a binary's `main` calls first.
pub fn load_or_exit<S: Settings>(service: Service) -> Config<S> {
    load_as_or_exit(service.process_name(), service)
}

/// The configuration of a program that is not one service (the edge, `mart`): the same
/// variables, read as `service` reads them; a bad value is reported under `program`'s name.
pub fn load_as_or_exit<S: Settings>(program: &str, service: Service) -> Config<S> {
    match Config::from_env(service) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{program}: {error}");
            std::process::exit(2);
        }
    }
}

/// The embedded default database of `service`: a SQLite file in the data dir.
pub fn sqlite_url(data_dir: &Path, service: Service) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join(format!("{}.db", service.name())).display())
}

fn default_addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn parse_or<T>(
    variable: &'static str,
    value: Option<String>,
    default: T,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    match value {
        None => Ok(default),
        Some(value) => parse(&value).map_err(|message| ConfigError { variable, value, message }),
    }
}

fn parse_positive(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("expected a positive whole number".to_owned()),
    }
}

fn parse_socket_addr(value: &str) -> Result<SocketAddr, String> {
    value.parse().map_err(|_| "expected host:port, e.g. 127.0.0.1:50051".to_owned())
}

fn parse_duration(value: &str) -> Result<Duration, String> {
    match humantime::parse_duration(value) {
        Ok(d) if d.is_zero() => Err("must be longer than zero".to_owned()),
        Ok(d) => Ok(d),
        Err(_) => Err("expected a duration such as 90s, 15m, 12h or 30d".to_owned()),
    }
}

fn parse_http_url(variable: &'static str, value: String) -> Result<String, ConfigError> {
    if value.starts_with("http://") || value.starts_with("https://") {
        Ok(value)
    } else {
        Err(ConfigError { variable, value, message: "expected an http:// or https:// URL".to_owned() })
    }
}

/// `value` if it is a database URL the services can open (`postgres://…`, `sqlite:…`); else an
/// error naming `variable` (or the flag that carried it).
pub fn check_database_url(variable: &'static str, value: String) -> Result<String, ConfigError> {
    if value.starts_with("postgres://") || value.starts_with("postgresql://") || value.starts_with("sqlite:") {
        Ok(value)
    } else {
        Err(ConfigError { variable, value, message: "expected postgres://… or sqlite://…".to_owned() })
    }
}

#[cfg(test)]
mod kafka_client_tests {
    use super::*;

    fn events(pairs: &[(&str, &str)]) -> Result<EventsConfig, ConfigError> {
        EventsConfig::from_vars(&Vars::from_pairs(pairs.iter().copied()), Path::new("/tmp"))
    }

    #[test]
    fn a_secured_cluster_is_reached_with_the_properties_librdkafka_takes() {
        let ca = tempfile::NamedTempFile::new().unwrap();
        let ca_path = ca.path().display().to_string();
        let config = events(&[
            ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
            ("KAFKA_SASL_MECHANISM", "scram-sha-512"),
            ("KAFKA_SASL_USERNAME", "shop"),
            ("KAFKA_SASL_PASSWORD", "s3cret"),
            ("KAFKA_SSL_CA_LOCATION", ca_path.as_str()),
            ("MART_KAFKA_SESSION_TIMEOUT", "10s"),
        ])
        .unwrap();
        let properties: HashMap<_, _> = config.kafka_client.0.iter().cloned().collect();
        assert_eq!(properties["security.protocol"], "sasl_ssl");
        assert_eq!(properties["sasl.mechanism"], "SCRAM-SHA-512");
        assert_eq!((properties["sasl.username"].as_str(), properties["sasl.password"].as_str()), ("shop", "s3cret"));
        assert_eq!(properties["ssl.ca.location"], ca_path);
        assert_eq!(config.kafka_session_timeout, Duration::from_secs(10));
        assert!(!format!("{config:?}").contains("s3cret"), "the password stays out of Debug");
        let plain = events(&[]).unwrap();
        assert!(plain.kafka_client.0.is_empty());
        assert_eq!(plain.kafka_session_timeout, crate::bus::kafka::DEFAULT_SESSION_TIMEOUT);
    }

    #[test]
    fn combinations_that_cannot_connect_name_the_variable() {
        for (pairs, variable) in [
            (&[("KAFKA_SECURITY_PROTOCOL", "tls")][..], "KAFKA_SECURITY_PROTOCOL"),
            (&[("KAFKA_SECURITY_PROTOCOL", "sasl_ssl")][..], "KAFKA_SASL_MECHANISM"),
            (
                &[("KAFKA_SASL_MECHANISM", "PLAIN"), ("KAFKA_SASL_USERNAME", "u"), ("KAFKA_SASL_PASSWORD", "p")][..],
                "KAFKA_SECURITY_PROTOCOL",
            ),
            (&[("KAFKA_SECURITY_PROTOCOL", "sasl_ssl"), ("KAFKA_SASL_MECHANISM", "PLAIN")][..], "KAFKA_SASL_USERNAME"),
            (
                &[
                    ("KAFKA_SECURITY_PROTOCOL", "sasl_ssl"),
                    ("KAFKA_SASL_MECHANISM", "PLAIN"),
                    ("KAFKA_SASL_USERNAME", "u"),
                ][..],
                "KAFKA_SASL_PASSWORD",
            ),
            (&[("KAFKA_SECURITY_PROTOCOL", "sasl_ssl"), ("KAFKA_SASL_MECHANISM", "MD5")][..], "KAFKA_SASL_MECHANISM"),
            (&[("KAFKA_SSL_CA_LOCATION", "/no/such/ca.pem")][..], "KAFKA_SSL_CA_LOCATION"),
            (&[("MART_KAFKA_SESSION_TIMEOUT", "1s")][..], "MART_KAFKA_SESSION_TIMEOUT"),
            (&[("MART_KAFKA_SESSION_TIMEOUT", "2h")][..], "MART_KAFKA_SESSION_TIMEOUT"),
        ] {
            let error = events(pairs).expect_err(variable);
            assert_eq!(error.variable, variable, "{pairs:?}");
            assert!(error.to_string().contains(variable), "{error}");
        }
    }
}

#[cfg(test)]
mod masking_tests {
    use super::*;

    fn error(variable: &'static str, value: &str) -> String {
        ConfigError { variable, value: value.to_owned(), message: "no".to_owned() }.to_string()
    }

    #[test]
    fn errors_name_the_variable_and_hide_secrets() {
        let url = error("DATABASE_URL", "mysql://shop:hunter2@db.internal:3306/mart");
        assert!(
            url.contains("DATABASE_URL") && url.contains("shop:***@db.internal") && !url.contains("hunter2"),
            "{url}"
        );
        let smtp = error("SMTP_URL", "smtp://mailer:s3cret@mail.example.com?tls=required");
        assert!(!smtp.contains("s3cret") && smtp.contains("mail.example.com"), "{smtp}");
        let key = error("STRIPE_SECRET_KEY", "sk_live_abc");
        assert!(key.contains("STRIPE_SECRET_KEY") && !key.contains("sk_live_abc"), "{key}");
        let debug = format!(
            "{:?}",
            ConfigError { variable: "SMTP_URL", value: "smtp://u:pw@h".into(), message: String::new() }
        );
        assert!(!debug.contains("pw@"), "{debug}");
        assert!(error("MART_GRPC_ADDR", "nowhere").contains("\"nowhere\""), "plain values are shown");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(Service::User, &Vars::from_pairs(vars.iter().copied()))
    }

    #[test]
    fn defaults_are_the_embedded_mode() {
        let config = Config::<()>::embedded(Service::Inventory);
        assert_eq!(config.grpc_addr, "127.0.0.1:50054".parse().unwrap());
        assert_eq!(config.database_url, "sqlite://./.mart/inventory.db?mode=rwc");
        assert_eq!(config.events.bus, EventBusKind::Embedded);
        assert_eq!(config.events.kafka_topics, KafkaTopics::Create);
        assert_eq!(config.events.log_url, "sqlite://./.mart/events.db?mode=rwc");
        assert_eq!((config.events.partitions, config.events.max_attempts), (4, 0));
        assert_eq!(config.events.retry_window, Duration::from_secs(24 * 3600), "a day of trouble is retried");
        assert_eq!(config.peers.payment, "http://127.0.0.1:50056");
        assert_eq!((config.auth.issuer.as_str(), config.auth.audience.as_str()), ("mart", "mart"));
    }

    #[test]
    fn values_are_read() {
        let config = with(&[
            ("MART_GRPC_ADDR", "0.0.0.0:6000"),
            ("MART_DATA_DIR", "/var/mart"),
            ("MART_EVENT_BUS", "kafka"),
            ("MART_KAFKA_TOPICS", "external"),
            ("MART_LOG_FORMAT", "json"),
        ])
        .unwrap();
        assert_eq!(config.grpc_addr.port(), 6000);
        assert_eq!(config.database_url, "sqlite:///var/mart/user.db?mode=rwc");
        assert_eq!(config.events.bus, EventBusKind::Kafka);
        assert_eq!(config.events.kafka_topics, KafkaTopics::External);
        assert_eq!(config.telemetry.log_format, LogFormat::Json);
    }

    #[test]
    fn durations_that_can_be_switched_off() {
        let vars = |value: &str| Vars::from_pairs([("MART_X_TTL", value)]);
        let ttl = |vars: &Vars| vars.duration_or_off("MART_X_TTL", Duration::from_secs(1));
        assert_eq!(ttl(&Vars::default()).unwrap(), Duration::from_secs(1));
        assert_eq!(ttl(&vars("0")).unwrap(), Duration::ZERO);
        assert_eq!(ttl(&vars("250ms")).unwrap(), Duration::from_millis(250));
        assert_eq!(ttl(&vars("0s")).unwrap_err().variable, "MART_X_TTL", "only a bare 0 means off");
        assert_eq!(vars("0").duration_or("MART_X_TTL", Duration::from_secs(1)).unwrap_err().variable, "MART_X_TTL");
    }

    #[test]
    fn telemetry_is_off_unless_asked_for() {
        let quiet = with(&[]).unwrap().telemetry;
        assert_eq!((quiet.otlp_endpoint, quiet.metrics_addr), (None, None));
        let asked = with(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://jaeger:4318"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("MART_METRICS_ADDR", "0.0.0.0:9464"),
        ])
        .unwrap()
        .telemetry;
        assert_eq!(asked.otlp_endpoint.as_deref(), Some("http://jaeger:4318"));
        assert_eq!(asked.otlp_protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(asked.metrics_addr, Some("0.0.0.0:9464".parse().unwrap()));
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (variable, value) in [
            ("MART_GRPC_ADDR", "localhost"),
            ("MART_EVENT_BUS", "rabbitmq"),
            ("MART_KAFKA_TOPICS", "skip"),
            ("DATABASE_URL", "mysql://x"),
            ("MART_USER_ADDR", "127.0.0.1:50051"),
            ("MART_LOG_FORMAT", "xml"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "jaeger:4317"),
            ("MART_METRICS_ADDR", ":9464"),
            ("MART_EVENT_PARTITIONS", "0"),
            ("MART_EVENT_MAX_ATTEMPTS", "many"),
            ("MART_EVENT_RETRY_WINDOW", "soon"),
            ("MART_EVENT_LOG_URL", "redis://x"),
            ("MART_OUTBOX_RETENTION", "forever"),
        ] {
            let error = with(&[(variable, value)]).expect_err(variable);
            assert_eq!(error.variable, variable);
            assert!(error.to_string().contains(variable), "{error}");
        }
    }
}
