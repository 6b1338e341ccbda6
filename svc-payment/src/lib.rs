//! svc-payment: takes the money for orders, and gives it back.
//!
//! A payment per order, opened when the order's stock is reserved (OrderAwaitingPayment),
//! due at the order's deadline, with the provider the configuration names: Stripe (a
//! PaymentIntent the customer pays with Stripe.js; Stripe's signed webhook says when the
//! money arrived) or manual (an admin confirms). PaymentCreated says it is payable.
//! Cancelling the order cancels an open payment or refunds a paid one; money that arrives
//! for an order that stopped waiting is refunded at once; admins refund all or part of a
//! payment (never more than was captured, concurrent refunds included), and refunds made
//! in Stripe's dashboard are recorded. Provider calls are made outside every transaction
//! and retried while the provider is down ([`commands`]). Never two PaymentIntents or two
//! refunds for one request: provider idempotency keys derived from the order or refund id,
//! and unique keys here.
//!
//! The rooms, the same in every service:
//!
//! | room | role |
//! |---|---|
//! | `main.rs` | `binary::run(...)` only |
//! | `lib.rs` | [`serve`]: wiring only |
//! | [`api`] | per RPC: authorize, parse into domain types in one step, call a command or a read, encode |
//! | [`commands`] | every change: one transaction, store calls, [`events`] appended, relay woken |
//! | [`reactions`] | order events: decode the envelope, call commands |
//! | [`loops`] | background work: the expiry sweep, the provider-call worker |
//! | [`events`] | payload builders and `outbox::append` only |
//! | [`provider`] | the outside world: Stripe (and its webhook, [`provider::stripe::webhook`]), manual |
//! | [`domain`], [`store`], [`migration`], [`error`], [`config`] | rules and types; tables and queries; schema; errors; own settings |
//!
//! A new RPC goes into [`api`], the change it makes into [`commands`]. A new event reaction
//! goes into [`reactions`] and calls a command's `xxx_in` variant (the handler holds the
//! transaction, with the event's inbox row). A new background loop goes into [`loops`],
//! registered in [`serve`] with `Background::every`, and calls commands too. A new knob
//! goes into [`config`].
//!
//! `stripe_fake` (feature `test-util`) stands in for Stripe in tests.

use std::{future::Future, sync::Arc};

use mart_platform::{
    auth::{KeySet, Verifier},
    bus::EventBus,
    config::Service,
    db,
    server::GrpcServer,
    tasks::{self, Background, Every, Round},
    wake::Waker,
};
use mart_proto::payment::payment_service_server::PaymentServiceServer;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::net::TcpListener;

use crate::commands::{Commands, Retry};

pub mod api;
pub mod commands;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod loops;
pub mod migration;
pub mod provider;
pub mod reactions;
pub mod store;
#[cfg(feature = "test-util")]
pub mod stripe_fake;

pub use config::Config;
pub use error::Error;
pub use mart_platform::server::StartError;

/// Runs svc-payment on `listener` until `shutdown` resolves: serves PaymentService (tokens
/// checked against `keys`), reacts to order events from `bus`, and relays its own events
/// there; fails payments left unpaid past their deadline. Its own knobs are `config.own`
/// ([`config::Settings`]). On shutdown the server drains, then the expiry loop and the
/// consumer finish what they hold, then the relay ships what is left.
pub async fn serve(
    config: Config,
    bus: EventBus,
    keys: Arc<KeySet>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let providers = provider::Providers::from_config(&config.own).map_err(StartError::setup("payment provider"))?;
    let db = open(&config).await?;
    let mut background = Background::new(Service::Payment);
    let waker = background.relay(db.clone(), bus.clone(), config.events.outbox_retention);
    // Reactions queue provider calls: the worker looks as soon as their event committed.
    let calls = Waker::new();
    background.wake_after_reactions(&calls);
    let timeout = config.own.payment_timeout;
    let retry = Retry { window: config.own.retry_window, max_interval: config.own.retry_max_interval };
    let commands = Commands::new(db.clone(), providers, timeout, retry, waker.clone(), calls.clone());
    background.react(
        &bus,
        &config.events,
        db.clone(),
        reactions::GROUP,
        reactions::TOPICS,
        reactions::Reactions { commands: commands.clone() },
    );

    let expiry = loops::Expiry { db: db.clone(), commands: commands.clone() };
    let every = Every::new(loops::EXPIRY_INTERVAL);
    background.every(loops::NAME, every, move |stop| expiry.clone().round(stop));
    let worker = loops::Calls { db: db.clone(), commands: commands.clone() };
    let every = Every::or_when_woken(loops::CALLS_INTERVAL, calls);
    background.every(loops::CALLS, every, move |stop| worker.clone().round(stop));
    let (pruned, retention) = (db.clone(), config.events.event_retention);
    background.every("payment.prune", Every::new(tasks::PRUNE_INTERVAL), move |_| {
        let db = pruned.clone();
        async move {
            store::stripe_events::prune(&db, retention).await?;
            store::calls::prune(&db, retention).await?;
            Ok::<_, DbErr>(Round::Idle)
        }
    });

    let verifier = Arc::new(Verifier::for_shop(keys, &config.auth));
    let api = api::PaymentApi::new(
        db,
        commands,
        config.own.stripe_webhook_secret.clone(),
        config.own.stripe_publishable_key.clone(),
    );
    GrpcServer::new(Service::Payment, verifier)
        .add_service(PaymentServiceServer::new(api))
        .serve_then_stop(listener, shutdown, background)
        .await
}

/// Opens the database of `config` and brings its schema up to date.
pub async fn open(config: &Config) -> Result<DatabaseConnection, DbErr> {
    db::connect_and_migrate::<migration::Migrator>(&config.database_url).await
}
