//! The benchmark harness. Not a test: it measures, prints each figure next to its target
//! (DESIGN.md §7 and the issues), and exits 0 either way.
//!
//! `cargo run --release -p mart-bench -- events` measures the event backbone: relay
//! throughput (events/s from a full outbox to the bus) and end-to-end lag from a committed
//! transaction to the consumer's handler (p50/p99), for the embedded log and for Kafka,
//! with 1 and 4 partitions.
//!
//! `cargo run --release -p mart-bench -- checkout` measures whole checkouts on the embedded
//! defaults: orders/s and PlaceOrder→PAID p50/p99 with the manual provider ([`checkout`]).

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use clap::{Parser, Subcommand};
use futures::future::BoxFuture;
use mart_platform::{
    bus::{
        DatabaseTransaction, Event, EventBus, Handler, HandlerError, Metrics, Outcome, RetryPolicy, Subscription,
        embedded::EmbeddedBus,
        inbox,
        kafka::{KafkaBus, KafkaSettings, MockKafka, TopicCreation},
    },
    events::envelope,
    outbox::{
        self,
        relay::{Relay, RelayConfig, lag},
    },
};
use mart_proto::events::{UserUpdated, envelope::Payload};
use sea_orm::{DatabaseConnection, TransactionTrait};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use tokio::sync::watch;

use crate::measure::Measured;

mod checkout;
mod measure;
mod startup;

#[derive(Parser)]
#[command(about = "Online Mart benchmarks")]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// The event backbone: relay throughput and commit-to-handler lag.
    Events {
        /// Outbox rows the relay ships for the throughput figure.
        #[arg(long, default_value_t = 20_000)]
        backlog: usize,
        /// Events committed one per transaction for the lag figure.
        #[arg(long, default_value_t = 2_000)]
        events: usize,
        /// The rate they are committed at, per second.
        #[arg(long, default_value_t = 500)]
        rate: u64,
    },
    /// svc-inventory on PostgreSQL: reservations per second on one hot product, through
    /// the real event path (OrderPlaced in, StockReserved out).
    Inventory {
        /// Orders of one unit each, all for the same product.
        #[arg(long, default_value_t = 2_000)]
        orders: usize,
        /// svc-inventory replicas consuming them.
        #[arg(long, default_value_t = 2)]
        replicas: usize,
    },
    /// svc-product on PostgreSQL (with svc-inventory behind it), loaded over gRPC from this
    /// process while the services run in a child process: GetProduct and ListProducts.
    Catalog {
        /// Products in the catalog.
        #[arg(long, default_value_t = 1_000)]
        products: usize,
        /// Seconds per scenario.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// GetProduct as REST through the edge against the same call over gRPC straight to
    /// svc-product: req/s, p50/p99 and the latency ratio.
    Edge {
        /// Products in the catalog.
        #[arg(long, default_value_t = 1_000)]
        products: usize,
        /// Seconds per scenario.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Concurrent clients.
        #[arg(long, default_value_t = 64)]
        clients: usize,
    },
    /// Whole checkouts on the embedded defaults, manual payments: orders/s and the time from
    /// PlaceOrder to PAID, with the shop in a child process.
    Checkout {
        /// Seconds of load.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent customers, each checking out one order after the other.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Products in the catalog, each with plenty of stock.
        #[arg(long, default_value_t = 8)]
        products: usize,
    },
    /// The child process of `checkout`: the whole shop (not for direct use).
    #[command(hide = true)]
    CheckoutServer,
    /// `mart up` from an empty data directory to ready, idle memory of `mart up` and of one
    /// service binary (release binaries: `cargo build --release --workspace --bins` first).
    Startup,
    /// The child process of `catalog` and `edge` (not for direct use).
    #[command(hide = true)]
    CatalogServer {
        #[arg(long)]
        product_db: String,
        #[arg(long)]
        inventory_db: String,
        /// Also serve the edge in front of svc-product.
        #[arg(long)]
        edge: bool,
    },
}

