//! svc-product: the catalog of Online Mart.
//!
//! Anyone browses categories and products (filtered, sorted, paged by keyset with
//! platform's signed page tokens, bound to the query that issued them); admins maintain them; svc-order reads current prices through the internal
//! BatchGetProducts. Every product change is announced on `mart.product.events` through
//! the outbox, which is how svc-inventory learns of new products and their initial stock.
//!
//! The rooms, the same as in every service:
//!
//! | room | role |
//! |---|---|
//! | `lib.rs` | [`serve`]: wiring only |
//! | [`api`] (+ [`api::wire`]) | per RPC: parse the request into domain values in one step, call a command or a read (a [`store`] query), encode the answer. No transaction, no `ActiveModel` |
//! | [`commands`] | every state change: one `begin_write … commit`, store calls, [`events`] appended, relay woken, this replica's [`product_cache`] entry dropped |
//! | [`events`] | payload builders and `outbox::append` only |
//! | [`peers`] | outgoing gRPC: GetProduct's stock figure from svc-inventory |
//! | [`domain`], [`store`], [`migration`], [`error`], [`config`] | rules and types (no prost, no sea-orm); tables and queries (the only room with `ActiveModel`s); schema; errors and their one `Status` mapping; the catalog's own settings |
//! | [`product_cache`] | GetProduct's short-lived answer cache: filled by [`api`], emptied by [`commands`] |
//!
//! A new RPC is a handler in [`api`] (its parsing and encoding in [`api::wire`]) calling a
//! [`commands`] function when it changes state, a [`store`] query when it only reads.
//! [`reactions`] reads svc-inventory's stock events (what is in stock, for lists and
//! filters); [`loops`] asks svc-inventory about variants it never heard of (a catalog
//! upgraded from before variants). Variants, options and images live beside products in
//! [`store`] ([`store::records`] reads a product with all of them); uploaded images are
//! [`media`].

use std::future::Future;
use std::sync::Arc;

use mart_platform::{
    auth::{KeySet, Verifier},
    bus::EventBus,
    config::Service,
    db, paging,
    server::GrpcServer,
    tasks::{Background, Every},
};
use mart_proto::product::catalog_service_server::CatalogServiceServer;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::net::TcpListener;

pub mod api;
pub mod commands;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod loops;
pub mod media;
pub mod migration;
pub mod peers;
pub mod product_cache;
pub mod reactions;
pub mod store;

pub use config::{Config, Settings};
pub use error::Error;
pub use mart_platform::server::StartError;

/// Runs svc-product on `listener` until `shutdown` resolves: opens and migrates the
/// database, serves CatalogService (tokens checked against `keys`), and relays its events
/// to `bus`. On shutdown the server drains first, then the relay ships what is left.
pub async fn serve(
    config: Config,
    bus: EventBus,
    keys: Arc<KeySet>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let db = open(&config).await?;
    let tokens = paging::PageTokens::load(&db).await?;
    let stock = peers::StockClient::new(&config.peers.inventory)
        .map_err(StartError::setup("svc-inventory address (MART_INVENTORY_ADDR)"))?;
    let verifier = Arc::new(Verifier::for_shop(keys, &config.auth));

    let mut background = Background::new(Service::Product);
    let relay = background.relay(db.clone(), bus.clone(), config.events.outbox_retention);
    background.react(&bus, &config.events, db.clone(), reactions::GROUP, reactions::TOPICS, reactions::Reactions);

    let (sync_db, sync_stock) = (db.clone(), stock.clone());
    background.every(loops::NAME, Every::new(loops::INTERVAL), move |_| {
        let (db, stock) = (sync_db.clone(), sync_stock.clone());
        async move { loops::sync(&db, &stock).await }
    });

    let cache = Arc::new(product_cache::ProductCache::new(config.own.cache_ttl));
    let media = Arc::new(media::Media::open(&config).map_err(StartError::setup("media store (MART_MEDIA_URL)"))?);
    // An upload is one message holding the whole image: room for the largest, and its
    // framing, so that a bigger one is refused by the media limit (413), not by tonic's.
    let max_message = mart_platform::config::media_message_limit(media.max_bytes());
    let commands = commands::Commands::new(db.clone(), relay, cache.clone(), media.clone());
    let api = api::CatalogApi::new(commands, db, tokens, stock, cache, media);
    GrpcServer::new(Service::Product, verifier)
        .add_service(CatalogServiceServer::new(api).max_decoding_message_size(max_message))
        .serve_then_stop(listener, shutdown, background)
        .await
}

/// Opens the database of `config` and brings its schema up to date.
pub async fn open(config: &Config) -> Result<DatabaseConnection, DbErr> {
    db::connect_and_migrate::<migration::Migrator>(&config.database_url).await
}
