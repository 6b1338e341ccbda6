//! The rules of stock, free of I/O: what a reservation's states are and which moves
//! between them exist, what kinds of movement the ledger knows, and how an order's lines
//! become the rows to touch (merged per product, in product-id order so that two orders
//! always lock rows in the same order and cannot deadlock), and the valid shapes of an
//! admin's change.

use std::collections::BTreeMap;

/// Where an order's stock stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReservationState {
    /// Every line is reserved.
    Reserved,
    /// Not enough stock: nothing was reserved.
    Rejected,
    /// The order ended before payment; its units are available again.
    Released,
    /// Paid: the units are sold (on hand went down).
    Committed,
    /// Paid, then cancelled before shipping: the sold units went back on hand.
    Restocked,
    /// Cancelled before its OrderPlaced was seen: a late one must not reserve.
    Cancelled,
}

impl ReservationState {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationState::Reserved => "reserved",
            ReservationState::Rejected => "rejected",
            ReservationState::Released => "released",
            ReservationState::Committed => "committed",
            ReservationState::Restocked => "restocked",
            ReservationState::Cancelled => "cancelled",
        }
    }

    /// From storage.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "reserved" => ReservationState::Reserved,
            "rejected" => ReservationState::Rejected,
            "released" => ReservationState::Released,
            "committed" => ReservationState::Committed,
            "restocked" => ReservationState::Restocked,
            "cancelled" => ReservationState::Cancelled,
            _ => return None,
        })
    }
}

/// What a ledger row records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MovementKind {
    /// The product's first stock.
    Initial,
    /// An admin's receipt or write-off.
    Adjustment,
    /// An admin's count.
    StockTake,
    /// Units promised to an order.
    Reservation,
    /// Units given back (or, after a sale, put back on hand).
    Release,
    /// Units sold.
    Commit,
}

impl MovementKind {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Initial => "initial",
            MovementKind::Adjustment => "adjustment",
            MovementKind::StockTake => "stock_take",
            MovementKind::Reservation => "reservation",
            MovementKind::Release => "release",
            MovementKind::Commit => "commit",
        }
    }

    /// From storage.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "initial" => MovementKind::Initial,
            "adjustment" => MovementKind::Adjustment,
            "stock_take" => MovementKind::StockTake,
            "reservation" => MovementKind::Reservation,
            "release" => MovementKind::Release,
            "commit" => MovementKind::Commit,
            _ => return None,
        })
    }
}

/// An order's lines as rows to touch: one per product (quantities summed), sorted by
/// product id. `None` when a line is malformed (no product, a quantity below 1): such an
/// order cannot be reserved.
pub fn plan(lines: impl IntoIterator<Item = (String, i32)>) -> Option<Vec<(String, i64)>> {
    let mut merged: BTreeMap<String, i64> = BTreeMap::new();
    for (product_id, quantity) in lines {
        if product_id.is_empty() || quantity < 1 {
            return None;
        }
        *merged.entry(product_id).or_default() += i64::from(quantity);
    }
    (!merged.is_empty()).then(|| merged.into_iter().collect())
}

/// The longest reason an admin may give for a change (the ledger keeps it).
pub const MAX_REASON: usize = 200;

/// An admin's receipt (`delta > 0`) or write-off (`delta < 0`) of a product's units, valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adjustment {
    /// The product.
    pub product_id: String,
    /// Units received or written off; never zero.
    pub delta: i64,
    /// Why, for the ledger.
    pub reason: String,
}

/// An admin's count of a product's units on hand, valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockTake {
    /// The product.
    pub product_id: String,
    /// Units counted on hand; never negative.
    pub on_hand: i64,
    /// Why, for the ledger.
    pub reason: String,
}

/// A line of an order that could not be reserved: what it asked and what there was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shortfall {
    /// The product (possibly empty: a malformed line is short by definition).
    pub product_id: String,
    /// Units the order asked for.
    pub requested: i64,
    /// Units that could be promised (0 for a product that does not sell).
    pub available: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_merge_per_product_in_id_order() {
        let plan = plan([("b".to_owned(), 1), ("a".to_owned(), 2), ("b".to_owned(), 3)]).unwrap();
        assert_eq!(plan, [("a".to_owned(), 2), ("b".to_owned(), 4)]);
        assert_eq!(super::plan([("a".to_owned(), 0)]), None);
        assert_eq!(super::plan([(String::new(), 1)]), None);
        assert_eq!(super::plan(Vec::new()), None);
    }

    #[test]
    fn states_and_kinds_round_trip() {
        for state in [
            ReservationState::Reserved,
            ReservationState::Rejected,
            ReservationState::Released,
            ReservationState::Committed,
            ReservationState::Restocked,
            ReservationState::Cancelled,
        ] {
            assert_eq!(ReservationState::parse(state.as_str()), Some(state));
        }
        for kind in [
            MovementKind::Initial,
            MovementKind::Adjustment,
            MovementKind::StockTake,
            MovementKind::Reservation,
            MovementKind::Release,
            MovementKind::Commit,
        ] {
            assert_eq!(MovementKind::parse(kind.as_str()), Some(kind));
        }
    }
}