#[derive(Clone, Copy)]
enum Backend {
    Embedded,
    Kafka,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Embedded => "embedded (SQLite log)",
            Backend::Kafka => "kafka (mock, fetch 5ms)",
        }
    }

    /// The lag p99 target of the event-backbone issue.
    fn lag_target(self) -> Duration {
        match self {
            Backend::Embedded => Duration::from_millis(20),
            Backend::Kafka => Duration::from_millis(50),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().bench {
        Bench::Events { backlog, events, rate } => events_bench(backlog, events, rate).await,
        Bench::Inventory { orders, replicas } => inventory_bench(orders, replicas).await,
        Bench::Catalog { products, seconds } => catalog_bench(products, seconds).await,
        Bench::Edge { products, seconds, clients } => edge_bench(products, seconds, clients).await,
        Bench::Startup => startup::bench().await,
        Bench::Checkout { seconds, clients, products } => checkout::bench(seconds, clients, products).await,
        Bench::CheckoutServer => checkout::server().await,
        Bench::CatalogServer { product_db, inventory_db, edge } => catalog_server(product_db, inventory_db, edge).await,
    }
}

#[allow(clippy::print_stdout, reason = "the report is the program's output")]
async fn events_bench(backlog: usize, events: usize, rate: u64) -> anyhow::Result<()> {
    println!(
        "event backbone: relay throughput ({backlog} queued events), lag commit→handler ({events} events at {rate}/s)"
    );
    println!(
        "{:<24} {:>10} {:>14} {:>10} {:>10} {:>12}",
        "backend", "partitions", "relay ev/s", "lag p50", "lag p99", "p99 target"
    );
    for backend in [Backend::Embedded, Backend::Kafka] {
        for partitions in [1, 4] {
            let throughput = relay_throughput(backend, partitions, backlog).await?;
            let (p50, p99) = end_to_end_lag(backend, partitions, events, rate).await?;
            let verdict = if p99 <= backend.lag_target() { "met" } else { "MISSED" };
            println!(
                "{:<24} {:>10} {:>14.0} {:>8.1}ms {:>8.1}ms {:>7}ms {verdict}",
                backend.name(),
                partitions,
                throughput,
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3,
                backend.lag_target().as_millis()
            );
        }
    }
    Ok(())
}

/// A bus of `backend` with `partitions`, and what keeps it alive.
struct Bus {
    bus: EventBus,
    _dir: tempfile::TempDir,
}

async fn bus(backend: Backend, partitions: u32) -> anyhow::Result<Bus> {
    let dir = tempfile::tempdir()?;
    let bus = match backend {
        Backend::Embedded => {
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("events.db").display());
            EventBus::Embedded(EmbeddedBus::open(&url, partitions).await?)
        }
        Backend::Kafka => {
            let mock = MockKafka::start(1).await?;
            let topics = vec!["mart.user.events".to_owned()];
            let mut settings =
                KafkaSettings::new(mock.bootstrap_servers().to_owned(), partitions, topics, TopicCreation::Mock(mock));
            // The mock cluster holds every empty fetch for the full wait, where a broker
            // answers on arrival: without this the figure measures the mock, not the bus.
            settings.fetch_wait_max = Duration::from_millis(5);
            EventBus::Kafka(KafkaBus::connect(settings).await?)
        }
    };
    Ok(Bus { bus, _dir: dir })
}

struct ServiceMigrator;

impl MigratorTrait for ServiceMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(outbox::Migration), Box::new(inbox::Migration)]
    }
}

async fn service_db(dir: &tempfile::TempDir) -> anyhow::Result<DatabaseConnection> {
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("service.db").display());
    Ok(mart_platform::db::connect_and_migrate::<ServiceMigrator>(&url).await?)
}

fn event(n: usize) -> mart_proto::events::Envelope {
    let key = format!("user-{}", n % 64);
    envelope(
        &key,
        Payload::UserUpdated(UserUpdated { user_id: key.clone(), first_name: n.to_string(), ..Default::default() }),
    )
}

/// Events per second the relay moves from a full outbox to the bus.
async fn relay_throughput(backend: Backend, partitions: u32, backlog: usize) -> anyhow::Result<f64> {
    let bus = bus(backend, partitions).await?;
    let dir = tempfile::tempdir()?;
    let db = service_db(&dir).await?;
    for chunk in (0..backlog).collect::<Vec<_>>().chunks(500) {
        let txn = db.begin().await?;
        for n in chunk {
            outbox::append(&txn, &event(*n)).await?;
        }
        txn.commit().await?;
    }
    let config = RelayConfig { batch_size: 500, ..RelayConfig::default() };
    let relay = Relay::new(db.clone(), bus.bus.clone(), mart_platform::wake::Waker::new(), config);
    let started = Instant::now();
    while relay.relay_once().await? > 0 {}
    let elapsed = started.elapsed();
    anyhow::ensure!(lag(&db).await?.unsent == 0, "the relay left rows behind");
    Ok(backlog as f64 / elapsed.as_secs_f64())
}

