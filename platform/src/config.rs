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

/// A variable that is set to something we cannot use.
#[derive(Debug, thiserror::Error)]
#[error("invalid {variable}={value:?}: {message}")]
pub struct ConfigError {
    /// The variable's name, so the operator knows what to fix.
    pub variable: &'static str,
    /// The value as given.
    pub value: String,
    /// What was expected.
    pub message: String,
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
    /// Token lifetimes and the claims every verifier checks.
    pub auth: AuthConfig,
    /// `MART_BOOTSTRAP_ADMIN_EMAIL` / `MART_BOOTSTRAP_ADMIN_PASSWORD`: the first admin.
    pub bootstrap_admin: Option<BootstrapAdmin>,
    /// Payment provider settings.
    pub payment: PaymentConfig,
    /// Cart and checkout rules.
    pub order: OrderConfig,
    /// The catalog.
    pub catalog: CatalogConfig,
    /// Outgoing mail.
    pub mail: MailConfig,
    /// The HTTP edge.
    pub edge: EdgeConfig,
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
    /// `MART_EVENT_MAX_ATTEMPTS`: handler attempts before an event goes to the DLQ.
    pub max_attempts: u32,
    /// `MART_OUTBOX_RETENTION`: how long sent outbox rows are kept.
    pub outbox_retention: Duration,
}

/// Token settings. Issuer and audience are fixed names, not knobs: every service must agree.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// `MART_ACCESS_TOKEN_TTL`.
    pub access_token_ttl: Duration,
    /// `MART_REFRESH_TOKEN_TTL`.
    pub refresh_token_ttl: Duration,
    /// The `iss` claim.
    pub issuer: String,
    /// The `aud` claim.
    pub audience: String,
}

/// The first admin's credentials.
#[derive(Clone)]
pub struct BootstrapAdmin {
    /// Their email.
    pub email: String,
    /// Their password (never logged: see the `Debug` impl).
    pub password: String,
}

impl std::fmt::Debug for BootstrapAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapAdmin").field("email", &self.email).finish_non_exhaustive()
    }
}

/// Which payment provider takes the money.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentProviderKind {
    /// An admin (or a dev command) marks orders paid.
    Manual,
    /// Stripe.
    Stripe,
}

/// `MART_PAYMENT_PROVIDER`, `STRIPE_*`, `MART_PAYMENT_TIMEOUT`.
#[derive(Clone)]
pub struct PaymentConfig {
    /// `MART_PAYMENT_PROVIDER`: stripe when a Stripe key is set, else manual.
    pub provider: PaymentProviderKind,
    /// `STRIPE_SECRET_KEY`.
    pub stripe_secret_key: Option<String>,
    /// `STRIPE_WEBHOOK_SECRET`.
    pub stripe_webhook_secret: Option<String>,
    /// `STRIPE_API_BASE`: overridable so tests can stand in for Stripe.
    pub stripe_api_base: Option<String>,
    /// `MART_PAYMENT_TIMEOUT`: unpaid orders are cancelled after this.
    pub payment_timeout: Duration,
}

impl std::fmt::Debug for PaymentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentConfig")
            .field("provider", &self.provider)
            .field("stripe_secret_key", &self.stripe_secret_key.as_ref().map(|_| "<set>"))
            .field("stripe_webhook_secret", &self.stripe_webhook_secret.as_ref().map(|_| "<set>"))
            .field("stripe_api_base", &self.stripe_api_base)
            .field("payment_timeout", &self.payment_timeout)
            .finish()
    }
}

/// `MART_ORDER_MAX_QUANTITY`.
#[derive(Clone, Debug)]
pub struct OrderConfig {
    /// `MART_ORDER_MAX_QUANTITY`: the most units of one product a cart line (and so an
    /// order line) may hold; 1..=999, the contract's ceiling.
    pub max_quantity: u32,
}

/// `MART_CATALOG_CACHE_TTL`.
#[derive(Clone, Debug)]
pub struct CatalogConfig {
    /// `MART_CATALOG_CACHE_TTL`: how long svc-product may reuse a GetProduct answer (stock
    /// figure included) before asking its database and svc-inventory again; `0` switches
    /// the cache off (default 1 s).
    pub cache_ttl: Duration,
}

