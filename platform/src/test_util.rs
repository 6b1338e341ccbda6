//! Test support (feature `test-util`): a fresh database per test on either backend, port-0
//! listeners, polling with a deadline instead of sleeps, and an SMTP sink ([`smtp`]).

use std::{future::Future, time::Duration};

use sea_orm::{ConnectionTrait, Database};
use tokio::net::TcpListener;

pub mod otlp;
pub mod smtp;

/// The server tests create their PostgreSQL databases on, unless
/// `MART_TEST_DATABASE_URL` says otherwise.
pub const DEFAULT_TEST_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Which database engine a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the test PostgreSQL server.
    Postgres,
}

/// A database that exists for one test and is removed after it.
pub struct TestDb {
    /// The URL to give the service.
    pub url: String,
    /// Its engine.
    pub backend: Backend,
    /// Keeps the SQLite file's directory alive.
    _dir: Option<tempfile::TempDir>,
    /// The server URL and database name to drop at the end, for PostgreSQL.
    postgres: Option<(String, String)>,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb").field("url", &self.url).finish()
    }
}

impl TestDb {
    /// A database on `backend`.
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite().await,
            Backend::Postgres => Self::postgres().await,
        }
    }

    /// A SQLite file in a new temporary directory.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        Self { url, backend: Backend::Sqlite, _dir: Some(dir), postgres: None }
    }

    /// A new, empty database on the test PostgreSQL server. Panics with instructions when
    /// no server answers: a test that needs PostgreSQL must not pass silently without it.
    pub async fn postgres() -> Self {
        let server = std::env::var("MART_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_POSTGRES.to_owned());
        let admin = Database::connect(&server).await.unwrap_or_else(|error| {
            panic!(
                "cannot reach the test PostgreSQL at {server} ({error}). Start it (scripts/test does) \
                 or point MART_TEST_DATABASE_URL at one"
            )
        });
        let name = format!("mart_test_{}", uuid::Uuid::new_v4().simple());
        admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("CREATE DATABASE");
        let _ = admin.close().await;
        let (base, _) = server.rsplit_once('/').expect("a database URL ends in /<database>");
        let url = format!("{base}/{name}");
        Self { url, backend: Backend::Postgres, _dir: None, postgres: Some((server, name)) }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot block on itself: use a thread
        // with its own small runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let admin = Database::connect(&server).await.ok()?;
                admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.ok()?;
                admin.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: could not drop a test database");
        }
    }
}

/// A listener on a free port of 127.0.0.1.
pub async fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0")
}

/// Polls `check` until it returns `Some`, for at most ten seconds; panics naming `what`
/// when it never does. For effects that arrive asynchronously (events, background tasks).
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    within(Duration::from_secs(10), what, check).await
}

/// [`eventually`] with a bound of the test's own: for behaviour the issue bounds in time
/// ("refused within 2 s"), generous enough to tell working from broken.
pub async fn within<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what} ({limit:?})");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs each named `async fn(TestDb)` of the enclosing test file once on SQLite and once on
/// PostgreSQL, as `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::test_util::TestDb::new($crate::test_util::Backend::Sqlite).await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::test_util::TestDb::new($crate::test_util::Backend::Postgres).await).await
                }
            )*
        }
    };
}

/// Signs access tokens the way svc-user does, with a key of the test's own, so a service
/// can be tested without running svc-user: hand [`TokenMinter::key_set`] to the service.
pub struct TokenMinter {
    key: ed25519_dalek::SigningKey,
    kid: String,
}

impl Default for TokenMinter {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenMinter {
    /// A minter with a fresh key.
    pub fn new() -> Self {
        let mut seed = [0u8; 32];
        seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self { key: ed25519_dalek::SigningKey::from_bytes(&seed), kid: "test-key".to_owned() }
    }

    /// The keys a service under test should trust.
    pub fn key_set(&self) -> std::sync::Arc<crate::auth::KeySet> {
        std::sync::Arc::new(crate::auth::KeySet::fixed(vec![crate::auth::PublicKey {
            kid: self.kid.clone(),
            key: self.key.verifying_key(),
        }]))
    }

    /// An access token for customer `user_id`.
    pub fn user(&self, user_id: &str) -> String {
        self.token(user_id, crate::auth::Role::User)
    }

    /// An access token for admin `user_id`.
    pub fn admin(&self, user_id: &str) -> String {
        self.token(user_id, crate::auth::Role::Admin)
    }

