//! svc-user: accounts, sign-in and addresses for Online Mart.
//!
//! Customers register, log in for a short-lived Ed25519 access token and a rotating refresh
//! token, keep their profile and addresses; admins manage accounts. The signing keys live in
//! this service's database and are published as a JWKS for every other service.
//!
//! Rooms: [`api`] (the gRPC surface), [`domain`] (rules), [`store`] (tables), [`migration`],
//! [`events`] (what it publishes), plus [`keys`] (the signing key ring) and [`passwords`].

use std::future::Future;
use std::sync::Arc;

use mart_platform::{
    auth::Verifier,
    bus::EventBus,
    config::{BootstrapAdmin, Config, Service},
    db,
    outbox::relay::RelayWaker,
    server::{GrpcServer, ServeError},
    tasks::Background,
};
use mart_proto::user::user_service_server::UserServiceServer;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::net::TcpListener;

pub mod api;
pub mod domain;
pub mod error;
pub mod events;
pub mod keys;
pub mod migration;
pub mod passwords;
pub mod store;

pub use error::Error;

/// Why svc-user could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// The first admin from `MART_BOOTSTRAP_ADMIN_*` could not be created.
    #[error("creating the bootstrap admin: {0}")]
    BootstrapAdmin(Error),
    /// The gRPC server failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// Runs svc-user on `listener` until `shutdown` resolves: opens and migrates the database,
/// creates the first admin if configured, serves UserService, and relays its events to
/// `bus`. On shutdown the server drains first, then the relay ships what is left.
pub async fn serve(
    config: Config,
    bus: EventBus,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let db = open(&config).await?;
    let mut background = Background::new(Service::User);
    let waker = background.relay(db.clone(), bus, config.events.outbox_retention);
    if let Some(admin) = &config.bootstrap_admin {
        bootstrap_admin(&db, &waker, admin).await.map_err(StartError::BootstrapAdmin)?;
    }
    passwords::warm_up();
    let keys = keys::KeyRing::open(db.clone(), config.auth.access_token_ttl).await?;
    let verifier = Arc::new(Verifier::new(keys.key_set(), &config.auth.issuer, &config.auth.audience));

    let api = api::UserApi::new(db, keys, waker, config.auth.clone());
    let served = GrpcServer::new(Service::User, verifier)
        .add_service(UserServiceServer::new(api))
        .serve(listener, shutdown)
        .await;
    background.stop().await;
    served?;
    Ok(())
}

/// Opens the database of `config` and brings its schema up to date.
pub async fn open(config: &Config) -> Result<DatabaseConnection, DbErr> {
    db::connect_and_migrate::<migration::Migrator>(&config.database_url).await
}

/// Creates an admin account: what `svc-user admin create` (and later `mart admin create`)
/// runs. Fails with [`Error::EmailTaken`] if the email has an account already. The
/// UserRegistered event waits in the outbox for the running service's relay.
pub async fn create_admin(db: &DatabaseConnection, email: &str, password: &str) -> Result<store::users::Model, Error> {
    create_admin_and_wake(db, &RelayWaker::new(), email, password).await
}

async fn create_admin_and_wake(
    db: &DatabaseConnection,
    waker: &RelayWaker,
    email: &str,
    password: &str,
) -> Result<store::users::Model, Error> {
    let account = api::NewAccount::parse(email, password, "Shop", "Admin", None)?;
    api::register(db, waker, account, domain::Role::Admin).await
}

/// Creates the configured first admin when the shop has no active admin yet.
async fn bootstrap_admin(db: &DatabaseConnection, waker: &RelayWaker, admin: &BootstrapAdmin) -> Result<(), Error> {
    if store::users::count_active_admins(db).await? > 0 {
        return Ok(());
    }
    match create_admin_and_wake(db, waker, &admin.email, &admin.password).await {
        Ok(user) => {
            tracing::info!(email = %user.email, "created the bootstrap admin");
            Ok(())
        }
        Err(Error::EmailTaken) => {
            tracing::warn!(
                email = %admin.email,
                "MART_BOOTSTRAP_ADMIN_EMAIL belongs to an existing non-admin account; not promoting it"
            );
            Ok(())
        }
        Err(error) => Err(error),
    }
}