/// `SMTP_URL`, `MART_MAIL_FROM`.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// `SMTP_URL`; unset means inbox and log only.
    pub smtp_url: Option<String>,
    /// `MART_MAIL_FROM`.
    pub mail_from: String,
}

/// `MART_HTTP_ADDR`, `MART_CORS_ORIGINS` and the edge's limits.
#[derive(Clone, Debug)]
pub struct EdgeConfig {
    /// `MART_HTTP_ADDR`.
    pub http_addr: SocketAddr,
    /// `MART_CORS_ORIGINS`, comma-separated.
    pub cors_origins: Vec<String>,
    /// `MART_EDGE_BODY_LIMIT`: the largest request body in bytes (default 1 MiB).
    pub body_limit: usize,
    /// `MART_EDGE_TIMEOUT`: the deadline of a call when the client sets none (default 10 s).
    pub request_timeout: Duration,
    /// `MART_EDGE_CONCURRENCY`: requests in flight before the edge sheds load (default 1024).
    pub concurrency: usize,
    /// `MART_EDGE_RATE_PER_IP`: sustained requests per second per client IP, bursts of
    /// twice that; 0 switches it off (default 200).
    pub rate_per_ip: u32,
    /// `MART_EDGE_RATE_PER_USER`: the same per signed-in account (default 50).
    pub rate_per_user: u32,
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
        let shared = Config::from_lookup(service, |name| vars.0.get(name).cloned())?;
        Ok(shared.with(S::from_vars(vars)?))
    }
}

impl<S> Config<S> {
    /// This configuration with `own` as the service's own settings.
    pub fn with<T>(self, own: T) -> Config<T> {
        let Config {
            service,
            grpc_addr,
            data_dir,
            database_url,
            peers,
            events,
            auth,
            bootstrap_admin,
            payment,
            order,
            catalog,
            mail,
            edge,
            telemetry,
            own: _,
        } = self;
        Config {
            service,
            grpc_addr,
            data_dir,
            database_url,
            peers,
            events,
            auth,
            bootstrap_admin,
            payment,
            order,
            catalog,
            mail,
            edge,
            telemetry,
            own,
        }
    }
}

