//! svc-product's tables and the queries on them. Nothing outside this module builds SQL.

pub mod categories;
pub mod images;
pub mod products;
pub mod records;
pub mod settings;
pub mod variants;

pub use products::Facets;

/// Write transactions start through the platform (SQLite claims its writer lock first).
pub use mart_platform::db::begin_write;

/// `value` as a LIKE pattern matching it anywhere: `%`, `_` and `\` in it are literal
/// characters (the pattern is used with `ESCAPE '\'`).
fn contains_pattern(value: &str) -> String {
    format!("%{}%", mart_platform::db::like_literal(value))
}