/// Records each handled event's lag from its commit.
#[derive(Default)]
struct Lags(Mutex<Vec<Duration>>);

impl Metrics for Lags {
    fn event_finished(&self, _group: &str, _topic: &str, outcome: Outcome, since_written: Duration) {
        if outcome == Outcome::Handled
            && let Ok(mut lags) = self.0.lock()
        {
            lags.push(since_written);
        }
    }
}

impl Lags {
    fn count(&self) -> usize {
        self.0.lock().map(|lags| lags.len()).unwrap_or(0)
    }
}

/// Does nothing: the figure is the bus's, not a handler's.
struct Nothing;

impl Handler for Nothing {
    fn handle<'a>(
        &'a self,
        _txn: &'a DatabaseTransaction,
        _event: &'a Event,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async { Ok(()) })
    }
}

/// p50 and p99 of commit-to-handler lag, with events committed one per transaction at
/// `rate` per second while the relay and a consumer run.
async fn end_to_end_lag(
    backend: Backend,
    partitions: u32,
    events: usize,
    rate: u64,
) -> anyhow::Result<(Duration, Duration)> {
    let bus = bus(backend, partitions).await?;
    let dir = tempfile::tempdir()?;
    let db = service_db(&dir).await?;
    let (stop, shutdown) = watch::channel(false);
    let waker = mart_platform::wake::Waker::new();
    let relay = Relay::new(db.clone(), bus.bus.clone(), waker.clone(), RelayConfig::default()).spawn(shutdown.clone());
    let lags = Arc::new(Lags::default());
    let consumer = bus.bus.subscribe(
        Subscription {
            group: "bench".into(),
            topics: vec!["mart.user.events".into()],
            db: db.clone(),
            handler: Arc::new(Nothing),
            retry: RetryPolicy::new(3),
            metrics: Some(lags.clone()),
            wake_relay: None,
        },
        shutdown,
    );

    // Warm up until the consumer has its partitions (a Kafka group takes seconds to form).
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut warm = 0;
    while lags.count() == 0 {
        anyhow::ensure!(Instant::now() < deadline, "the consumer never started");
        commit(&db, &waker, warm).await?;
        warm += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Let the warm-up events drain, then measure from a clean slate.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = lags.count();
    if let Ok(mut warmed) = lags.0.lock() {
        warmed.clear();
    }

    let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    for n in 0..events {
        pace.tick().await;
        commit(&db, &waker, 1_000_000 + n).await?;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while lags.count() < events {
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {} of {events} events arrived (warm-up {before})",
            lags.count()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true)?;
    relay.await?;
    consumer.await?;

    let mut lags = lags.0.lock().map(|l| l.clone()).unwrap_or_default();
    lags.sort();
    let at = |q: f64| lags[((lags.len() as f64 * q) as usize).min(lags.len() - 1)];
    Ok((at(0.50), at(0.99)))
}

/// One transaction that writes one event, as a service does, then wakes the relay.
async fn commit(db: &DatabaseConnection, waker: &mart_platform::wake::Waker, n: usize) -> anyhow::Result<()> {
    let txn = db.begin().await?;
    outbox::append(&txn, &event(n)).await?;
    txn.commit().await?;
    waker.wake();
    Ok(())
}

// === inventory ===

#[allow(clippy::print_stdout, reason = "the report is the program's output")]
async fn inventory_bench(orders: usize, replicas: usize) -> anyhow::Result<()> {
    use mart_platform::{
        config::Service,
        test_util::{Collector, TestDb, publish},
    };
    use mart_proto::events::{OrderLine, OrderPlaced, ProductCreated};

    let db = TestDb::postgres().await;
    let log = tempfile::tempdir()?;
    let url = format!("sqlite://{}?mode=rwc", log.path().join("events.db").display());
    let bus = EventBus::Embedded(EmbeddedBus::open(&url, 4).await?);
    let mut config = svc_inventory::Config::embedded(Service::Inventory);
    config.database_url = db.url.clone();
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    for _ in 0..replicas {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let mut stopped = stopped.clone();
        let keys = Arc::new(mart_platform::auth::KeySet::fixed(Vec::new()));
        tasks.push(tokio::spawn(svc_inventory::serve(config.clone(), bus.clone(), keys, listener, async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })));
        // Let each replica migrate before the next starts.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let outcomes = Collector::start(&bus, &["mart.inventory.events"]).await;
    let product = "hot-product".to_owned();
    let created = ProductCreated { product_id: product.clone(), initial_stock: orders as i32, ..Default::default() };
    publish(&bus, &product, Payload::ProductCreated(created)).await;
    // A probe order tells when the stock row exists and the consumers run.
    let probe = |n: usize| OrderPlaced {
        order_id: format!("probe-{n}"),
        lines: vec![OrderLine { product_id: product.clone(), quantity: 1, ..Default::default() }],
        ..Default::default()
    };
    publish(&bus, "probe-0", Payload::OrderPlaced(probe(0))).await;
    outcomes.wait_for("the probe", |events| !events.is_empty()).await;

    let started = Instant::now();
    let placing = (0..orders).map(|n| {
        let order = OrderPlaced {
            order_id: format!("order-{n}"),
            lines: vec![OrderLine { product_id: product.clone(), quantity: 1, ..Default::default() }],
            ..Default::default()
        };
        let bus = bus.clone();
        async move { publish(&bus, &order.order_id.clone(), Payload::OrderPlaced(order)).await }
    });
    futures::future::join_all(placing).await;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let events = outcomes.events();
        let reserved = events.iter().filter(|e| matches!(e.payload, Some(Payload::StockReserved(_)))).count();
        if events.len() > orders {
            let elapsed = started.elapsed();
            println!("inventory on PostgreSQL, {replicas} replicas, one hot product:");
            println!(
                "  {orders} orders in {:.2}s: {:.0} reservations/s through the event path ({} reserved, {} refused)",
                elapsed.as_secs_f64(),
                orders as f64 / elapsed.as_secs_f64(),
                reserved.saturating_sub(1),
                events.len() - reserved
            );
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "only {} of {orders} outcomes", events.len());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    outcomes.stop().await;
    stop.send(true)?;
    for task in tasks {
        task.await??;
    }
    Ok(())
}

// === catalog ===

/// Runs svc-inventory and svc-product on the given databases, prints `ADDR <addr>` and
/// `TOKEN <admin token>` on stdout, and serves until stdin closes.
#[allow(clippy::print_stdout, reason = "the parent reads the address and token")]
async fn catalog_server(product_db: String, inventory_db: String, with_edge: bool) -> anyhow::Result<()> {
    use mart_platform::{config::Service, test_util::TokenMinter};
    use tokio::io::AsyncReadExt;

    let _telemetry = child_telemetry(&["svc-product", "svc-inventory", "edge"]);
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("events.db").display());
    let bus = EventBus::Embedded(EmbeddedBus::open(&url, 4).await?);
    let tokens = TokenMinter::new();
    let (stop, stopped) = watch::channel(false);
    let until_stopped = || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };

    let inventory_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut inventory_config = svc_inventory::Config::embedded(Service::Inventory);
    inventory_config.database_url = inventory_db;
    let mut product_config = svc_product::Config::embedded(Service::Product);
    product_config.database_url = product_db;
    product_config.peers.inventory = format!("http://{}", inventory_listener.local_addr()?);
    let product_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = product_listener.local_addr()?;

    let inventory = tokio::spawn(svc_inventory::serve(
        inventory_config,
        bus.clone(),
        tokens.key_set(),
        inventory_listener,
        until_stopped(),
    ));
    let product =
        tokio::spawn(svc_product::serve(product_config, bus, tokens.key_set(), product_listener, until_stopped()));
    let edge = if with_edge {
        let mut edge_config = edge::Config::embedded();
        edge_config.peers.product = format!("http://{addr}");
        edge_config.settings.rate_per_ip = None;
        edge_config.settings.rate_per_user = None;
        let edge = edge::Edge::new(&edge_config, tokens.key_set())?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("EDGE {}", listener.local_addr()?);
        Some(tokio::spawn(edge::serve(edge, listener, until_stopped())))
    } else {
        None
    };
    println!("ADDR {addr}");
    println!("TOKEN {}", tokens.admin("bench-admin"));
    // Serve until the parent closes our stdin.
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    stop.send(true)?;
    inventory.await??;
    product.await??;
    if let Some(edge) = edge {
        edge.await??;
    }
    Ok(())
}

