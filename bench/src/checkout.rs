//! The checkout benchmark: checkouts per second and the time from PlaceOrder to PAID with
//! the manual payment provider, on the embedded defaults (SQLite files, embedded bus).
//!
//! The whole shop (`mart::shop::Shop`, what `mart up` runs) lives in a child process — this
//! binary again, as `checkout-server` — so the load generator's CPU is not the shop's. The
//! load is what customers and an admin do, as gRPC through the edge: each customer loops
//! add to cart → PlaceOrder → (stock reserved, payment created) → the admin's
//! ConfirmManualPayment → PAID.
//!
//! How a customer learns that its order moved on: not by polling GetOrder, which would put
//! load on svc-order growing with the number of customers and add half a poll interval per
//! step. The child follows the order and payment topics of its event log read-only (no
//! consumer group: no offsets or inbox rows written into the shop's databases) and prints
//! one line per step, `<STEP> <order id>`; this process timestamps each line as it arrives.
//! The cost is a fixed handful of indexed reads every [`TAIL_POLL`], whatever the load, and
//! the figure includes the relay of the step's event plus at most one poll interval.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use mart_platform::{
    bus::{EventBus, embedded::EmbeddedBus},
    config::Service,
    test_util::authed,
};
use mart_proto::{
    common::Money,
    events::{Envelope, envelope::Payload},
    inventory::{self as inventory_pb, inventory_service_client::InventoryServiceClient},
    order::{self as order_pb, order_service_client::OrderServiceClient},
    payment::{self as payment_pb, payment_service_client::PaymentServiceClient},
    product::{self as product_pb, catalog_service_client::CatalogServiceClient},
    user::{self as user_pb, user_service_client::UserServiceClient},
};
use prost::Message as _;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    sync::watch,
};
use tonic::transport::Channel;

use crate::measure::{Measured, quantile};

/// The targets on 2 cores.
const TARGET_PER_SECOND: f64 = 300.0;
const TARGET_P99: Duration = Duration::from_millis(100);

/// The first admin the child bootstraps, and every account's password.
const ADMIN_EMAIL: &str = "bench-admin@shop.example";
const PASSWORD: &str = "correct horse battery";

/// Units of each product: enough that no order is ever short.
const STOCK: i32 = 1_000_000;

/// How often the child looks for new order and payment events when it found none.
const TAIL_POLL: Duration = Duration::from_millis(2);

/// Records the child reads per partition per round.
const TAIL_BATCH: u64 = 500;

/// How long an order may take for one step before it counts as stuck.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

const ORDER_TOPIC: &str = "mart.order.events";
const PAYMENT_TOPIC: &str = "mart.payment.events";

