//! svc-notify: tells users what happened to their account, orders and payments.
//!
//! Every notification lands in the user's in-app inbox; it is also emailed when SMTP is
//! configured, and texted when the user has a phone number. Contact data is a projection
//! of the user events, so sending never waits on svc-user. Outgoing messages are queued in
//! the same transaction as the inbox entry and sent by a background task that retries with
//! backoff and records every outcome.
//!
//! Rooms, the same as in every service (a newcomer who knows one knows all):
//!
//! | room | role here |
//! |---|---|
//! | `main.rs` | `binary::run(...)` only |
//! | `lib.rs` | [`serve`]: wiring only |
//! | [`api`] (+ [`api::wire`]) | per RPC: authorize, parse the request into domain values in one step, call a command or a read, encode. A new RPC goes here |
//! | [`commands`] | every state change in one transaction (begin_write … commit, or the bus handler's transaction): notify (inbox entry + queued deliveries), an admin's message, mark read, contacts known or deleted, claiming and finishing a delivery; the sender is woken after a commit that queued messages |
//! | [`reactions`] | the bus handler (group `notify`; user, order and payment events): decode the envelope, call commands. A new event reaction goes here |
//! | [`loops`] | the service's own background work: the [`loops::Sender`] draining the delivery queue, run by platform's `Background`. A new background loop goes here |
//! | [`provider`] | the outside world: email over SMTP, SMS behind [`provider::SmsProvider`] |
//! | [`domain`] (with the message [`domain::templates`]), [`store`], [`migration`], [`error`], [`config`] | rules and types; tables and queries; schema; errors; the service's own settings (`SMTP_URL`, `MART_MAIL_FROM`) |
//!
//! There is no `events.rs`: svc-notify publishes no events (it only consumes them), so it
//! has no payload to build and nothing to append to its outbox.

use std::{future::Future, sync::Arc};

use mart_platform::{
    auth::{KeySet, Verifier},
    bus::EventBus,
    config::Service,
    db,
    paging::PageTokens,
    server::GrpcServer,
    tasks::Background,
    wake::Waker,
};
use mart_proto::notify::notification_service_server::NotificationServiceServer;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::net::TcpListener;

pub mod api;
pub mod commands;
pub mod config;
pub mod domain;
pub mod error;
pub mod loops;
pub mod migration;
pub mod provider;
pub mod reactions;
pub mod store;

pub use config::Config;
pub use error::Error;
pub use mart_platform::server::StartError;

/// Runs svc-notify on `listener` until `shutdown` resolves: serves NotificationService
/// (tokens checked against `keys`), reacts to user, order and payment events from `bus`,
/// and sends the queued messages. Its own settings are `config.own` ([`config::Settings`]).
/// On shutdown the server drains, then the sender finishes the message in hand, then the
/// consumer the event in hand.
pub async fn serve(
    config: Config,
    bus: EventBus,
    keys: Arc<KeySet>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let channels = Arc::new(provider::Channels::from_config(&config.own).map_err(StartError::setup("mail settings"))?);
    let db = open(&config).await?;
    let tokens = PageTokens::load(&db).await?;
    let sender = Waker::new();

    let mut background = Background::new(Service::Notify);
    let reactions = reactions::Reactions::new(channels.clone(), sender.clone());
    background.react(&bus, &config.events, db.clone(), reactions::GROUP, reactions::TOPICS, reactions);
    loops::Sender::new(db.clone(), channels.clone(), domain::RetryPolicy::default())
        .start(&mut background, sender.clone());

    let verifier = Arc::new(Verifier::for_shop(keys, &config.auth));
    let api = api::NotificationApi::new(db, channels, sender, tokens, bus);
    GrpcServer::new(Service::Notify, verifier)
        .add_service(NotificationServiceServer::new(api))
        .serve_then_stop(listener, shutdown, background)
        .await
}

/// Opens the database of `config` and brings its schema up to date.
pub async fn open(config: &Config) -> Result<DatabaseConnection, DbErr> {
    db::connect_and_migrate::<migration::Migrator>(&config.database_url).await
}
