//! The distributed mode for real: the six service binaries and the edge, each its own OS
//! process with its own PostgreSQL database, talking over gRPC and a Kafka-protocol broker
//! (librdkafka's mock cluster in a `mart-kafka-mock` process, or the broker `KAFKA_BROKERS`
//! names), configured by environment variables only, as `deploy/` runs them. The story goes
//! through the edge's REST API; then svc-inventory is killed mid-order and restarted, and the
//! order still completes.
//!
//! The service binaries come from the target directory this test was built into: run
//! `cargo build --workspace --bins` first (scripts/test does).

use std::{
    collections::BTreeMap,
    fs::File,
    future::Future,
    io::{BufRead as _, BufReader},
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    time::Duration,
};

use edge::test_client::HttpClient;
use http::StatusCode;
use mart_platform::{
    bus::kafka::DEFAULT_SESSION_TIMEOUT,
    config::Service,
    test_util::{
        TestDb,
        otlp::{CLIENT, CONSUMER, Collector, SERVER},
    },
};
use serde_json::{Value, json};

const ADMIN_EMAIL: &str = "admin@shop.example";
const PASSWORD: &str = "correct horse battery";
/// Partitions of every topic, in the mock cluster and for the services.
const PARTITIONS: &str = "4";
/// How long a step waits once a killed service is back. Its consumers are new members of
/// their groups, and the broker keeps the killed members' partitions until their session
/// times out (the services' default, [`DEFAULT_SESSION_TIMEOUT`]: 45 s); only then does the
/// group rebalance and the events waiting for inventory move. Twice that leaves room for
/// the rebalance itself and the rest of the saga.
const AFTER_RESTART: Duration = Duration::from_secs(2 * DEFAULT_SESSION_TIMEOUT.as_secs());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_completes_across_processes_even_when_inventory_is_killed_midway() {
    let mut shop = Cluster::start().await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let tea = shop.product(&admin, "TEA-1", 1250, 5).await;
    let (ada, address) = shop.customer("ada@example.com").await;

    // Ada orders two; they are reserved and the admin confirms the manual payment: paid,
    // sold, and Ada hears about it.
    let first = shop.order(&ada, &address, &tea, 2).await;
    shop.order_reaches(&first, &ada, "ORDER_STATUS_AWAITING_PAYMENT", None).await;
    shop.stock_is(&tea, &admin, 5, 2, None).await;
    shop.confirm_payment(&first, &admin, None).await;
    shop.order_reaches(&first, &ada, "ORDER_STATUS_PAID", None).await;
    shop.stock_is(&tea, &admin, 3, 0, None).await;
    // Each kind once. In any order: the welcome comes from the user topic, the rest from
    // the order and payment topics, and Kafka orders records within a partition only.
    within(STEP, "the inbox", || async {
        let mut inbox = shop.inbox(&ada).await;
        inbox.sort();
        (inbox == ["ORDER_PLACED", "PAYMENT_SUCCEEDED", "WELCOME"]).then_some(())
    })
    .await;

    // She orders one more, and svc-inventory dies (SIGKILL: no clean shutdown, no commit, no
    // leaving the group) as the order goes out. It comes back on the same port and database.
    let second = shop.order(&ada, &address, &tea, 1).await;
    shop.kill(Service::Inventory);
    shop.restart(Service::Inventory);
    shop.ready(AFTER_RESTART).await;

    // The order still goes through: reserved once, paid, sold, notified.
    shop.order_reaches(&second, &ada, "ORDER_STATUS_AWAITING_PAYMENT", Some(AFTER_RESTART)).await;
    shop.stock_is(&tea, &admin, 3, 1, Some(AFTER_RESTART)).await;
    shop.confirm_payment(&second, &admin, Some(AFTER_RESTART)).await;
    shop.order_reaches(&second, &ada, "ORDER_STATUS_PAID", Some(AFTER_RESTART)).await;
    shop.stock_is(&tea, &admin, 2, 0, Some(AFTER_RESTART)).await;
    assert_eq!(shop.movements(&tea, &admin).await, ["INITIAL", "RESERVATION", "COMMIT", "RESERVATION", "COMMIT"]);
    within(AFTER_RESTART, "the second payment's notification", || async {
        let inbox = shop.inbox(&ada).await;
        (inbox.iter().filter(|kind| *kind == "PAYMENT_SUCCEEDED").count() == 2).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_across_processes_is_one_trace_and_its_log_lines_name_it() {
    // Every process exports to one collector, as they would to Jaeger; batches leave every
    // 100 ms so the test need not stop the processes to see them.
    let collector = Collector::start().await;
    let shop = Cluster::start_with(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint.clone()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_owned()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
        ("MART_LOG_FORMAT", "json".to_owned()),
    ])
    .await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let tea = shop.product(&admin, "TEA-1", 1250, 5).await;
    let (ada, address) = shop.customer("ada@example.com").await;
    let order = shop.order(&ada, &address, &tea, 1).await;
    shop.order_reaches(&order, &ada, "ORDER_STATUS_AWAITING_PAYMENT", None).await;
    shop.confirm_payment(&order, &admin, None).await;
    shop.order_reaches(&order, &ada, "ORDER_STATUS_PAID", None).await;
    shop.stock_is(&tea, &admin, 4, 0, None).await;

    // One trace: the edge's request, PlaceOrder in svc-order, and what the events set off
    // in inventory, payment and notify, each process under its own service name, the
    // events crossing Kafka in record headers.
    let wanted = ["edge", "svc-order", "svc-product", "svc-user", "svc-inventory", "svc-payment", "svc-notify"];
    let (trace, spans) = within(STEP, "the checkout's trace at the collector", || async {
        let spans = collector.spans();
        let place = spans.iter().find(|s| s.name == "mart.order.v1.OrderService/PlaceOrder" && s.kind == SERVER)?;
        let trace: Vec<_> = spans.iter().filter(|s| s.trace_id == place.trace_id).cloned().collect();
        let notified = trace.iter().any(|s| s.service == "svc-notify" && s.name == "mart.payment.events process");
        (wanted.iter().all(|w| trace.iter().any(|s| s.service == *w)) && notified)
            .then(|| (place.trace_id.clone(), trace))
    })
    .await;
    let place = spans.iter().find(|s| s.name == "mart.order.v1.OrderService/PlaceOrder" && s.kind == SERVER).unwrap();
    assert_eq!(place.service, "svc-order");
    let parent = spans.iter().find(|s| s.span_id == place.parent_id).expect("PlaceOrder's parent is in the trace");
    assert_eq!((parent.service.as_str(), parent.kind), ("edge", CLIENT));
    let consumed: Vec<_> = spans.iter().filter(|s| s.kind == CONSUMER).collect();
    assert!(consumed.iter().all(|s| s.attributes.get("messaging.system").map(String::as_str) == Some("kafka")));
    for consumer in consumed {
        let appended =
            spans.iter().find(|s| s.span_id == consumer.parent_id).expect("an event's parent is in the trace");
        assert!(appended.name.ends_with(" append"), "{consumer:?} comes from {appended:?}");
    }

    // The log lines written while serving it carry its id: from a log line to the trace.
    let placed = shop.log_lines("order").into_iter().find(|line| line["message"] == "order placed");
    let placed = placed.expect("svc-order logged the order");
    assert_eq!(placed["trace_id"], trace.as_str(), "{placed}");
    assert_eq!(placed["order.id"], order.as_str());
}

// === the shop's processes ===

/// The broker, the six services and the edge, each a child process; all killed when this
/// is dropped, with the tail of each one's log printed if the test is failing.
struct Cluster {
    /// The services by their short name; dropped (killed) before the databases they use.
    services: BTreeMap<&'static str, Process>,
    /// Talks to the edge.
    http: HttpClient,
    edge: Process,
    /// The mock cluster's process, unless `KAFKA_BROKERS` names a broker.
    _kafka: Option<Process>,
    /// What every service is started with (peers, bus), by service name.
    environments: BTreeMap<&'static str, Vec<(String, String)>>,
    /// One fresh PostgreSQL database per service, dropped after the processes.
    _databases: Vec<TestDb>,
    /// The processes' logs and data directories.
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts the broker (unless `KAFKA_BROKERS` is set), svc-user with the first admin, the
    /// other services, then the edge; returns once the edge's `/readyz` answers 200.
    async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// [`Cluster::start`], with `extra` variables for every process.
    async fn start_with(extra: &[(&str, String)]) -> Self {
        let extra: Vec<(String, String)> =
            extra.iter().map(|(name, value)| ((*name).to_owned(), value.clone())).collect();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (kafka, brokers, topics) = match std::env::var("KAFKA_BROKERS").ok().filter(|b| !b.is_empty()) {
            // A real broker: the services create the topics through the admin API, as in
            // production.
            Some(brokers) => (None, brokers, "create"),
            None => {
                let (process, brokers) = Process::kafka_mock(dir.path());
                (Some(process), brokers, "external")
            }
        };
        let addrs: Vec<(Service, SocketAddr)> = Service::ALL.iter().map(|&service| (service, free_port())).collect();
        let peers: Vec<(String, String)> = addrs
            .iter()
            .map(|(service, addr)| (format!("MART_{}_ADDR", service.name().to_uppercase()), format!("http://{addr}")))
            .collect();

        let mut databases = Vec::new();
        let mut environments = BTreeMap::new();
        for &(service, addr) in &addrs {
            let database = TestDb::postgres().await;
            let data_dir = dir.path().join(service.name());
            std::fs::create_dir_all(&data_dir).expect("a data directory");
            let mut env = peers.clone();
            env.extend(extra.iter().cloned());
            env.extend(
                [
                    ("MART_GRPC_ADDR", addr.to_string()),
                    ("DATABASE_URL", database.url.clone()),
                    ("MART_DATA_DIR", data_dir.display().to_string()),
                    ("MART_EVENT_BUS", "kafka".to_owned()),
                    ("KAFKA_BROKERS", brokers.clone()),
                    ("MART_KAFKA_TOPICS", topics.to_owned()),
                    ("MART_EVENT_PARTITIONS", PARTITIONS.to_owned()),
                ]
                .map(|(name, value)| (name.to_owned(), value)),
            );
            if service == Service::User {
                env.push(("MART_BOOTSTRAP_ADMIN_EMAIL".to_owned(), ADMIN_EMAIL.to_owned()));
                env.push(("MART_BOOTSTRAP_ADMIN_PASSWORD".to_owned(), PASSWORD.to_owned()));
            }
            databases.push(database);
            environments.insert(service.name(), env);
        }

        // svc-user first: the others fetch its token keys.
        let mut services = BTreeMap::new();
        for (service, addr) in addrs {
            let name = service.name();
            services.insert(name, Process::service(dir.path(), name, &environments[name]));
            if service == Service::User {
                mart_platform::test_util::wait_until_serving(addr).await;
            }
        }

        let http_addr = free_port();
        let mut edge_env = peers;
        edge_env.extend(extra);
        edge_env.extend(
            [
                ("MART_HTTP_ADDR", http_addr.to_string()),
                ("MART_EDGE_RATE_PER_IP", "0".to_owned()),
                ("MART_EDGE_RATE_PER_USER", "0".to_owned()),
            ]
            .map(|(name, value)| (name.to_owned(), value)),
        );
        let edge = Process::spawn(dir.path(), "edge", &binary("edge"), &edge_env);
        let mut shop = Self {
            services,
            http: HttpClient { addr: http_addr },
            edge,
            _kafka: kafka,
            environments,
            _databases: databases,
            dir,
        };
        // Migrations of six debug builds on PostgreSQL, on a shared machine.
        shop.ready(Duration::from_secs(60)).await;
        shop
    }

    /// Waits until the edge's `/readyz` answers 200: every service is serving. Fails at once
    /// when one of the processes died.
    async fn ready(&mut self, deadline: Duration) {
        let deadline = tokio::time::Instant::now() + deadline;
        loop {
            for process in self.services.values_mut().chain([&mut self.edge]) {
                process.assert_running();
            }
            if self.ping().await == Some(StatusCode::OK) {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                let answer = self.http.get("/readyz", None).await;
                panic!("timed out waiting for the edge's /readyz to answer 200: {} {}", answer.status, answer.json);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `/readyz`'s status, or none while the edge does not accept connections yet (the
    /// test client panics on a refused connection, so look first).
    async fn ping(&self) -> Option<StatusCode> {
        tokio::net::TcpStream::connect(self.http.addr).await.ok()?;
        Some(self.http.get("/readyz", None).await.status)
    }

    /// The JSON lines of `service`'s log (what `MART_LOG_FORMAT=json` writes).
    fn log_lines(&self, service: &str) -> Vec<Value> {
        let log = std::fs::read_to_string(&self.services[service].log).expect("the service's log");
        log.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"))).collect()
    }

    /// Kills `service` the hard way: SIGKILL, as the OOM killer or a lost machine would.
    fn kill(&mut self, service: Service) {
        let process = self.services.get_mut(service.name()).expect("a started service");
        process.kill();
    }

    /// Starts `service` again, on the same address, database and broker.
    fn restart(&mut self, service: Service) {
        let name = service.name();
        let process = Process::service(self.dir.path(), name, &self.environments[name]);
        self.services.insert(name, process);
    }
}

/// A child process, killed when dropped; its stdout and stderr go to a log file.
struct Process {
    name: String,
    child: Child,
    log: PathBuf,
    /// Held open so a child that watches its stdin (the mock cluster) ends with the test.
    _stdin: Option<ChildStdin>,
    /// Set once the test killed it on purpose.
    killed: bool,
}

impl Process {
    /// The service binary `svc-<name>` with `env` and nothing else from the test's
    /// environment (a developer's `DATABASE_URL` or `MART_EVENT_BUS` must not leak in).
    fn service(dir: &Path, name: &str, env: &[(String, String)]) -> Self {
        Self::spawn(dir, name, &binary(&format!("svc-{name}")), env)
    }

    fn spawn(dir: &Path, name: &str, program: &Path, env: &[(String, String)]) -> Self {
        let log = dir.join(format!("{name}.log"));
        // Appended: a restarted service's log follows its first life's.
        let file = File::options().create(true).append(true).open(&log).expect("a log file");
        let mut command = Command::new(program);
        command
            .env_clear()
            .envs(env.iter().map(|(name, value)| (name, value)))
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned()))
            .env("NO_COLOR", "1")
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("a log file handle"))
            .stderr(file);
        let child = command.spawn().unwrap_or_else(|error| panic!("cannot start {}: {error}", program.display()));
        Self { name: name.to_owned(), child, log, _stdin: None, killed: false }
    }

    /// `mart-kafka-mock` with every topic created; the process and its bootstrap servers.
    fn kafka_mock(dir: &Path) -> (Self, String) {
        let log = dir.join("kafka.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_mart-kafka-mock"))
            .env("MART_EVENT_PARTITIONS", PARTITIONS)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("a log file"))
            .spawn()
            .expect("mart-kafka-mock starts");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("a piped stdout");
        let process = Self { name: "kafka".to_owned(), child, log, _stdin: stdin, killed: false };
        // Blocking, but only until the mock's first line (it prints it once the topics exist).
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("mart-kafka-mock's output");
        let Some(brokers) = line.trim().strip_prefix("BROKERS ") else {
            panic!("mart-kafka-mock printed {line:?}:\n{}", process.tail());
        };
        (process, brokers.to_owned())
    }

    fn kill(&mut self) {
        self.killed = true;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Panics, with its log, if the process exited by itself.
    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait()
            && !self.killed
        {
            panic!("{} exited ({status}):\n{}", self.name, self.tail());
        }
    }

    /// The last lines of its log.
    fn tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.killed {
            eprintln!("--- the last lines of {} ({}) ---\n{}", self.name, self.log.display(), self.tail());
        }
        self.kill();
    }
}

