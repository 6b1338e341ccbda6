//! svc-order's tables and the queries on them. Whatever must not race is decided by the
//! database: a cart's version is compared-and-swapped, an order's status moves only with
//! `WHERE status = <from>`, and an idempotency key is a unique index, never a read first.

pub mod carts;
pub mod history;
pub mod orders;
pub mod sales;