impl Config {
    /// Reads variables through `lookup`; an empty value counts as unset.
    pub fn from_lookup(service: Service, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

        let grpc_addr =
            parse_or("MART_GRPC_ADDR", var("MART_GRPC_ADDR"), default_addr(service.default_port()), parse_socket_addr)?;
        let data_dir = var("MART_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("./.mart"));
        let database_url = match var("DATABASE_URL") {
            Some(url) => check_database_url("DATABASE_URL", url)?,
            None => sqlite_url(&data_dir, service),
        };

        let peer = |s: Service| -> Result<String, ConfigError> {
            let name = s.addr_variable();
            parse_or(name, var(name), format!("http://127.0.0.1:{}", s.default_port()), |v| {
                if (v.starts_with("http://") || v.starts_with("https://")) && v.len() > "https://".len() {
                    Ok(v.trim_end_matches('/').to_owned())
                } else {
                    Err("expected http://host:port".to_owned())
                }
            })
        };
        let peers = Peers {
            user: peer(Service::User)?,
            product: peer(Service::Product)?,
            order: peer(Service::Order)?,
            inventory: peer(Service::Inventory)?,
            notify: peer(Service::Notify)?,
            payment: peer(Service::Payment)?,
        };

        let events = EventsConfig {
            bus: parse_or("MART_EVENT_BUS", var("MART_EVENT_BUS"), EventBusKind::Embedded, |v| match v {
                "embedded" => Ok(EventBusKind::Embedded),
                "kafka" => Ok(EventBusKind::Kafka),
                _ => Err("expected embedded or kafka".to_owned()),
            })?,
            kafka_brokers: var("KAFKA_BROKERS").unwrap_or_else(|| "localhost:9092".to_owned()),
            kafka_topics: parse_or("MART_KAFKA_TOPICS", var("MART_KAFKA_TOPICS"), KafkaTopics::Create, |v| match v {
                "create" => Ok(KafkaTopics::Create),
                "external" => Ok(KafkaTopics::External),
                _ => Err("expected create or external".to_owned()),
            })?,
            log_url: match var("MART_EVENT_LOG_URL") {
                Some(url) => check_database_url("MART_EVENT_LOG_URL", url)?,
                None => format!("sqlite://{}?mode=rwc", data_dir.join("events.db").display()),
            },
            partitions: parse_or("MART_EVENT_PARTITIONS", var("MART_EVENT_PARTITIONS"), 4, |v| {
                v.parse()
                    .ok()
                    .filter(|n| (1..=1024).contains(n))
                    .ok_or_else(|| "expected a number from 1 to 1024".to_owned())
            })?,
            max_attempts: parse_or("MART_EVENT_MAX_ATTEMPTS", var("MART_EVENT_MAX_ATTEMPTS"), 5, |v| {
                v.parse()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| "expected a number from 1 to 100".to_owned())
            })?,
            outbox_retention: parse_or(
                "MART_OUTBOX_RETENTION",
                var("MART_OUTBOX_RETENTION"),
                Duration::from_secs(7 * 24 * 3600),
                parse_duration,
            )?,
        };

        let auth = AuthConfig {
            access_token_ttl: parse_or(
                "MART_ACCESS_TOKEN_TTL",
                var("MART_ACCESS_TOKEN_TTL"),
                Duration::from_secs(15 * 60),
                parse_duration,
            )?,
            refresh_token_ttl: parse_or(
                "MART_REFRESH_TOKEN_TTL",
                var("MART_REFRESH_TOKEN_TTL"),
                Duration::from_secs(30 * 24 * 3600),
                parse_duration,
            )?,
            issuer: "mart".to_owned(),
            audience: "mart".to_owned(),
        };

        let bootstrap_admin = match (
            var("MART_BOOTSTRAP_ADMIN_EMAIL"),
            lookup("MART_BOOTSTRAP_ADMIN_PASSWORD").filter(|v| !v.is_empty()),
        ) {
            (Some(email), Some(password)) => Some(BootstrapAdmin { email, password }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError {
                    variable: "MART_BOOTSTRAP_ADMIN_PASSWORD",
                    value: String::new(),
                    message: "must be set together with MART_BOOTSTRAP_ADMIN_EMAIL".to_owned(),
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError {
                    variable: "MART_BOOTSTRAP_ADMIN_EMAIL",
                    value: String::new(),
                    message: "must be set together with MART_BOOTSTRAP_ADMIN_PASSWORD".to_owned(),
                });
            }
        };

        let stripe_secret_key = var("STRIPE_SECRET_KEY");
        let default_provider =
            if stripe_secret_key.is_some() { PaymentProviderKind::Stripe } else { PaymentProviderKind::Manual };
        let provider =
            parse_or("MART_PAYMENT_PROVIDER", var("MART_PAYMENT_PROVIDER"), default_provider, |v| match v {
                "manual" => Ok(PaymentProviderKind::Manual),
                "stripe" => Ok(PaymentProviderKind::Stripe),
                _ => Err("expected manual or stripe".to_owned()),
            })?;
        if provider == PaymentProviderKind::Stripe && stripe_secret_key.is_none() {
            return Err(ConfigError {
                variable: "STRIPE_SECRET_KEY",
                value: String::new(),
                message: "required when MART_PAYMENT_PROVIDER=stripe".to_owned(),
            });
        }
        let payment = PaymentConfig {
            provider,
            stripe_secret_key,
            stripe_webhook_secret: var("STRIPE_WEBHOOK_SECRET"),
            stripe_api_base: var("STRIPE_API_BASE").map(|v| parse_http_url("STRIPE_API_BASE", v)).transpose()?,
            payment_timeout: parse_or(
                "MART_PAYMENT_TIMEOUT",
                var("MART_PAYMENT_TIMEOUT"),
                Duration::from_secs(30 * 60),
                parse_duration,
            )?,
        };

        let catalog = CatalogConfig {
            cache_ttl: parse_or(
                "MART_CATALOG_CACHE_TTL",
                var("MART_CATALOG_CACHE_TTL"),
                Duration::from_secs(1),
                |v| {
                    if v == "0" { Ok(Duration::ZERO) } else { parse_duration(v) }
                },
            )?,
        };

        let order = OrderConfig {
            max_quantity: parse_or("MART_ORDER_MAX_QUANTITY", var("MART_ORDER_MAX_QUANTITY"), 99, |v| {
                v.parse()
                    .ok()
                    .filter(|n| (1..=999).contains(n))
                    .ok_or_else(|| "expected a number from 1 to 999".to_owned())
            })?,
        };

        let mail = MailConfig {
            smtp_url: var("SMTP_URL")
                .map(|v| {
                    if v.starts_with("smtp://") || v.starts_with("smtps://") {
                        Ok(v)
                    } else {
                        Err(ConfigError {
                            variable: "SMTP_URL",
                            value: v,
                            message: "expected smtp://host:port or smtps://user:pass@host".to_owned(),
                        })
                    }
                })
                .transpose()?,
            mail_from: var("MART_MAIL_FROM").unwrap_or_else(|| "Online Mart <no-reply@mart.localhost>".to_owned()),
        };

        let edge = EdgeConfig {
            http_addr: parse_or("MART_HTTP_ADDR", var("MART_HTTP_ADDR"), default_addr(8000), parse_socket_addr)?,
            cors_origins: var("MART_CORS_ORIGINS")
                .map(|v| v.split(',').map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()).collect())
                .unwrap_or_default(),
            body_limit: parse_or("MART_EDGE_BODY_LIMIT", var("MART_EDGE_BODY_LIMIT"), 1 << 20, parse_positive)?,
            request_timeout: parse_or(
                "MART_EDGE_TIMEOUT",
                var("MART_EDGE_TIMEOUT"),
                Duration::from_secs(10),
                parse_duration,
            )?,
            concurrency: parse_or("MART_EDGE_CONCURRENCY", var("MART_EDGE_CONCURRENCY"), 1024, parse_positive)?,
            rate_per_ip: parse_or("MART_EDGE_RATE_PER_IP", var("MART_EDGE_RATE_PER_IP"), 200, |v| {
                v.parse().map_err(|_| "expected requests per second, 0 for no limit".to_owned())
            })?,
            rate_per_user: parse_or("MART_EDGE_RATE_PER_USER", var("MART_EDGE_RATE_PER_USER"), 50, |v| {
                v.parse().map_err(|_| "expected requests per second, 0 for no limit".to_owned())
            })?,
        };

