//! svc-inventory: stock levels, their ledger, and the reservations that keep the shop from
//! ever selling a unit twice.
//!
//! A stock row per variant (the thing a customer buys; a product without options has one,
//! whose id is the product id), created by ProductCreated or VariantAdded; `available =
//! on_hand − reserved`, never negative (the database's CHECK constraints say so too), and
//! a version that grows with every change. OrderPlaced reserves all lines or none with
//! conditional updates, in variant-id order; OrderPaid sells; cancellations give units
//! back. Every change is a ledger row of its variant.
//!
//! The same rooms with the same roles as every Online Mart service:
//!
//! | room | role here |
//! |---|---|
//! | `main.rs` | `binary::run(...)`: serve, or migrate |
//! | `lib.rs` | [`serve`]: wiring only |
//! | [`api`] | per RPC: authorize, parse into domain types in one step, call a command or a read, encode |
//! | [`commands`] | every state change: one transaction, store calls, ledger rows, events, relay woken |
//! | [`reactions`] | the bus handler (group, topics): decode the envelope, call the commands |
//! | `loops.rs` | the service's own background work (none yet) |
//! | [`events`] | payload builders and `outbox::append` only |
//! | `peers.rs` | calls to other services (none) |
//! | [`domain`], [`store`], [`migration`], [`error`], [`config`] | rules and types; tables and queries; schema; errors; settings (the shared ones only) |
//!
//! A new RPC is a method in [`api`] over a read in [`store`] or a change in [`commands`]; a
//! new event reaction is an arm in [`reactions`] calling a command that takes the handler's
//! transaction (a [`commands::Commands`] method opens its own, for callers without one); a
//! new background loop goes in `loops.rs`, registered in [`serve`] with
//! `Background::every`, calling [`commands`]. Prost types stop at [`api`], [`reactions`]
//! and [`events`]; `ActiveModel`s live only in [`store`].

use std::{future::Future, sync::Arc};

use commands::Commands;
use mart_platform::{
    auth::{KeySet, Verifier},
    bus::EventBus,
    config::Service,
    db,
    paging::PageTokens,
    server::GrpcServer,
    tasks::Background,
};
use mart_proto::inventory::inventory_service_server::InventoryServiceServer;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::net::TcpListener;

pub mod api;
pub mod commands;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod migration;
pub mod reactions;
pub mod store;

pub use config::Config;
pub use error::Error;
pub use mart_platform::server::StartError;

/// Runs svc-inventory on `listener` until `shutdown` resolves: serves InventoryService
/// (tokens checked against `keys`), reacts to product and order events from `bus`, and
/// relays its own events there. On shutdown the server drains, then the consumer finishes
/// the event in hand, then the relay ships what is left.
pub async fn serve(
    config: Config,
    bus: EventBus,
    keys: Arc<KeySet>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let db = open(&config).await?;
    let tokens = PageTokens::load(&db).await?;
    let mut background = Background::new(Service::Inventory);
    let waker = background.relay(db.clone(), bus.clone(), config.events.outbox_retention);
    background.react(&bus, &config.events, db.clone(), reactions::GROUP, reactions::TOPICS, reactions::Reactions);

    let verifier = Arc::new(Verifier::for_shop(keys, &config.auth));
    let api = api::InventoryApi::new(db.clone(), Commands::new(db, waker), tokens);
    GrpcServer::new(Service::Inventory, verifier)
        .add_service(InventoryServiceServer::new(api))
        .serve_then_stop(listener, shutdown, background)
        .await
}

/// Opens the database of `config` and brings its schema up to date.
pub async fn open(config: &Config) -> Result<DatabaseConnection, DbErr> {
    db::connect_and_migrate::<migration::Migrator>(&config.database_url).await
}