#[allow(clippy::print_stdout, reason = "the report is the program's output")]
pub(crate) async fn bench(seconds: u64, clients: usize, products: usize) -> anyhow::Result<()> {
    let shop = ShopChild::start().await?;
    let product_ids = shop.products(products).await?;
    let customers = futures::future::try_join_all((0..clients).map(|n| shop.customer(n))).await?;

    // One untimed checkout per customer: connections, caches and the pipeline warm, and
    // proof that every step is seen before the clock starts.
    let warm = futures::future::join_all(customers.iter().enumerate().map(|(client, customer)| {
        let (shop, products) = (&shop, &product_ids);
        async move { shop.checkout(customer, &products[client % products.len()], &format!("warm-{client}")).await }
    }))
    .await;
    for outcome in warm {
        anyhow::ensure!(matches!(outcome?, Outcome::Paid(_)), "a warm-up order did not end PAID");
    }

    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let results = futures::future::join_all(customers.iter().enumerate().map(|(client, customer)| {
        let (shop, products) = (&shop, &product_ids);
        async move {
            let mut outcomes = Vec::new();
            let mut n = 0;
            while Instant::now() < until {
                let product = &products[(client + n) % products.len()];
                outcomes.push(shop.checkout(customer, product, &format!("c{client}-{n}")).await?);
                n += 1;
            }
            anyhow::Ok(outcomes)
        }
    }))
    .await;
    let elapsed = started.elapsed();
    let mut timelines = Vec::new();
    // Orders a customer gave up on: rejected, cancelled, or a step past STEP_TIMEOUT.
    let mut late = 0;
    for result in results {
        for outcome in result? {
            match outcome {
                Outcome::Paid(timeline) => timelines.push(timeline),
                Outcome::Ended | Outcome::Stuck => late += 1,
            }
        }
    }
    let measured = Measured::of(timelines.iter().map(|t| t.paid).collect(), elapsed)?;
    let statuses = shop.statuses().await?;
    shop.stop().await?;

    println!(
        "checkout, embedded (SQLite files, embedded bus), manual payments: {clients} customers for {seconds} s, \
         {products} products"
    );
    println!("  shop: all six services and the edge in a child process; load: this process, gRPC through the edge");
    println!(
        "  steps seen by tailing the order and payment topics of the child's event log (read-only, every {} ms \
         when idle) and reporting over a pipe; no GetOrder polling",
        TAIL_POLL.as_millis()
    );
    println!("{:<34} {:>8} {:>10} {:>9} {:>9}", "scenario", "clients", "orders/s", "p50", "p99");
    println!("{}", measured.row("PlaceOrder → PAID", clients));
    println!();
    println!("where the time goes (each step from the previous one):");
    println!("{:<43} {:>9} {:>9}", "step", "p50", "p99");
    for (n, name) in Timeline::STEPS.iter().enumerate() {
        let mut times: Vec<Duration> = timelines.iter().map(|timeline| timeline.steps()[n]).collect();
        times.sort();
        println!(
            "{name:<43} {:>7.2}ms {:>7.2}ms",
            quantile(&times, 0.50).as_secs_f64() * 1e3,
            quantile(&times, 0.99).as_secs_f64() * 1e3
        );
    }
    println!();
    let placed: usize = statuses.values().sum();
    let paid = statuses.get("ORDER_STATUS_PAID").copied().unwrap_or(0);
    let others: Vec<String> = statuses
        .iter()
        .filter(|(status, _)| *status != "ORDER_STATUS_PAID")
        .map(|(status, count)| format!("{count} {status}"))
        .collect();
    println!(
        "orders in the shop (warm-up included): {placed} placed, {paid} PAID, {} in other states{}",
        placed - paid,
        if others.is_empty() { String::new() } else { format!(" ({})", others.join(", ")) }
    );
    if late > 0 {
        println!("  {late} of them were rejected, cancelled or took a step longer than {STEP_TIMEOUT:?}");
    }
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    println!(
        "checkout: {:.0} orders/s (target >= {TARGET_PER_SECOND:.0}) {}, p99 {:.1} ms (target < {} ms) {}, \
         {} orders not PAID (target 0) {}",
        measured.per_second,
        verdict(measured.per_second >= TARGET_PER_SECOND),
        measured.p99.as_secs_f64() * 1e3,
        TARGET_P99.as_millis(),
        verdict(measured.p99 < TARGET_P99),
        placed - paid,
        verdict(placed == paid && late == 0)
    );
    Ok(())
}

// === the child ===

