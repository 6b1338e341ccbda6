//! svc-inventory's tables and the queries on them. Every change to a stock level is one
//! conditional `UPDATE` whose `WHERE` states the rule (never read in Rust, then written).

pub mod movements;
pub mod reservations;
pub mod stock;
