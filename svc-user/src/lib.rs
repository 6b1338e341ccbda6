//! svc-user: accounts, sign-in and addresses for Online Mart.
//!
//! Customers register, log in for a short-lived Ed25519 access token and a rotating refresh
//! token, keep their profile and addresses; admins manage accounts. The signing keys live in
//! this service's database and are published as a JWKS for every other service.
//!
//! # Rooms
//!
//! | room | role |
//! |---|---|
//! | `main.rs` | the binary: `binary::run_with` (serve, migrate, `events …`, and [`operator`]'s commands) |
//! | `lib.rs` | [`serve`]: wiring only; [`open`] and [`create_admin`] for `mart` |
//! | [`operator`] | the binary's own subcommands: `admin create`, `keys rotate` |
//! | [`api`] (+ [`api::wire`]) | per RPC: parse the request into domain values in one step ([`api::wire`]), check who asks, call a command or a [`store`] read, encode |
//! | [`commands`] | every state change: one `begin_write … commit`, store calls, [`events`] appended, the relay woken |
//! | [`events`] | payload builders and `outbox::append` only |
//! | [`keys`] | the signing key ring: which key signs, which are published; creates the first key; rotation is a command ([`commands::keys`]) |
//! | [`passwords`] | argon2id hashing on the blocking pool, at most `MART_PASSWORD_HASH_CONCURRENCY` at once, and the login decoy |
//! | [`throttle`] | failed logins by email and client address: too many, and the next attempt waits |
//! | [`domain`] | rules and types (no prost, no sea-orm): email, password policy, names, phone, address, what each request must carry |
//! | [`store`] | entities and queries; the only place rows (`ActiveModel`s) are built |
//! | [`migration`], [`error`], [`config`] | the schema; every failure and its one mapping to `tonic::Status`; svc-user's own settings (token lifetimes, the first admin) |
//!
//! svc-user consumes no other service's events and runs no background work of its own
//! beside the outbox relay, so it has no `reactions.rs`, `loops.rs` or `peers.rs`. A new RPC
//! is a handler in [`api`] (its parsing in [`api::wire`]) calling a function in
//! [`commands`] if it changes state; a reaction to another service's events would go in
//! `reactions.rs` and a background loop in `loops.rs`, both calling [`commands`].

use std::future::Future;
use std::sync::Arc;

use mart_platform::{
    auth::Verifier,
    bus::EventBus,
    config::Service,
    db,
    paging::PageTokens,
    server::GrpcServer,
    tasks::{self, Background, Every, Round},
};
use mart_proto::user::user_service_server::UserServiceServer;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::net::TcpListener;

pub mod api;
pub mod commands;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod keys;
pub mod migration;
pub mod operator;
pub mod passwords;
pub mod store;
pub mod throttle;

pub use commands::accounts::create_admin;
pub use config::{Config, Settings};
pub use error::Error;
pub use mart_platform::server::StartError;

/// Runs svc-user on `listener` until `shutdown` resolves: opens and migrates the database,
/// creates the first admin if configured, serves UserService, and relays its events to
/// `bus`. On shutdown the server drains first, then the relay ships what is left. Unlike
/// the other services it takes no token keys: it owns them.
pub async fn serve(
    config: Config,
    bus: EventBus,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let db = open(&config).await?;
    let mut background = Background::new(Service::User);
    let waker = background.relay(db.clone(), bus, config.events.outbox_retention);
    // Sessions that ended long ago, or expired, are forgotten.
    let (sessions, retention) = (db.clone(), config.events.event_retention);
    background.every("refresh-tokens.prune", Every::new(tasks::PRUNE_INTERVAL), move |_| {
        let db = sessions.clone();
        async move { store::refresh_tokens::prune(&db, retention).await.map(|_| Round::Idle) }
    });
    if let Some(admin) = &config.own.bootstrap_admin {
        commands::accounts::bootstrap_admin(&db, &waker, admin)
            .await
            .map_err(StartError::setup("creating the bootstrap admin"))?;
    }
    passwords::limit(config.own.password_hash_concurrency);
    passwords::warm_up();
    let sealer = keys::sealer(&config).map_err(StartError::setup("the key-encryption key"))?;
    let keys = keys::KeyRing::open(db.clone(), sealer, config.own.access_token_ttl).await?;
    let key_set = keys.key_set();
    key_set.refresh_every(config.auth.refresh_interval);
    let verifier = Arc::new(Verifier::for_shop(key_set, &config.auth));
    let pages = PageTokens::load(&db).await?;

    let issuer = commands::TokenIssuer::new(keys.clone(), &config);
    let api = api::UserApi::new(db, keys, issuer, pages, waker);
    GrpcServer::new(Service::User, verifier)
        .add_service(UserServiceServer::new(api))
        .serve_then_stop(listener, shutdown, background)
        .await
}

/// Opens the database of `config` and brings its schema up to date.
pub async fn open(config: &Config) -> Result<DatabaseConnection, DbErr> {
    db::connect_and_migrate::<migration::Migrator>(&config.database_url).await
}