/// The workspace binary `name`, from the target directory this test was built into
/// (`target/debug/deps/distributed-…` → `target/debug/name`).
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe.parent().and_then(Path::parent).expect("a target directory");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test does)",
        path.display()
    );
    path
}

/// A port nobody listens on right now.
fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("a local address")
}

/// Polls `check` until it answers, for at most `deadline` (longer than `eventually`'s ten seconds).
async fn within<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// === the story's steps, through the edge ===

impl Cluster {
    /// Logs `email` in; the access token.
    async fn login(&self, email: &str) -> String {
        let login = self.http.send("POST", "/v1/auth/login", None, json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.json);
        login.json["accessToken"].as_str().unwrap().to_owned()
    }

    /// Registers a customer with a shipping address: (token, address id).
    async fn customer(&self, email: &str) -> (String, String) {
        let body = json!({"email": email, "password": PASSWORD, "firstName": "Ada", "lastName": "Lovelace"});
        let registered = self.http.send("POST", "/v1/users", None, body).await;
        assert_eq!(registered.status, StatusCode::OK, "{}", registered.json);
        let token = self.login(email).await;
        let body = json!({"label": "home", "line1": "1 Analytical Way", "city": "London", "postalCode": "N1 7AA", "country": "GB"});
        let address = self.http.send("POST", "/v1/users/me/addresses", Some(&token), body).await;
        assert_eq!(address.status, StatusCode::OK, "{}", address.json);
        (token, address.json["address"]["id"].as_str().unwrap().to_owned())
    }

