//! Every state change svc-user makes, one function each: a write transaction
//! (`db::begin_write … commit`), the store calls, the events appended to the outbox in the
//! same transaction, and the relay woken after the commit when there are any. Commands take
//! domain values (never prost messages) and return store rows or domain values; [`crate::api`]
//! calls them, and so would a reaction or a background loop if svc-user grows one.
//!
//! - [`accounts`]: register, profile, password, closing an account, an admin's role and
//!   status changes.
//! - [`tokens`]: sessions — login, refresh-token rotation, logout.
//! - [`addresses`]: a customer's saved addresses.
//! - [`keys`]: rotating the token signing key (an operator's command).

pub mod accounts;
pub mod addresses;
pub mod keys;
pub mod tokens;

pub use tokens::{TokenIssuer, TokenPair};
