//! The catalog's rules, free of I/O: what a valid category, SKU, product name, price and
//! listing query are, and which product fields an update may name. Types here parse (they
//! cannot hold an invalid value) and fail with a
//! [`FieldViolation`](mart_platform::error::FieldViolation) naming the request field.
//! Prices are platform's [`Money`](mart_platform::money::Money); names, descriptions and
//! ids follow platform's [`fields`](mart_platform::fields) rules.

mod category;
mod listing;
mod product;
pub mod variant;

pub use category::{CategoryChanges, CategoryCursor, CategoryInput, CategoryName, NewCategory};
pub use listing::{Cursor, ProductFilter, ProductFilterInput, ProductOrder, ProductQuery, SortKey, SortValue};
pub use product::{
    Brand, Moment, NewProduct, ProductChanges, ProductField, ProductInput, ProductName, ProductPatch, Sku, Status,
};
pub use variant::{
    ImageSource, NewImage, NewVariant, OptionFilter, OptionValue, ProductOption, VariantChanges, VariantInput,
    VariantPatch, VariantStatus,
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
