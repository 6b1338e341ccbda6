//! svc-user's tables and the queries on them. Nothing outside this module builds SQL.

pub mod addresses;
pub mod refresh_tokens;
pub mod signing_keys;
pub mod users;