    /// A product with `stock` units, created by the admin; its id.
    async fn product(&self, admin: &str, sku: &str, price_minor: i64, stock: i32) -> String {
        let category = self.http.send("POST", "/v1/categories", Some(admin), json!({"name": format!("c-{sku}")})).await;
        assert_eq!(category.status, StatusCode::OK, "{}", category.json);
        let body = json!({
            "sku": sku, "name": format!("Product {sku}"), "description": "Fine", "brand": "Acme",
            "price": {"amountMinor": price_minor.to_string(), "currency": "USD"},
            "categoryId": category.json["category"]["id"], "initialStock": stock,
        });
        let created = self.http.send("POST", "/v1/products", Some(admin), body).await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.json);
        let id = created.json["product"]["id"].as_str().unwrap().to_owned();
        self.stock_is(&id, admin, stock, 0, None).await;
        id
    }

    /// Puts `quantity` of `product` in the cart and places the order; the order's id.
    async fn order(&self, customer: &str, address: &str, product: &str, quantity: i32) -> String {
        let body = json!({"productId": product, "quantity": quantity});
        let added = self.http.send("POST", "/v1/cart/items", Some(customer), body).await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.json);
        let placed = self.http.send("POST", "/v1/orders", Some(customer), json!({"addressId": address})).await;
        assert_eq!(placed.status, StatusCode::OK, "{}", placed.json);
        placed.json["order"]["id"].as_str().unwrap().to_owned()
    }

    /// Waits (ten seconds, or `deadline`) until order `id` is in `status`.
    async fn order_reaches(&self, id: &str, token: &str, status: &str, deadline: Option<Duration>) {
        wait(deadline, &format!("order {id} in {status}"), || async {
            let order = self.http.get(&format!("/v1/orders/{id}"), Some(token)).await;
            (order.json["order"]["status"] == status).then_some(())
        })
        .await;
    }

    /// Waits until `product` has `on_hand` units with `reserved` of them reserved.
    async fn stock_is(&self, product: &str, admin: &str, on_hand: i32, reserved: i32, deadline: Option<Duration>) {
        wait(deadline, &format!("stock of {product} at {on_hand} on hand, {reserved} reserved"), || async {
            let stock = self.http.get(&format!("/v1/products/{product}/stock"), Some(admin)).await;
            (stock.json["stock"]["onHand"] == on_hand && stock.json["stock"]["reserved"] == reserved).then_some(())
        })
        .await;
    }

    /// Waits until order `id`'s manual payment exists, then the admin confirms it.
    async fn confirm_payment(&self, id: &str, admin: &str, deadline: Option<Duration>) {
        wait(deadline, &format!("the payment of order {id}"), || async {
            let payment = self.http.get(&format!("/v1/orders/{id}/payment"), Some(admin)).await;
            (payment.status == StatusCode::OK).then_some(())
        })
        .await;
        let confirmed =
            self.http.send("POST", &format!("/v1/orders/{id}/payment:confirm"), Some(admin), json!({})).await;
        assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.json);
    }

    /// The kinds of `product`'s stock movements, oldest first.
    async fn movements(&self, product: &str, admin: &str) -> Vec<String> {
        let listed = self.http.get(&format!("/v1/products/{product}/stock/movements"), Some(admin)).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.json);
        let mut kinds: Vec<String> = kinds(&listed.json["movements"], "STOCK_MOVEMENT_KIND_");
        kinds.reverse();
        kinds
    }

    /// The kinds of the notifications in `token`'s inbox, oldest first.
    async fn inbox(&self, token: &str) -> Vec<String> {
        let listed = self.http.get("/v1/notifications", Some(token)).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.json);
        let mut kinds = kinds(&listed.json["notifications"], "NOTIFICATION_KIND_");
        kinds.reverse();
        kinds
    }
}

/// The `kind` of each item of `list`, without the enum's `prefix`.
fn kinds(list: &Value, prefix: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["kind"].as_str())
        .map(|kind| kind.trim_start_matches(prefix).to_owned())
        .collect()
}

/// How long an ordinary step may take. Longer than in-process stories: each consumer group
/// first joins the broker (seconds on the mock), and the whole suite runs beside this test
/// on 2 cores.
const STEP: Duration = Duration::from_secs(30);

/// [`within`] [`STEP`], or `deadline`.
async fn wait<F, Fut>(deadline: Option<Duration>, what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<()>>,
{
    within(deadline.unwrap_or(STEP), what, check).await
}
