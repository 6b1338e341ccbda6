//! svc-user over real gRPC on a free port, on SQLite and on PostgreSQL (a fresh database per
//! test). The stories a customer, an admin and an operator live through.

mod accounts;
mod addresses;
mod admin;
mod events;
mod identity;
mod service;
mod support;
mod tokens;