    /// An access token for customer `user_id` that expired a minute ago.
    pub fn expired_user(&self, user_id: &str) -> String {
        self.token_expiring(user_id, crate::auth::Role::User, -60)
    }

    fn token(&self, user_id: &str, role: crate::auth::Role) -> String {
        self.token_expiring(user_id, role, 900)
    }

    fn token_expiring(&self, user_id: &str, role: crate::auth::Role, seconds: i64) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = crate::auth::Claims {
            sub: user_id.to_owned(),
            role,
            iss: "mart".to_owned(),
            aud: "mart".to_owned(),
            exp: now + seconds,
            iat: now,
            jti: uuid::Uuid::now_v7().to_string(),
            sid: uuid::Uuid::now_v7().to_string(),
        };
        crate::auth::jwt::sign(&claims, &self.kid, &self.key)
    }
}

/// `message` with `authorization: Bearer <token>`.
pub fn authed<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = format!("Bearer {token}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

/// The fields named by a status's BadRequest detail (asserting it is INVALID_ARGUMENT).
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// The `ErrorInfo.reason` of a status (empty when it has none).
pub fn reason(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    status.get_details_error_info().map(|info| info.reason).unwrap_or_default()
}

/// Publishes one event about `aggregate_id` on `bus`, as a service's relay would; the
/// envelope sent.
pub async fn publish(
    bus: &crate::bus::EventBus,
    aggregate_id: &str,
    payload: mart_proto::events::envelope::Payload,
) -> mart_proto::events::Envelope {
    let envelope = crate::events::envelope(aggregate_id, payload);
    publish_envelope(bus, &envelope).await;
    envelope
}

/// Publishes `envelope` (again, for redelivery tests).
pub async fn publish_envelope(bus: &crate::bus::EventBus, envelope: &mart_proto::events::Envelope) {
    use prost::Message;
    let Some(payload) = &envelope.payload else { panic!("an envelope without payload") };
    let record = crate::bus::Record {
        topic: crate::events::topic_of(payload).to_owned(),
        key: envelope.aggregate_id.clone(),
        payload: envelope.encode_to_vec(),
        headers: vec![(crate::bus::headers::EVENT_ID.to_owned(), envelope.id.clone())],
    };
    bus.publish(&[record]).await.expect("publish");
}

/// A consumer that keeps every envelope of some topics, for tests to look at.
pub struct Collector {
    events: std::sync::Arc<std::sync::Mutex<Vec<mart_proto::events::Envelope>>>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    _inbox: TestDb,
}

struct Keep(std::sync::Arc<std::sync::Mutex<Vec<mart_proto::events::Envelope>>>);

impl crate::bus::Handler for Keep {
    fn handle<'a>(
        &'a self,
        _txn: &'a crate::bus::DatabaseTransaction,
        event: &'a crate::bus::Event,
    ) -> futures::future::BoxFuture<'a, Result<(), crate::bus::HandlerError>> {
        Box::pin(async move {
            self.0
                .lock()
                .map_err(|_| crate::bus::HandlerError::transient("a poisoned lock".to_owned()))?
                .push(event.envelope.clone());
            Ok(())
        })
    }
}

struct InboxOnly;

impl sea_orm_migration::MigratorTrait for InboxOnly {
    fn migrations() -> Vec<Box<dyn sea_orm_migration::MigrationTrait>> {
        vec![Box::new(crate::bus::inbox::Migration)]
    }
}

impl Collector {
    /// Starts collecting `topics` from the beginning, in a group of its own.
    pub async fn start(bus: &crate::bus::EventBus, topics: &[&str]) -> Self {
        let inbox = TestDb::sqlite().await;
        let db = crate::db::connect_and_migrate::<InboxOnly>(&inbox.url).await.expect("the collector's inbox");
        let events = std::sync::Arc::default();
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let task = bus.subscribe(
            crate::bus::Subscription {
                group: format!("collector-{}", uuid::Uuid::new_v4().simple()),
                topics: topics.iter().map(|t| (*t).to_owned()).collect(),
                db,
                handler: std::sync::Arc::new(Keep(std::sync::Arc::clone(&events))),
                retry: crate::bus::RetryPolicy::new(3),
                metrics: None,
                wake_relay: None,
            },
            shutdown,
        );
        Self { events, stop, task, _inbox: inbox }
    }

    /// Everything collected so far.
    pub fn events(&self) -> Vec<mart_proto::events::Envelope> {
        self.events.lock().map(|events| events.clone()).unwrap_or_default()
    }