/// The subscriber a server child runs with, as the real binaries do: log lines at
/// `RUST_LOG`, spans exported to `OTEL_EXPORTER_OTLP_ENDPOINT` when it is set; unless
/// `MART_BENCH_TELEMETRY=off`: then none at all, to measure what telemetry costs.
pub(crate) fn child_telemetry(names: &[&'static str]) -> Option<mart_platform::telemetry::Telemetry> {
    if std::env::var("MART_BENCH_TELEMETRY").is_ok_and(|value| value == "off") {
        return None;
    }
    let mut settings = mart_platform::config::Config::<()>::embedded(mart_platform::config::Service::User).telemetry;
    settings.log_filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned());
    settings.otlp_endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok();
    Some(mart_platform::telemetry::init(&settings, names))
}

/// How a server child observes itself.
#[derive(Clone, Debug)]
enum ChildTelemetry {
    /// No subscriber at all.
    Off,
    /// As the binaries run by default: log lines, no trace export.
    Logs,
    /// Log lines, and spans exported over OTLP to this endpoint: all of them, or the
    /// traces the sampler picks with this ratio.
    Export(String, Option<f64>),
}

/// svc-product and svc-inventory on fresh PostgreSQL databases in a child process (and the
/// edge in front when asked), with a catalog of `products` products in stock.
struct CatalogChild {
    child: tokio::process::Child,
    /// svc-product's gRPC address.
    addr: String,
    /// The edge's HTTP address, when started.
    edge: Option<String>,
    /// The product ids.
    ids: Arc<Vec<String>>,
    _dbs: [mart_platform::test_util::TestDb; 2],
}

