//! svc-product over real gRPC on a free port, on SQLite and on PostgreSQL (a fresh database
//! per test): what an admin does to the catalog, what shoppers see of it, and what the
//! rest of the shop hears about it.

mod access;
mod categories;
mod events;
mod listing;
mod media;
mod products;
mod service;
mod stock;
mod support;
mod variants;
