//! Plumbing for the svc-user tests: a server on a free port over a fresh database, clients,
//! and shortcuts for the steps every story starts with. Assertions stay in the tests.

use std::{
    net::SocketAddr,
    sync::{Arc, LazyLock},
};

pub use mart_platform::test_util::{authed, bad_fields, reason};
use mart_platform::{
    bus::{EventBus, embedded::EmbeddedBus},
    config::Service,
    test_util::{Running, TestDb},
};
use mart_proto::user::{self as pb, user_service_client::UserServiceClient};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use svc_user::{Config, config::Hidden, keys::Sealer};
use tonic::{Status, transport::Channel};

/// A running svc-user.
pub struct TestApp {
    pub addr: SocketAddr,
    /// The event bus svc-user publishes to: an embedded log of the test's own, or Kafka.
    pub bus: EventBus,
    _log: Option<Arc<TestDb>>,
    /// Dropping it stops the server.
    server: Running<svc_user::StartError>,
    /// Dropped last: the database outlives the server.
    pub db: TestDb,
}

/// The key-encryption key of every svc-user under test (rather than a file in the crate's
/// directory), the same across restarts.
static KEY_ENCRYPTION_KEY: LazyLock<String> = LazyLock::new(Sealer::generate);

/// What seals the private signing keys of the svc-users under test.
pub fn sealer() -> Sealer {
    Sealer::load(Some(&KEY_ENCRYPTION_KEY), std::path::Path::new("")).unwrap()
}

/// The password every test account uses unless a test says otherwise.
pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    /// svc-user on the embedded defaults over `db`.
    pub async fn spawn(db: TestDb) -> Self {
        Self::spawn_with(db, |_| {}).await
    }

    /// svc-user with `adjust` applied to its config.
    pub async fn spawn_with(db: TestDb, adjust: impl FnOnce(&mut Config)) -> Self {
        let log = Arc::new(TestDb::sqlite().await);
        let bus = EventBus::Embedded(EmbeddedBus::open(&log.url, 2).await.unwrap());
        Self::spawn_on(db, bus, Some(log), adjust).await
    }

    /// svc-user publishing to `bus` (whose log, if any, `log` keeps alive).
    pub async fn spawn_on(
        db: TestDb,
        bus: EventBus,
        log: Option<Arc<TestDb>>,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let mut config = Config::embedded(Service::User);
        config.database_url = db.url.clone();
        config.own.key_encryption_key = Some(Hidden::new(KEY_ENCRYPTION_KEY.clone()));
        adjust(&mut config);
        // Ready means migrated and serving: the tests may then touch the database directly.
        let served_bus = bus.clone();
        let server =
            Running::start("svc-user", |listener, shutdown| svc_user::serve(config, served_bus, listener, shutdown))
                .await;
        Self { addr: server.addr, bus, _log: log, server, db }
    }

    /// Stops the server, waits for it, and hands back the database for a restart.
    pub async fn stop(self) -> TestDb {
        self.server.stop().await;
        self.db
    }

    pub fn channel(&self) -> Channel {
        self.server.channel()
    }

    pub fn client(&self) -> UserServiceClient<Channel> {
        UserServiceClient::new(self.channel())
    }

    /// A direct connection to the service's database, to look at what it stored.
    pub async fn database(&self) -> DatabaseConnection {
        mart_platform::db::connect(&self.db.url).await.unwrap()
    }

    /// Registers `email` with [`PASSWORD`].
    pub async fn register(&self, email: &str) -> pb::User {
        self.client()
            .register(pb::RegisterRequest {
                email: email.into(),
                password: PASSWORD.into(),
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                phone: None,
            })
            .await
            .expect("register")
            .into_inner()
            .user
            .unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<pb::LoginResponse, Status> {
        self.client()
            .login(pb::LoginRequest { email: email.into(), password: password.into() })
            .await
            .map(|r| r.into_inner())
    }

    /// Registers and logs in a customer; their access token.
    pub async fn customer(&self, email: &str) -> String {
        self.register(email).await;
        self.login(email, PASSWORD).await.expect("login").access_token
    }

    /// Creates an admin the way an operator does, and logs in; their access token.
    pub async fn admin(&self, email: &str) -> String {
        let db = self.database().await;
        svc_user::create_admin(&db, email, PASSWORD).await.expect("create admin");
        self.login(email, PASSWORD).await.expect("admin login").access_token
    }

    pub async fn me(&self, token: &str) -> Result<pb::User, Status> {
        self.client().get_me(authed(token, pb::GetMeRequest {})).await.map(|r| r.into_inner().user.unwrap())
    }

    /// How many outbox rows of `event_type` are about `aggregate_id`.
    pub async fn outbox_count(&self, event_type: &str, aggregate_id: &str) -> i64 {
        let db = self.database().await;
        let row = db
            .query_one(sea_orm::Statement::from_sql_and_values(
                db.get_database_backend(),
                match db.get_database_backend() {
                    sea_orm::DatabaseBackend::Postgres => {
                        "SELECT COUNT(*) AS n FROM outbox WHERE event_type = $1 AND aggregate_id = $2"
                    }
                    _ => "SELECT COUNT(*) AS n FROM outbox WHERE event_type = ? AND aggregate_id = ?",
                },
                [event_type.into(), aggregate_id.into()],
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }
}