impl CatalogChild {
    async fn start(products: usize, with_edge: bool, telemetry: ChildTelemetry) -> anyhow::Result<Self> {
        use mart_platform::test_util::{TestDb, authed};
        use mart_proto::{common::Money, product as pb};
        use tokio::io::{AsyncBufReadExt, BufReader};

        let product_db = TestDb::postgres().await;
        let inventory_db = TestDb::postgres().await;
        let mut args = vec!["catalog-server", "--product-db", &product_db.url, "--inventory-db", &inventory_db.url];
        if with_edge {
            args.push("--edge");
        }
        let mut command = tokio::process::Command::new(std::env::current_exe()?);
        command
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .env("RUST_LOG", "warn")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env("MART_BENCH_TELEMETRY", if matches!(telemetry, ChildTelemetry::Off) { "off" } else { "on" })
            .kill_on_drop(true);
        command.env_remove("OTEL_TRACES_SAMPLER").env_remove("OTEL_TRACES_SAMPLER_ARG");
        if let ChildTelemetry::Export(endpoint, ratio) = &telemetry {
            command.env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint);
            if let Some(ratio) = ratio {
                command.env("OTEL_TRACES_SAMPLER", "parentbased_traceidratio");
                command.env("OTEL_TRACES_SAMPLER_ARG", ratio.to_string());
            }
        }
        let mut child = command.spawn()?;
        let mut lines = BufReader::new(child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?).lines();
        let (mut addr, mut token, mut edge) = (String::new(), String::new(), None);
        while addr.is_empty() || token.is_empty() {
            let line = lines.next_line().await?.ok_or_else(|| anyhow::anyhow!("the server child ended"))?;
            if let Some(rest) = line.strip_prefix("ADDR ") {
                addr = format!("http://{rest}");
            } else if let Some(rest) = line.strip_prefix("TOKEN ") {
                token = rest.to_owned();
            } else if let Some(rest) = line.strip_prefix("EDGE ") {
                edge = Some(format!("http://{rest}"));
            }
        }
        let channel = tonic::transport::Endpoint::from_shared(addr.clone())?.connect().await?;
        let mut client = pb::catalog_service_client::CatalogServiceClient::new(channel);