    /// Waits (at most ten seconds) until `done` holds for what was collected; returns it.
    pub async fn wait_for(
        &self,
        what: &str,
        done: impl Fn(&[mart_proto::events::Envelope]) -> bool,
    ) -> Vec<mart_proto::events::Envelope> {
        eventually(what, || {
            let events = self.events();
            let ready = done(&events);
            async move { ready.then_some(events) }
        })
        .await
    }

    /// Stops the consumer.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Waits (at most ten seconds) until the gRPC server at `addr` reports SERVING: it has
/// migrated its database and accepts calls.
pub async fn wait_until_serving(addr: std::net::SocketAddr) {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
    let channel = match tonic::transport::Channel::from_shared(format!("http://{addr}")) {
        Ok(endpoint) => endpoint.connect_lazy(),
        Err(error) => panic!("not an address: {error}"),
    };
    eventually("the server to report SERVING", || {
        let mut health = HealthClient::new(channel.clone());
        async move {
            let response = health.check(HealthCheckRequest { service: String::new() }).await.ok()?;
            (response.into_inner().status() == ServingStatus::Serving).then_some(())
        }
    })
    .await;
}

/// The services the gRPC server at `addr` advertises through reflection (what `grpcurl
/// list` prints).
pub async fn reflected_services(addr: std::net::SocketAddr) -> Vec<String> {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}")).expect("an address").connect_lazy();
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("a reflection stream")
        .into_inner();
    let response = responses.message().await.expect("a reflection answer").expect("one message");
    match response.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => list.service.into_iter().map(|s| s.name).collect(),
        other => panic!("unexpected reflection answer {other:?}"),
    }
}

/// The health the gRPC server at `addr` reports for `service` (`""`: the whole server).
pub async fn serving_status(
    addr: std::net::SocketAddr,
    service: &str,
) -> tonic_health::pb::health_check_response::ServingStatus {
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}")).expect("an address").connect_lazy();
    let response = HealthClient::new(channel).check(HealthCheckRequest { service: service.to_owned() }).await;
    response.expect("a health answer").into_inner().status()
}

/// A service under test, started on a port-0 listener: where it listens, and how to stop
/// it. What every service's test support builds its `TestApp` on.
pub struct Running<E> {
    /// Where it serves gRPC.
    pub addr: std::net::SocketAddr,
    /// Which service, for the failure message.
    name: &'static str,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), E>>,
}

impl<E: std::fmt::Display + Send + 'static> Running<E> {
    /// Starts `serve` (a service's `serve` with all but its listener and shutdown given) on
    /// a free port and waits until it reports SERVING: it has migrated its database and
    /// accepts calls. `name` names it when it fails.
    pub async fn start<F, Fut>(name: &'static str, serve: F) -> Self
    where
        F: FnOnce(TcpListener, futures::future::BoxFuture<'static, ()>) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
    {
        let listener = listener().await;
        let addr = listener.local_addr().expect("a bound listener has an address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown: futures::future::BoxFuture<'static, ()> = Box::pin(async move {
            let _ = stopped.await;
        });
        let task = tokio::spawn(serve(listener, shutdown));
        wait_until_serving(addr).await;
        Self { addr, name, stop, task }
    }

    /// A lazily connecting channel to it.
    pub fn channel(&self) -> tonic::transport::Channel {
        match tonic::transport::Channel::from_shared(format!("http://{}", self.addr)) {
            Ok(endpoint) => endpoint.connect_lazy(),
            Err(error) => panic!("not an address: {error}"),
        }
    }

    /// Stops it and waits; panics unless it stopped cleanly.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => panic!("{} stopped with an error: {error}", self.name),
            Err(error) => panic!("{} panicked: {error}", self.name),
        }
    }
}

/// Asserts that each `(variable, value)`, set alone, is refused by `S` with an error that
/// `size` bytes that are a PNG as far as an upload check can tell: the eight-byte
/// signature, then picture data (for size limits; a real picture is `mart::demo::picture`).
pub fn png_of(size: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..size.saturating_sub(8)).map(|i| (i % 251) as u8));
    bytes
}

/// names `variable`, in its field and in its message.
pub fn assert_refused<S: crate::config::Settings>(cases: &[(&str, &str)]) {
    for &(variable, value) in cases {
        let error = S::from_pairs(&[(variable, value)]).expect_err(&format!("{variable}={value:?} is refused"));
        assert_eq!(error.variable, variable, "{variable}={value:?}");
        assert!(error.to_string().contains(variable), "{error}");
    }
}
