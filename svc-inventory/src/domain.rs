//! The rules of stock, free of I/O: what a reservation's states are and which moves
//! between them exist, what kinds of movement the ledger knows, and how an order's lines
//! become the rows to touch (merged per variant, in variant-id order so that two orders
//! always lock rows in the same order and cannot deadlock), and the valid shapes of an
//! admin's change.
//!
//! Stock is kept per variant, the thing a customer buys. A product without options has
//! one variant whose id is the product id, which is also what events written before
//! variants existed mean by a product id alone ([`default_variant`]).

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

/// The variant an order line or a new product means when it names none: events written
/// before variants existed carry a product id alone, and a product without options has
/// one variant whose id is the product id.
pub fn default_variant<'a>(product_id: &'a str, variant_id: &'a str) -> &'a str {
    if variant_id.is_empty() { product_id } else { variant_id }
}

/// One line of an order as the event carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderLine {
    /// The product.
    pub product_id: String,
    /// The variant; empty in events written before variants existed (the default one).
    pub variant_id: String,
    /// Units ordered.
    pub quantity: i32,
}

/// A row to touch for an order: units of one variant of one product.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Line {
    /// The variant: its stock row.
    pub variant_id: String,
    /// The product the order says it belongs to (a row of another product is not touched).
    pub product_id: String,
    /// Units; at least 1.
    pub quantity: i64,
}

/// An order's lines as rows to touch: one per variant (quantities summed), sorted by
/// variant id, so that every reservation locks rows in the same order. A line that names
/// a variant under another product than a line before it stays apart (and will find no
/// row to reserve). `None` when a line is malformed (no product, a quantity below 1): such
/// an order cannot be reserved.
pub fn plan(lines: impl IntoIterator<Item = OrderLine>) -> Option<Vec<Line>> {
    let mut merged: BTreeMap<(String, String), i64> = BTreeMap::new();
    for OrderLine { product_id, variant_id, quantity } in lines {
        if product_id.is_empty() || quantity < 1 {
            return None;
        }
        let variant_id = default_variant(&product_id, &variant_id).to_owned();
        *merged.entry((variant_id, product_id)).or_default() += i64::from(quantity);
    }
    (!merged.is_empty()).then(|| {
        merged
            .into_iter()
            .map(|((variant_id, product_id), quantity)| Line { variant_id, product_id, quantity })
            .collect()
    })
}

/// The stock rows a new product starts with, as (variant id, initial units): the variants
/// its ProductCreated lists, or, in an event written before variants existed (it lists
/// none), the default variant with the product's initial stock.
pub fn new_product_stock(product_id: &str, initial_stock: i32, variants: Vec<(String, i32)>) -> Vec<(String, i32)> {
    if variants.is_empty() { vec![(product_id.to_owned(), initial_stock)] } else { variants }
}

/// Why an admin's call about one variant of a product cannot go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VariantChoice {
    /// The product has no stock at all (unknown, or its ProductCreated not yet seen).
    NoStock,
    /// It has several variants and the call named none.
    Required {
        /// How many.
        variants: usize,
    },
    /// The variant named is not one of its.
    NotOfProduct,
}

/// Which of a product's variants (`variants`, by id) a call means: the one it names, or,
/// when it names none, the product's only one.
pub fn choose_variant<'a>(variants: &[&'a str], named: Option<&str>) -> Result<&'a str, VariantChoice> {
    match (variants, named) {
        ([], _) => Err(VariantChoice::NoStock),
        (_, Some(named)) => variants.iter().copied().find(|id| *id == named).ok_or(VariantChoice::NotOfProduct),
        ([only], None) => Ok(only),
        (_, None) => Err(VariantChoice::Required { variants: variants.len() }),
    }
}

/// The longest reason an admin may give for a change (the ledger keeps it).
pub const MAX_REASON: usize = 200;

/// An admin's receipt (`delta > 0`) or write-off (`delta < 0`) of a variant's units, valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adjustment {
    /// The product.
    pub product_id: String,
    /// The variant; `None` means the product's only one.
    pub variant_id: Option<String>,
    /// Units received or written off; never zero.
    pub delta: i64,
    /// Why, for the ledger.
    pub reason: String,
}

/// An admin's count of a variant's units on hand, valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockTake {
    /// The product.
    pub product_id: String,
    /// The variant; `None` means the product's only one.
    pub variant_id: Option<String>,
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
    /// The variant (the product id for a line that named none).
    pub variant_id: String,
    /// Units the order asked for.
    pub requested: i64,
    /// Units that could be promised (0 for a variant that does not sell, or is not of
    /// that product).
    pub available: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(product_id: &str, variant_id: &str, quantity: i32) -> OrderLine {
        OrderLine { product_id: product_id.to_owned(), variant_id: variant_id.to_owned(), quantity }
    }

    fn row(variant_id: &str, product_id: &str, quantity: i64) -> Line {
        Line { variant_id: variant_id.to_owned(), product_id: product_id.to_owned(), quantity }
    }

    #[test]
    fn lines_merge_per_variant_in_variant_id_order() {
        let plan = plan([line("p", "b", 1), line("p", "a", 2), line("p", "b", 3), line("q", "", 1)]).unwrap();
        assert_eq!(plan, [row("a", "p", 2), row("b", "p", 4), row("q", "q", 1)]);
        assert_eq!(super::plan([line("a", "", 0)]), None);
        assert_eq!(super::plan([line("", "v", 1)]), None);
        assert_eq!(super::plan(Vec::new()), None);
    }

    #[test]
    fn a_line_without_a_variant_means_the_default_one() {
        // Old-style lines and lines naming the default variant are the same row.
        let plan = plan([line("p", "", 1), line("p", "p", 2)]).unwrap();
        assert_eq!(plan, [row("p", "p", 3)]);
    }

    #[test]
    fn one_variant_claimed_by_two_products_stays_two_rows() {
        let plan = plan([line("q", "v", 1), line("p", "v", 1)]).unwrap();
        assert_eq!(plan, [row("v", "p", 1), row("v", "q", 1)]);
    }

    #[test]
    fn a_call_names_its_variant_unless_there_is_one() {
        assert_eq!(choose_variant(&["p"], None), Ok("p"));
        assert_eq!(choose_variant(&["p"], Some("p")), Ok("p"));
        assert_eq!(choose_variant(&["a", "b"], Some("b")), Ok("b"));
        assert_eq!(choose_variant(&["a", "b"], None), Err(VariantChoice::Required { variants: 2 }));
        assert_eq!(choose_variant(&["a", "b"], Some("c")), Err(VariantChoice::NotOfProduct));
        assert_eq!(choose_variant(&[], Some("c")), Err(VariantChoice::NoStock));
        assert_eq!(choose_variant(&[], None), Err(VariantChoice::NoStock));
    }

    #[test]
    fn a_product_created_before_variants_has_its_default_one() {
        assert_eq!(new_product_stock("p", 5, Vec::new()), [("p".to_owned(), 5)]);
        let listed = vec![("s".to_owned(), 1), ("m".to_owned(), 2)];
        assert_eq!(new_product_stock("p", 5, listed.clone()), listed);
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