        // The catalog: one category, `products` products with stock.
        let category = client
            .create_category(authed(
                &token,
                pb::CreateCategoryRequest { name: "Tea".into(), description: String::new() },
            ))
            .await?
            .into_inner()
            .category
            .ok_or_else(|| anyhow::anyhow!("no category"))?;
        let mut ids = Vec::with_capacity(products);
        for n in 0..products {
            let request = pb::CreateProductRequest {
                sku: format!("SKU-{n:05}"),
                name: format!("Tea number {n}"),
                description: "A fine leaf.".into(),
                brand: if n % 2 == 0 { "Leafy".into() } else { "Steep".into() },
                price: Some(Money { amount_minor: 100 + (n as i64 % 900), currency: "EUR".into() }),
                category_id: category.id.clone(),
                expires_at: None,
                initial_stock: Some(100),
                ..Default::default()
            };
            let created = client.create_product(authed(&token, request)).await?.into_inner();
            ids.push(created.product.ok_or_else(|| anyhow::anyhow!("no product"))?.id);
        }
        // Let the stock rows arrive, so GetProduct measures the whole path.
        tokio::time::sleep(Duration::from_secs(2)).await;
        Ok(Self { child, addr, edge, ids: Arc::new(ids), _dbs: [product_db, inventory_db] })
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        drop(self.child.stdin.take());
        self.child.wait().await?;
        Ok(())
    }
}

#[allow(clippy::print_stdout, reason = "the report is the program's output")]
async fn catalog_bench(products: usize, seconds: u64) -> anyhow::Result<()> {
    use mart_proto::product as pb;

    let catalog = CatalogChild::start(products, false, ChildTelemetry::Logs).await?;
    println!("catalog on PostgreSQL over gRPC ({products} products; load from this process, services in a child)");
    println!("{:<34} {:>8} {:>10} {:>9} {:>9}", "scenario", "clients", "req/s", "p50", "p99");
    for (name, list) in [("GetProduct (with stock)", false), ("ListProducts (page of 20)", true)] {
        for clients in [32, 64] {
            let deadline = Instant::now() + Duration::from_secs(seconds);
            let measured = Measured::run(clients, |worker| {
                let (ids, addr) = (catalog.ids.clone(), catalog.addr.clone());
                async move {
                    let channel = tonic::transport::Endpoint::from_shared(addr)?.connect().await?;
                    let mut client = pb::catalog_service_client::CatalogServiceClient::new(channel);
                    let mut latencies = Vec::new();
                    let mut n = worker;
                    while Instant::now() < deadline {
                        let started = Instant::now();
                        if list {
                            client
                                .list_products(pb::ListProductsRequest { page_size: 20, ..Default::default() })
                                .await?;
                        } else {
                            let product_id = ids[n % ids.len()].clone();
                            client.get_product(pb::GetProductRequest { product_id }).await?;
                        }
                        latencies.push(started.elapsed());
                        n += 7;
                    }
                    Ok(latencies)
                }
            })
            .await?;
            println!("{}", measured.row(name, clients));
        }
    }
    catalog.stop().await
}

