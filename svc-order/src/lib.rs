//! svc-order: carts, checkout and the order lifecycle of Online Mart.
//!
//! A cart per user holds variants (the things a customer buys: a product in one
//! combination of its options, or a product's one default variant) and quantities; prices
//! always come from the catalog. PlaceOrder snapshots the cart — per variant: product,
//! SKU, option values, name, price and image — and the shipping address into an order
//! (PENDING),
//! idempotently, and announces OrderPlaced — unless the account, or the client address it
//! places from, already has as many unpaid orders open as allowed
//! (`MART_ORDER_MAX_OPEN_UNPAID`, default 3; `MART_ORDER_MAX_OPEN_UNPAID_PER_ADDRESS`,
//! default 30), so that free accounts cannot hold all the stock. From there the order moves through one
//! lifecycle table ([`domain::lifecycle`]) as inventory reserves or rejects (RESERVED, with
//! the one payment deadline), svc-payment opens the payment (AWAITING_PAYMENT: pay now),
//! the payment succeeds, fails or runs out ([`loops`]), admins ship and deliver, and
//! refunds are recorded (a full one before shipping cancels the order). Every move is a
//! conditional update, a history row and (mostly) an event, in one transaction.
//!
//! The rooms, the same in every service:
//!
//! | room | role |
//! |---|---|
//! | `main.rs` | the binary: `binary::run` with [`serve`] and [`open`] |
//! | `lib.rs` | [`serve`]: wiring only |
//! | [`api`] (+ `api/wire.rs`) | per RPC: authorize, parse the request into domain values, call a command or a read, encode. No transaction, no SQL |
//! | [`commands`] | every state change: one `begin_write … commit`, store calls, events appended, relay woken; cart changes, PlaceOrder, every lifecycle move. Called from the API, the reactions and the loops alike |
//! | [`reactions`] | the bus handler: inventory and payment events decoded into lifecycle moves (the commands' in-transaction variants) |
//! | [`loops`] | the service's own background work: the payment deadline sweeper, WatchOrder's re-read |
//! | [`watch`] | WatchOrder's streams: one hub of "order X changed" told by the commands, the reactions and the re-read |
//! | [`events`] | payload builders and `outbox::append` only |
//! | [`peers`] | outgoing gRPC: the catalog (svc-product) and the address book (svc-user) |
//! | [`domain`], [`store`], [`migration`], [`error`], [`config`] | rules and types (no prost, no sea-orm); tables and queries (the only `ActiveModel`s); schema; errors; the service's own settings |
//!
//! A new RPC is a handler in [`api`] (its parsing and encoding in `api/wire.rs`) over a
//! command or a store read; a new event reaction is an arm in [`reactions`] calling a
//! command; a new background loop goes in [`loops`], started in [`serve`].

use std::{future::Future, sync::Arc};

use mart_platform::{
    auth::{KeySet, Verifier},
    bus::EventBus,
    changes::Limits,
    config::Service,
    db,
    paging::PageTokens,
    server::GrpcServer,
    tasks::{Background, Every},
};
use mart_proto::order::order_service_server::OrderServiceServer;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::net::TcpListener;

pub mod api;
pub mod commands;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod loops;
pub mod migration;
pub mod peers;
pub mod reactions;
pub mod store;
pub mod watch;

pub use config::{Config, Settings};
pub use error::Error;
pub use mart_platform::server::StartError;

/// Runs svc-order on `listener` until `shutdown` resolves: serves OrderService (tokens
/// checked against `keys`), reacts to inventory and payment events from `bus`, cancels
/// orders whose payment is overdue, and relays its own events there. On shutdown the
/// WatchOrder streams end (their clients watch again elsewhere), the server drains, then
/// the sweeper and the consumer finish what they hold, then the relay ships what is left.
pub async fn serve(
    config: Config,
    bus: EventBus,
    keys: Arc<KeySet>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let db = open(&config).await?;
    let tokens = PageTokens::load(&db).await?;
    let catalog = peers::Catalog::new(&config.peers.product)
        .map_err(StartError::setup("svc-product address (MART_PRODUCT_ADDR)"))?;
    let address_book =
        peers::AddressBook::new(&config.peers.user).map_err(StartError::setup("svc-user address (MART_USER_ADDR)"))?;

    // WatchOrder's streams, told of every order this process moves; closed at shutdown,
    // so that no stream holds the drain open.
    let limits = Limits {
        total: usize::try_from(config.own.max_watchers).unwrap_or(usize::MAX),
        per_owner: usize::try_from(config.own.max_watchers_per_user).unwrap_or(usize::MAX),
    };
    let changes = watch::OrderChanges::new(limits);
    let closing = changes.clone();
    let shutdown = async move {
        shutdown.await;
        closing.close();
    };

    let mut background = Background::new(Service::Order);
    let waker = background.relay(db.clone(), bus.clone(), config.events.outbox_retention);
    background.react(
        &bus,
        &config.events,
        db.clone(),
        reactions::GROUP,
        reactions::TOPICS,
        reactions::Reactions::new(config.own.payment_timeout, changes.clone()),
    );
    let max_quantity = config.own.max_quantity;
    let caps = domain::UnpaidCaps {
        per_account: config.own.max_open_unpaid,
        per_address: config.own.max_open_unpaid_per_address,
    };
    let commands =
        commands::Commands::new(db.clone(), waker, catalog.clone(), address_book, max_quantity, caps, changes.clone());
    let (sweeper_db, sweeper, grace) = (db.clone(), commands.clone(), config.own.expiry_grace);
    background.every(loops::NAME, Every::new(loops::INTERVAL), move |stop| {
        let (db, commands) = (sweeper_db.clone(), sweeper.clone());
        async move { loops::sweep(&db, &commands, grace, &stop).await }
    });

    let (recheck_db, rechecked, seen) = (db.clone(), changes.clone(), Arc::new(loops::Seen::default()));
    background.every(loops::RECHECK, Every::new(config.own.watch_recheck), move |_| {
        let (db, changes, seen) = (recheck_db.clone(), rechecked.clone(), seen.clone());
        async move { loops::recheck(&db, &changes, &seen).await }
    });

    let verifier = Arc::new(Verifier::for_shop(keys, &config.auth));
    let watching = watch::Watching::new(changes, db.clone(), config.own.watch_max_life);
    let api = api::OrderApi::new(commands, db, catalog, tokens, max_quantity, watching);
    GrpcServer::new(Service::Order, verifier)
        .add_service(OrderServiceServer::new(api))
        .serve_then_stop(listener, shutdown, background)
        .await
}

/// Opens the database of `config` and brings its schema up to date.
pub async fn open(config: &Config) -> Result<DatabaseConnection, DbErr> {
    db::connect_and_migrate::<migration::Migrator>(&config.database_url).await
}
