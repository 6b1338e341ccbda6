//! The cart: how many units a line may hold, and how a cart is priced. A cart stores
//! products and quantities only; prices are the catalog's, asked for every time the cart
//! is shown, so a client can never set one and a shopper always sees today's.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use mart_platform::{
    error::FieldViolation,
    money::{Money, MoneyError},
};

/// Units of one product in a cart line: `1..=max` (`MART_ORDER_MAX_QUANTITY`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(u32);

impl Quantity {
    /// `value` as a quantity of at most `max`, or a violation of `field`.
    pub fn parse(field: &str, value: i32, max: u32) -> Result<Self, FieldViolation> {
        match u32::try_from(value) {
            Ok(n) if (1..=max).contains(&n) => Ok(Quantity(n)),
            _ => Err(FieldViolation::new(field, format!("must be between 1 and {max}"))),
        }
    }

    /// The units.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// A line as the cart stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CartItem {
    /// The product.
    pub product_id: String,
    /// Units.
    pub quantity: u32,
    /// When the product was first put in the cart.
    pub added_at: DateTime<Utc>,
}

/// What the catalog says about a product right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogEntry {
    /// The product's id.
    pub product_id: String,
    /// Its current SKU.
    pub sku: String,
    /// Its current name.
    pub name: String,
    /// Its current unit price.
    pub price: Money,
    /// False once archived: it may stay in a cart, but cannot be ordered.
    pub orderable: bool,
}

/// A cart line with today's price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricedLine {
    /// The product as the catalog shows it.
    pub product: CatalogEntry,
    /// Units.
    pub quantity: u32,
    /// Unit price × quantity.
    pub line_total: Money,
    /// When the product was first put in the cart.
    pub added_at: DateTime<Utc>,
}

/// A cart with today's prices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricedCart {
    /// The lines, in the order they were added.
    pub lines: Vec<PricedLine>,
    /// Sum of the line totals; `None` for an empty cart.
    pub subtotal: Option<Money>,
    /// Sum of the quantities.
    pub item_count: u32,
}

/// Prices `items` with `catalog`. A product the catalog does not know (it never deletes,
/// so this means the two disagree) cannot be priced and is left out; the caller hears
/// which ones.
pub fn price(
    items: &[CartItem],
    catalog: &HashMap<String, CatalogEntry>,
) -> Result<(PricedCart, Vec<String>), MoneyError> {
    let mut lines = Vec::with_capacity(items.len());
    let mut unknown = Vec::new();
    for item in items {
        let Some(product) = catalog.get(&item.product_id) else {
            unknown.push(item.product_id.clone());
            continue;
        };
        lines.push(PricedLine {
            line_total: product.price.times(item.quantity)?,
            product: product.clone(),
            quantity: item.quantity,
            added_at: item.added_at,
        });
    }
    let subtotal = Money::sum(lines.iter().map(|line| &line.line_total))?;
    let item_count = lines.iter().map(|line| line.quantity).sum();
    Ok((PricedCart { lines, subtotal, item_count }, unknown))
}

#[cfg(test)]
mod tests {
    use mart_platform::money::Currency;

    use super::*;

    fn entry(id: &str, price: i64) -> CatalogEntry {
        CatalogEntry {
            product_id: id.into(),
            sku: format!("SKU-{id}"),
            name: id.into(),
            price: Money::new(price, Currency::EUR),
            orderable: true,
        }
    }

    #[test]
    fn quantities_are_bounded() {
        assert_eq!(Quantity::parse("quantity", 1, 99).unwrap().get(), 1);
        assert_eq!(Quantity::parse("quantity", 99, 99).unwrap().get(), 99);
        for bad in [0, -1, 100, i32::MIN] {
            assert_eq!(Quantity::parse("quantity", bad, 99).unwrap_err().field, "quantity");
        }
    }

    #[test]
    fn a_cart_is_priced_line_by_line() {
        let now = Utc::now();
        let items = [
            CartItem { product_id: "a".into(), quantity: 2, added_at: now },
            CartItem { product_id: "gone".into(), quantity: 1, added_at: now },
            CartItem { product_id: "b".into(), quantity: 3, added_at: now },
        ];
        let catalog: HashMap<_, _> =
            [entry("a", 1299), entry("b", 100)].into_iter().map(|e| (e.product_id.clone(), e)).collect();
        let (cart, unknown) = price(&items, &catalog).unwrap();
        assert_eq!(unknown, ["gone"]);
        let totals: Vec<_> =
            cart.lines.iter().map(|l| (l.product.product_id.as_str(), l.line_total.amount_minor)).collect();
        assert_eq!(totals, [("a", 2598), ("b", 300)]);
        assert_eq!(cart.subtotal, Some(Money::new(2898, Currency::EUR)));
        assert_eq!(cart.item_count, 5);
        let (empty, _) = price(&[], &catalog).unwrap();
        assert_eq!((empty.subtotal, empty.item_count), (None, 0));
    }
}