/// GetProduct over gRPC straight to svc-product, and as REST through the edge: same
/// catalog, same load, one after the other in the same run.
#[allow(clippy::print_stdout, reason = "the report is the program's output")]
async fn edge_bench(products: usize, seconds: u64, clients: usize) -> anyhow::Result<()> {
    use mart_proto::product as pb;

    let catalog = CatalogChild::start(products, true, ChildTelemetry::Logs).await?;
    let edge = catalog.edge.clone().ok_or_else(|| anyhow::anyhow!("no edge"))?;
    println!(
        "GetProduct: gRPC to svc-product vs REST through the edge (PostgreSQL, {products} products, \
         {clients} clients, {seconds} s each; load from this process, services and edge in a child)"
    );
    println!("{:<34} {:>8} {:>10} {:>9} {:>9}", "scenario", "clients", "req/s", "p50", "p99");
    let deadline = || Instant::now() + Duration::from_secs(seconds);

    let until = deadline();
    let grpc = Measured::run(clients, |worker| {
        let (ids, addr) = (catalog.ids.clone(), catalog.addr.clone());
        async move {
            let channel = tonic::transport::Endpoint::from_shared(addr)?.connect().await?;
            let mut client = pb::catalog_service_client::CatalogServiceClient::new(channel);
            let mut latencies = Vec::new();
            let mut n = worker;
            while Instant::now() < until {
                let started = Instant::now();
                client.get_product(pb::GetProductRequest { product_id: ids[n % ids.len()].clone() }).await?;
                latencies.push(started.elapsed());
                n += 7;
            }
            Ok(latencies)
        }
    })
    .await?;
    println!("{}", grpc.row("gRPC direct", clients));

    let rest = rest_load(&catalog, &edge, clients, deadline()).await?;
    println!("{}", rest.row("REST through the edge", clients));
    catalog.stop().await?;

    // What telemetry costs: the same REST load on a fresh child each, observed four ways
    // (spans go to a collector in this process).
    let collector = mart_platform::test_util::otlp::Collector::start().await;
    let endpoint = collector.endpoint.clone();
    let ways = [
        ("no subscriber at all", ChildTelemetry::Off),
        ("logs only (OTLP unset)", ChildTelemetry::Logs),
        ("traces, 10% sampled", ChildTelemetry::Export(endpoint.clone(), Some(0.1))),
        ("traces, all exported", ChildTelemetry::Export(endpoint, None)),
    ];
    // Each way twice, in the order A B C D D C B A: a fresh child's place in the run
    // (the first is the slowest, whatever it is) weighs the same on every way.
    let mut runs: Vec<Vec<Measured>> = ways.iter().map(|_| Vec::new()).collect();
    let order: Vec<usize> = (0..ways.len()).chain((0..ways.len()).rev()).collect();
    for index in order {
        runs[index].push(rest_child(products, clients, deadline, ways[index].1.clone()).await?);
    }
    println!("(each way below: the mean of 2 fresh children, run A B C D D C B A)");
    let mut costs = Vec::new();
    for ((what, _), measured) in ways.iter().zip(runs) {
        let measured = Measured::mean(&measured);
        println!("{}", measured.row(&format!("REST, {what}"), clients));
        costs.push((*what, measured));
    }
    println!();
    let change = |a: f64, b: f64| (a / b - 1.0) * 100.0;
    let bare = &costs[0].1;
    for (what, measured) in &costs[1..] {
        println!(
            "telemetry, {what}: {:+.1}% req/s, p50 {:+.1}%, p99 {:+.1}% against no subscriber",
            change(measured.per_second, bare.per_second),
            change(measured.p50.as_secs_f64(), bare.p50.as_secs_f64()),
            change(measured.p99.as_secs_f64(), bare.p99.as_secs_f64()),
        );
    }
    println!("spans received by the collector: {}", collector.spans().len());
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "latency ratio REST/gRPC: p50 {:.2}x, p99 {:.2}x (target <= 1.3x)",
        ratio(rest.p50, grpc.p50),
        ratio(rest.p99, grpc.p99)
    );
    println!(
        "REST through the edge: {:.0} req/s (target >= 10000), p99 {:.2} ms (target < 10 ms)",
        rest.per_second,
        rest.p99.as_secs_f64() * 1e3
    );
    Ok(())
}

/// A fresh catalog child observed as `telemetry`, loaded as REST through its edge.
async fn rest_child(
    products: usize,
    clients: usize,
    deadline: impl Fn() -> Instant,
    telemetry: ChildTelemetry,
) -> anyhow::Result<Measured> {
    let child = CatalogChild::start(products, true, telemetry).await?;
    let edge = child.edge.clone().ok_or_else(|| anyhow::anyhow!("no edge"))?;
    let measured = rest_load(&child, &edge, clients, deadline()).await?;
    child.stop().await?;
    Ok(measured)
}

/// GetProduct as REST through `edge` from `clients` keep-alive connections until `until`.
async fn rest_load(catalog: &CatalogChild, edge: &str, clients: usize, until: Instant) -> anyhow::Result<Measured> {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::{client::legacy::Client, rt::TokioExecutor};

    Measured::run(clients, |worker| {
        let (ids, edge) = (catalog.ids.clone(), edge.to_owned());
        async move {
            // One keep-alive HTTP/1.1 connection per client, as a browser or app holds one.
            let client =
                Client::builder(TokioExecutor::new()).pool_max_idle_per_host(1).build_http::<Empty<bytes::Bytes>>();
            let mut latencies = Vec::new();
            let mut n = worker;
            while Instant::now() < until {
                let started = Instant::now();
                let uri: http::Uri = format!("{edge}/v1/products/{}", ids[n % ids.len()]).parse()?;
                let response = client.get(uri).await?;
                anyhow::ensure!(response.status().is_success(), "the edge answered {}", response.status());
                response.into_body().collect().await?;
                latencies.push(started.elapsed());
                n += 7;
            }
            Ok(latencies)
        }
    })
    .await
}