        let telemetry = TelemetryConfig {
            // Migrations and SQL statements are worth seeing only when asked for.
            log_filter: var("RUST_LOG").unwrap_or_else(|| "info,sea_orm_migration=warn,sqlx=warn".to_owned()),
            log_format: parse_or("MART_LOG_FORMAT", var("MART_LOG_FORMAT"), LogFormat::Text, |v| match v {
                "text" => Ok(LogFormat::Text),
                "json" => Ok(LogFormat::Json),
                _ => Err("expected text or json".to_owned()),
            })?,
            otlp_endpoint: var("OTEL_EXPORTER_OTLP_ENDPOINT")
                .map(|v| parse_http_url("OTEL_EXPORTER_OTLP_ENDPOINT", v))
                .transpose()?,
            otlp_protocol: parse_or(
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                var("OTEL_EXPORTER_OTLP_PROTOCOL"),
                OtlpProtocol::Grpc,
                |v| match v {
                    "grpc" => Ok(OtlpProtocol::Grpc),
                    "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
                    _ => Err("expected grpc or http/protobuf".to_owned()),
                },
            )?,
            metrics_addr: match var("MART_METRICS_ADDR") {
                None => None,
                Some(value) => Some(parse_or("MART_METRICS_ADDR", Some(value), default_addr(0), parse_socket_addr)?),
            },
        };

