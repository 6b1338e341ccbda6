//! The rules of carts and orders, free of I/O: no prost, no sea-orm.
//!
//! - [`lifecycle`]: the order's states and the one table of moves between them;
//! - [`money`]: amounts in minor units with their currency, added and multiplied checked;
//! - [`cart`]: quantities and how a cart is priced from the catalog;
//! - [`checkout`]: what PlaceOrder takes from a request and snapshots from the cart.

pub mod cart;
pub mod checkout;
pub mod lifecycle;
pub mod money;

pub use cart::{CartItem, CatalogEntry, PricedCart, PricedLine, Quantity};
pub use checkout::{IdempotencyKey, OrderLine, PlaceOrder, ShippingAddress};
pub use lifecycle::{Actor, CancellationSource, Change, IllegalTransition, OrderStatus, ShortLine};
pub use money::Money;

use mart_platform::error::FieldViolation;

/// Free text of at most `max` characters, trimmed; empty is allowed unless `required`.
pub fn text(field: &str, value: &str, max: usize, required: bool) -> Result<String, FieldViolation> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(FieldViolation::new(field, "required"));
    }
    if value.chars().count() > max {
        return Err(FieldViolation::new(field, format!("at most {max} characters")));
    }
    Ok(value.to_owned())
}

/// An id the caller sends (product, order, address): required, trimmed, of a sane length.
/// Ids are the other services' UUIDs, but an unknown id is a NOT_FOUND, not a format error.
pub fn id(field: &str, value: &str) -> Result<String, FieldViolation> {
    let value = text(field, value, 64, true)?;
    if value.chars().any(char::is_control) {
        return Err(FieldViolation::new(field, "not an id"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_ids() {
        assert_eq!(text("note", "  hi ", 5, false).unwrap(), "hi");
        assert_eq!(text("note", "", 5, false).unwrap(), "");
        assert_eq!(text("carrier", " ", 5, true).unwrap_err().field, "carrier");
        assert_eq!(text("note", "123456", 5, false).unwrap_err().field, "note");
        assert_eq!(id("order_id", "abc").unwrap(), "abc");
        assert!(id("order_id", "").is_err());
        assert!(id("order_id", "a\nb").is_err());
        assert!(id("order_id", &"x".repeat(65)).is_err());
    }
}
