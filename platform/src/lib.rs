//! What every Online Mart service stands on, one job per module:
//!
//! - [`config`]: typed settings from the environment, failing fast on bad values;
//! - [`telemetry`]: logs with trace ids, spans exported over OTLP, W3C trace context;
//! - [`metrics`]: Prometheus metrics and the `/metrics` listener;
//! - [`client`]: calling another service over a traced, measured channel;
//! - [`db`]: connecting to PostgreSQL or SQLite and running migrations;
//! - [`events`] and [`outbox`]: domain events written in the same transaction as the change;
//! - [`auth`]: access tokens, the caller's identity, and the per-RPC access check;
//! - [`binary`]: the `main` of a service binary (`serve` or `migrate`);
//! - [`server`]: the gRPC server with health, reflection, tracing and graceful shutdown;
//! - [`tasks`]: a service's background loops (relay, consumers) and their shutdown order;
//! - [`wire`]: conversions to the shared wire types;
//! - [`error`]: one way from a service's errors to `tonic::Status`;
//! - [`fields`]: the request fields every service parses alike (lines, text, ids);
//! - [`money`]: amounts in minor units of ISO 4217 currencies, checked;
//! - [`paging`]: page sizes, and signed page tokens bound to their query;
//! - [`retry`]: exponential backoff; [`wake`]: waking a background loop at once;
//! - [`changes`]: telling the watchers of a key that it changed, with bounded watchers;
//! - [`rpc`]: the span and code of a gRPC call, for both sides;
//! - `test_util` (feature `test-util`): fresh databases and listeners for tests.

pub mod auth;
pub mod binary;
pub mod bus;
pub mod changes;
pub mod client;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod fields;
pub mod metrics;
pub mod money;
pub mod outbox;
pub mod paging;
pub mod retry;
pub mod rpc;
pub mod schema;
pub mod server;
pub mod tasks;
pub mod telemetry;
pub mod wake;
pub mod wire;

#[cfg(feature = "test-util")]
pub mod test_util;