/// Runs the whole shop on a temporary data directory, prints `EDGE <addr>` and
/// `TOKEN <admin token>`, then one `<STEP> <order id>` line per order step, until stdin
/// closes.
#[allow(clippy::print_stdout, reason = "the parent reads the address and token")]
pub(crate) async fn server() -> anyhow::Result<()> {
    let names: Vec<&'static str> =
        ["mart", "edge"].into_iter().chain(Service::ALL.map(Service::process_name)).collect();
    let _telemetry = crate::child_telemetry(&names);

    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().display().to_string();
    // `mart up`'s configuration: the embedded defaults on a data directory, a first admin.
    // All the load comes from one address and few accounts: the edge's token buckets would
    // measure themselves. svc-order's cap on unpaid orders from one address would stop more
    // than 30 customers at once; it stays on (its lock and count are part of a checkout's
    // cost), only too high to reach. Each customer has one order open at a time, within
    // the per-account cap.
    let vars = mart_platform::config::Vars::from_pairs([
        ("MART_DATA_DIR", data_dir.as_str()),
        ("MART_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL),
        ("MART_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD),
        ("MART_EDGE_RATE_PER_IP", "0"),
        ("MART_EDGE_RATE_PER_USER", "0"),
        ("MART_ORDER_MAX_OPEN_UNPAID_PER_ADDRESS", "1000000"),
    ]);
    let config = mart::shop::ShopConfig::from_vars(&vars)?;
    let partitions = config.user.events.partitions;
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut shop = mart::shop::Shop::start(config, http).await?;
    shop.ready(Duration::from_secs(60)).await?;

    let user = format!("http://{}", shop.services["user"]);
    let admin = UserServiceClient::connect(user)
        .await?
        .login(user_pb::LoginRequest { email: ADMIN_EMAIL.to_owned(), password: PASSWORD.to_owned() })
        .await?
        .into_inner()
        .access_token;
    let EventBus::Embedded(log) = shop.bus.clone() else { anyhow::bail!("the shop did not open the embedded bus") };
    println!("EDGE {}", shop.http_addr);
    println!("TOKEN {admin}");

    let (stop, stopped) = watch::channel(false);
    let tail = tokio::spawn(tail(log, partitions, stopped));
    // Serve until the parent closes our stdin, or the shop fails.
    let (mut stdin, mut sink) = (tokio::io::stdin(), Vec::new());
    let failed = tokio::select! {
        _ = stdin.read_to_end(&mut sink) => None,
        error = shop.failed() => Some(error),
    };
    let _ = stop.send(true);
    tail.await??;
    if let Some(error) = failed {
        return Err(error.into());
    }
    shop.stop().await?;
    Ok(())
}

/// Follows the order and payment topics of `log` from the start and prints one line per
/// step an order takes, until `stopped`.
async fn tail(log: Arc<EmbeddedBus>, partitions: u32, mut stopped: watch::Receiver<bool>) -> anyhow::Result<()> {
    let mut out = tokio::io::BufWriter::new(tokio::io::stdout());
    let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    let mut poll = tokio::time::interval(TAIL_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*stopped.borrow() {
        let mut more = false;
        // Order before payment: an order's AWAITING_PAYMENT is logged before its payment.
        for topic in [ORDER_TOPIC, PAYMENT_TOPIC] {
            for partition in 0..partitions as i32 {
                let from = next.entry((topic, partition)).or_insert(0);
                let batch = log.read(topic, Some(partition), *from, TAIL_BATCH).await?;
                more |= batch.len() as u64 == TAIL_BATCH;
                for delivery in batch {
                    *from = delivery.offset + 1;
                    if let Some((step, order)) = Envelope::decode(delivery.record.payload.as_slice())
                        .ok()
                        .and_then(|envelope| envelope.payload)
                        .and_then(step_of)
                    {
                        out.write_all(format!("{} {order}\n", step.name()).as_bytes()).await?;
                    }
                }
            }
        }
        out.flush().await?;
        if !more {
            tokio::select! {
                _ = poll.tick() => {}
                _ = stopped.changed() => {}
            }
        }
    }
    Ok(())
}

/// The step an event says an order took, and the order.
fn step_of(payload: Payload) -> Option<(Step, String)> {
    match payload {
        Payload::OrderAwaitingPayment(event) => Some((Step::Awaiting, event.order_id)),
        Payload::PaymentCreated(event) => Some((Step::Payment, event.order_id)),
        Payload::OrderPaid(event) => Some((Step::Paid, event.order_id)),
        Payload::OrderRejected(event) => Some((Step::Rejected, event.order_id)),
        Payload::OrderCancelled(event) => Some((Step::Cancelled, event.order_id)),
        _ => None,
    }
}

/// A step of an order the benchmark cares about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Every line reserved: AWAITING_PAYMENT.
    Awaiting,
    /// svc-payment created the manual payment: the admin can confirm it.
    Payment,
    /// PAID.
    Paid,
    /// REJECTED: not enough stock.
    Rejected,
    /// CANCELLED: by someone, or the payment expired or failed.
    Cancelled,
}

impl Step {
    const ALL: [Step; 5] = [Step::Awaiting, Step::Payment, Step::Paid, Step::Rejected, Step::Cancelled];

    fn name(self) -> &'static str {
        match self {
            Step::Awaiting => "AWAITING",
            Step::Payment => "PAYMENT",
            Step::Paid => "PAID",
            Step::Rejected => "REJECTED",
            Step::Cancelled => "CANCELLED",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|step| step.name() == name)
    }
}

// === the parent ===

/// The shop in a child process, and what this process hears of its orders.
struct ShopChild {
    child: tokio::process::Child,
    /// The edge, where every call goes.
    edge: Channel,
    /// Its URI, for customers' own connections.
    edge_uri: String,
    /// The bootstrapped admin's access token.
    admin: String,
    /// The steps each order took, as the child reports them.
    steps: Arc<Steps>,
    /// Reads the child's step lines into `steps`.
    reader: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// A customer with a shipping address.
struct Customer {
    token: String,
    address_id: String,
    /// Its own HTTP/2 connection to the edge, as each shopper's app would hold.
    edge: Channel,
}

impl ShopChild {
    async fn start() -> anyhow::Result<Self> {
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .arg("checkout-server")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .spawn()?;
        let mut lines = BufReader::new(child.stdout.take().context("no stdout")?).lines();
        let (mut edge, mut admin) = (String::new(), String::new());
        while edge.is_empty() || admin.is_empty() {
            let line = lines.next_line().await?.context("the shop child ended before it was ready")?;
            if let Some(rest) = line.strip_prefix("EDGE ") {
                edge = format!("http://{rest}");
            } else if let Some(rest) = line.strip_prefix("TOKEN ") {
                admin = rest.to_owned();
            }
        }
        let steps = Arc::new(Steps::default());
        let reader = tokio::spawn({
            let steps = steps.clone();
            async move {
                while let Some(line) = lines.next_line().await? {
                    let at = Instant::now();
                    if let Some((step, order)) = line.split_once(' ').and_then(|(s, o)| Some((Step::parse(s)?, o))) {
                        steps.saw(order, step, at);
                    }
                }
                Ok(())
            }
        });
        Ok(Self { child, edge: connect(&edge).await?, edge_uri: edge, admin, steps, reader })
    }

    /// `count` products with plenty of stock, once svc-inventory has their stock rows.
    async fn products(&self, count: usize) -> anyhow::Result<Vec<String>> {
        let mut catalog = CatalogServiceClient::new(self.edge.clone());
        let category = catalog
            .create_category(authed(
                &self.admin,
                product_pb::CreateCategoryRequest { name: "Tea".into(), description: String::new() },
            ))
            .await?
            .into_inner()
            .category
            .context("no category")?;
        let mut ids = Vec::with_capacity(count);
        for n in 0..count {
            let request = product_pb::CreateProductRequest {
                sku: format!("TEA-{n:03}"),
                name: format!("Tea number {n}"),
                description: "A fine leaf.".into(),
                brand: "Leafy".into(),
                price: Some(Money { amount_minor: 1250, currency: "USD".into() }),
                category_id: category.id.clone(),
                expires_at: None,
                initial_stock: Some(STOCK),
                ..Default::default()
            };
            let created = catalog.create_product(authed(&self.admin, request)).await?.into_inner();
            ids.push(created.product.context("no product")?.id);
        }
        let mut inventory = InventoryServiceClient::new(self.edge.clone());
        for id in &ids {
            let deadline = Instant::now() + STEP_TIMEOUT;
            loop {
                let request = inventory_pb::GetStockRequest { product_id: id.clone() };
                if let Ok(stock) = inventory.get_stock(authed(&self.admin, request)).await
                    && stock.into_inner().stock.is_some_and(|stock| stock.available == STOCK)
                {
                    break;
                }
                anyhow::ensure!(Instant::now() < deadline, "the stock of {id} never arrived");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(ids)
    }

    /// Customer `n`: registered, logged in, with an address.
    async fn customer(&self, n: usize) -> anyhow::Result<Customer> {
        let edge = connect(&self.edge_uri).await?;
        let mut users = UserServiceClient::new(edge.clone());
        let email = format!("customer-{n}@shop.example");
        users
            .register(user_pb::RegisterRequest {
                email: email.clone(),
                password: PASSWORD.to_owned(),
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                phone: None,
            })
            .await?;
        let token = users
            .login(user_pb::LoginRequest { email, password: PASSWORD.to_owned() })
            .await?
            .into_inner()
            .access_token;
        let address = user_pb::AddAddressRequest {
            label: "home".into(),
            line1: "1 Analytical Way".into(),
            city: "London".into(),
            postal_code: "N1 7AA".into(),
            country: "GB".into(),
            ..Default::default()
        };
        let address_id =
            users.add_address(authed(&token, address)).await?.into_inner().address.context("no address")?.id;
        Ok(Customer { token, address_id, edge })
    }

    /// One checkout by `customer` of one unit of `product`: how it went.
    async fn checkout(&self, customer: &Customer, product: &str, request_id: &str) -> anyhow::Result<Outcome> {
        let mut orders = OrderServiceClient::new(customer.edge.clone());
        // The admin's confirmation rides the customer's connection too, so that no single
        // shared HTTP/2 connection becomes the queue everybody waits in.
        let mut payments = PaymentServiceClient::new(customer.edge.clone());
        let item = order_pb::AddCartItemRequest { product_id: product.to_owned(), quantity: 1, ..Default::default() };
        orders.add_cart_item(authed(&customer.token, item)).await?;

        let started = Instant::now();
        let place = order_pb::PlaceOrderRequest {
            address_id: customer.address_id.clone(),
            note: None,
            request_id: request_id.to_owned(),
        };
        let order = orders.place_order(authed(&customer.token, place)).await?.into_inner().order.context("no order")?;
        let placed = Instant::now();
        let mut seen = self.steps.watch(&order.id);
        let outcome = async {
            let Some(payment) = wait(&mut seen, |seen| seen.payment).await else { return seen_outcome(&seen) };
            let confirm =
                payment_pb::ConfirmManualPaymentRequest { order_id: order.id.clone(), reference: String::new() };
            payments.confirm_manual_payment(authed(&self.admin, confirm)).await?;
            let confirmed = Instant::now();
            let Some(paid) = wait(&mut seen, |seen| seen.paid).await else { return seen_outcome(&seen) };
            let awaiting = seen.borrow().awaiting.unwrap_or(payment).min(payment);
            anyhow::Ok(Outcome::Paid(Timeline {
                placed: placed - started,
                awaiting: awaiting.saturating_duration_since(placed),
                payment: payment - awaiting,
                confirmed: confirmed.saturating_duration_since(payment),
                paid: paid.saturating_duration_since(started),
                paid_step: paid.saturating_duration_since(confirmed),
            }))
        }
        .await;
        self.steps.forget(&order.id);
        outcome
    }

    /// How many orders the shop holds in each status.
    async fn statuses(&self) -> anyhow::Result<BTreeMap<String, usize>> {
        let mut orders = OrderServiceClient::new(self.edge.clone());
        let mut statuses = BTreeMap::new();
        let mut page_token = String::new();
        loop {
            let request = order_pb::ListAllOrdersRequest { page_size: 100, page_token, ..Default::default() };
            let page = orders.list_all_orders(authed(&self.admin, request)).await?.into_inner();
            for order in page.orders {
                *statuses.entry(order.status().as_str_name().to_owned()).or_default() += 1;
            }
            if page.next_page_token.is_empty() {
                return Ok(statuses);
            }
            page_token = page.next_page_token;
        }
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        drop(self.child.stdin.take());
        let status = self.child.wait().await?;
        anyhow::ensure!(status.success(), "the shop child ended with {status}");
        self.reader.await?
    }
}

async fn connect(uri: &str) -> anyhow::Result<Channel> {
    Ok(tonic::transport::Endpoint::from_shared(uri.to_owned())?.connect().await?)
}

/// Waits at most [`STEP_TIMEOUT`] until `step` of the order was seen, or it ended otherwise;
/// when `step` was seen.
async fn wait(seen: &mut watch::Receiver<Seen>, step: impl Fn(&Seen) -> Option<Instant>) -> Option<Instant> {
    let reached = seen.wait_for(|seen| step(seen).is_some() || seen.ended.is_some());
    let seen = tokio::time::timeout(STEP_TIMEOUT, reached).await.ok()?.ok()?;
    step(&seen)
}

/// The outcome of an order that did not reach the step it was waited for.
fn seen_outcome(seen: &watch::Receiver<Seen>) -> anyhow::Result<Outcome> {
    Ok(if seen.borrow().ended.is_some() { Outcome::Ended } else { Outcome::Stuck })
}

/// How one checkout went.
enum Outcome {
    Paid(Timeline),
    /// Rejected or cancelled.
    Ended,
    /// A step took longer than [`STEP_TIMEOUT`].
    Stuck,
}

/// When a paid order took each step.
struct Timeline {
    /// The PlaceOrder call.
    placed: Duration,
    /// From its answer to AWAITING_PAYMENT.
    awaiting: Duration,
    /// From AWAITING_PAYMENT to the payment's creation.
    payment: Duration,
    /// From the payment's creation to the end of the ConfirmManualPayment call.
    confirmed: Duration,
    /// From the end of that call to PAID.
    paid_step: Duration,
    /// PlaceOrder to PAID: the figure.
    paid: Duration,
}

impl Timeline {
    /// The steps, each timed from the previous one.
    const STEPS: [&str; 5] = [
        "PlaceOrder call",
        "→ AWAITING_PAYMENT (stock reserved)",
        "→ manual payment created",
        "→ ConfirmManualPayment call answered",
        "→ PAID",
    ];

    fn steps(&self) -> [Duration; 5] {
        [self.placed, self.awaiting, self.payment, self.confirmed, self.paid_step]
    }
}

/// What this process has heard of each order's steps, with when it heard it.
#[derive(Default)]
struct Steps(Mutex<HashMap<String, watch::Sender<Seen>>>);

/// When each step of one order was heard of.
#[derive(Clone, Copy, Debug, Default)]
struct Seen {
    awaiting: Option<Instant>,
    payment: Option<Instant>,
    paid: Option<Instant>,
    /// REJECTED or CANCELLED.
    ended: Option<Step>,
}

impl Steps {
    /// Follows `order`, whose steps may already have been heard of.
    fn watch(&self, order: &str) -> watch::Receiver<Seen> {
        self.with(order, watch::Sender::subscribe)
    }

    fn saw(&self, order: &str, step: Step, at: Instant) {
        self.with(order, |seen| {
            seen.send_modify(|seen| match step {
                Step::Awaiting => seen.awaiting = Some(at),
                Step::Payment => seen.payment = Some(at),
                Step::Paid => seen.paid = Some(at),
                Step::Rejected | Step::Cancelled => seen.ended = Some(step),
            });
        });
    }

    fn forget(&self, order: &str) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).remove(order);
    }

    fn with<T>(&self, order: &str, f: impl FnOnce(&watch::Sender<Seen>) -> T) -> T {
        let mut orders = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f(orders.entry(order.to_owned()).or_insert_with(|| watch::channel(Seen::default()).0))
    }
}