        Ok(Config {
            service,
            grpc_addr,
            data_dir,
            database_url,
            peers,
            events,
            auth,
            bootstrap_admin,
            payment,
            order,
            catalog,
            mail,
            edge,
            telemetry,
            own: (),
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
        assert_eq!((config.events.partitions, config.events.max_attempts), (4, 5));
        assert_eq!(config.auth.access_token_ttl, Duration::from_secs(900));
        assert_eq!(config.auth.refresh_token_ttl, Duration::from_secs(30 * 86400));
        assert_eq!(config.payment.provider, PaymentProviderKind::Manual);
        assert_eq!(config.peers.payment, "http://127.0.0.1:50056");
        assert_eq!(config.order.max_quantity, 99);
        assert!(config.bootstrap_admin.is_none());
    }

    #[test]
    fn values_are_read() {
        let config = with(&[
            ("MART_GRPC_ADDR", "0.0.0.0:6000"),
            ("MART_DATA_DIR", "/var/mart"),
            ("MART_ACCESS_TOKEN_TTL", "5m"),
            ("MART_EVENT_BUS", "kafka"),
            ("MART_KAFKA_TOPICS", "external"),
            ("STRIPE_SECRET_KEY", "sk_test_x"),
            ("MART_CORS_ORIGINS", "https://a.example, https://b.example"),
            ("MART_LOG_FORMAT", "json"),
            ("MART_ORDER_MAX_QUANTITY", "12"),
        ])
        .unwrap();
        assert_eq!(config.grpc_addr.port(), 6000);
        assert_eq!(config.database_url, "sqlite:///var/mart/user.db?mode=rwc");
        assert_eq!(config.auth.access_token_ttl, Duration::from_secs(300));
        assert_eq!(config.events.bus, EventBusKind::Kafka);
        assert_eq!(config.events.kafka_topics, KafkaTopics::External);
        assert_eq!(config.payment.provider, PaymentProviderKind::Stripe);
        assert_eq!(config.edge.cors_origins, ["https://a.example", "https://b.example"]);
        assert_eq!(config.telemetry.log_format, LogFormat::Json);
        assert_eq!(config.order.max_quantity, 12);

        let edge =
            with(&[("MART_EDGE_BODY_LIMIT", "2048"), ("MART_EDGE_RATE_PER_IP", "0"), ("MART_EDGE_TIMEOUT", "3s")])
                .unwrap()
                .edge;
        assert_eq!((edge.body_limit, edge.rate_per_ip, edge.rate_per_user), (2048, 0, 50));
        assert_eq!(edge.request_timeout, Duration::from_secs(3));
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
            ("MART_ACCESS_TOKEN_TTL", "fifteen minutes"),
            ("MART_REFRESH_TOKEN_TTL", "0s"),
            ("MART_EVENT_BUS", "rabbitmq"),
            ("MART_KAFKA_TOPICS", "skip"),
            ("DATABASE_URL", "mysql://x"),
            ("MART_USER_ADDR", "127.0.0.1:50051"),
            ("MART_LOG_FORMAT", "xml"),
            ("SMTP_URL", "mail.example.com"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "jaeger:4317"),
            ("MART_METRICS_ADDR", ":9464"),
            ("MART_PAYMENT_PROVIDER", "paypal"),
            ("MART_EVENT_PARTITIONS", "0"),
            ("MART_EVENT_MAX_ATTEMPTS", "many"),
            ("MART_EVENT_LOG_URL", "redis://x"),
            ("MART_OUTBOX_RETENTION", "forever"),
            ("MART_CATALOG_CACHE_TTL", "a while"),
            ("MART_EDGE_BODY_LIMIT", "0"),
            ("MART_EDGE_TIMEOUT", "soon"),
            ("MART_EDGE_CONCURRENCY", "-1"),
            ("MART_EDGE_RATE_PER_IP", "lots"),
            ("MART_EDGE_RATE_PER_USER", "-5"),
            ("MART_ORDER_MAX_QUANTITY", "0"),
            ("MART_ORDER_MAX_QUANTITY", "1000"),
        ] {
            let error = with(&[(variable, value)]).expect_err(variable);
            assert_eq!(error.variable, variable);
            assert!(error.to_string().contains(variable), "{error}");
        }
        assert_eq!(with(&[("MART_PAYMENT_PROVIDER", "stripe")]).unwrap_err().variable, "STRIPE_SECRET_KEY");
        assert_eq!(
            with(&[("MART_BOOTSTRAP_ADMIN_EMAIL", "a@b.c")]).unwrap_err().variable,
            "MART_BOOTSTRAP_ADMIN_PASSWORD"
        );
    }
}
