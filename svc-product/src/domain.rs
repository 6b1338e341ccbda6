//! The catalog's rules, free of I/O: what a valid category, SKU, product name, price and
//! listing query are, and which product fields an update may name. Types here parse (they
//! cannot hold an invalid value) and fail with a
//! [`FieldViolation`](mart_platform::error::FieldViolation) naming the request field.

mod category;
mod currency;
mod listing;
mod product;
mod text;

pub use category::{CategoryChanges, CategoryInput, CategoryName, NewCategory};
pub use currency::Currency;
pub(crate) use listing::digest;
pub use listing::{Cursor, ProductFilter, ProductFilterInput, ProductOrder, ProductQuery, SortKey, SortValue};
pub use product::{
    Brand, Moment, Money, NewProduct, ProductChanges, ProductField, ProductInput, ProductName, ProductPatch, Sku,
    Status,
};

/// The longest category description.
pub const MAX_CATEGORY_DESCRIPTION: usize = 2000;

/// The longest product description.
pub const MAX_PRODUCT_DESCRIPTION: usize = 10_000;

/// The key names are compared and sorted by: lower-case, so "Tea" and "tea" are one name.
/// Computed here, once, so both database backends compare the same bytes (SQLite's
/// `LOWER` folds only ASCII).
pub fn fold(value: &str) -> String {
    value.to_lowercase()
}
