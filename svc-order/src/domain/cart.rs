//! The cart: how many units a line may hold, which variant an AddCartItem names, and how a
//! cart is priced. A cart stores variants and quantities only (one line per variant);
//! prices are the catalog's — the variant's own price when it has one, else its
//! product's — asked for every time the cart is shown, so a client can never set one and
//! a shopper always sees today's.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use mart_platform::{
    error::FieldViolation,
    money::{Money, MoneyError},
};
use serde::{Deserialize, Serialize};

/// Units of one variant in a cart line: `1..=max` (`MART_ORDER_MAX_QUANTITY`).
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

/// One option value of a variant, e.g. Size: M. Order lines keep them as they were.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionValue {
    /// The option's name, e.g. "Size".
    pub name: String,
    /// The value, e.g. "M".
    pub value: String,
}

impl OptionValue {
    /// How a shopper reads a variant: "Size: M, Colour: Red"; empty for a default variant.
    pub fn title(values: &[OptionValue]) -> String {
        values.iter().map(|v| format!("{}: {}", v.name, v.value)).collect::<Vec<_>>().join(", ")
    }
}

/// A line as the cart stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CartItem {
    /// The variant: the line's key (for a single-variant product, the product's id).
    pub variant_id: String,
    /// Its product.
    pub product_id: String,
    /// Units.
    pub quantity: u32,
    /// When the variant was first put in the cart.
    pub added_at: DateTime<Utc>,
}

/// What the catalog says about a variant right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogEntry {
    /// Its product's id.
    pub product_id: String,
    /// The variant's id (a product's default variant has the product's id).
    pub variant_id: String,
    /// The variant's current SKU.
    pub sku: String,
    /// The product's current name.
    pub name: String,
    /// The variant's option values, in the product's option order; empty for a default
    /// variant.
    pub option_values: Vec<OptionValue>,
    /// The variant's image; empty for none.
    pub image_url: String,
    /// What one unit costs now: the variant's own price, else the product's.
    pub price: Money,
    /// False once the variant or its product is archived: it may stay in a cart, but
    /// cannot be ordered.
    pub orderable: bool,
}

/// The catalog's answer about some ids (variant ids, or ids of single-variant products).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogLookup {
    /// What it knows, by the id it was asked for; archived variants included.
    pub entries: HashMap<String, CatalogEntry>,
    /// Asked-for ids that are products with several variants: they name no one thing to buy.
    pub ambiguous: HashSet<String>,
}

impl CatalogLookup {
    /// What the catalog says about `id`, if it names one variant.
    pub fn get(&self, id: &str) -> Option<&CatalogEntry> {
        self.entries.get(id)
    }
}

/// What an AddCartItem names: a variant, or — as clients from before variants do — a
/// product that has exactly one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// `variant_id`: a variant (or a single-variant product's id, which stands for it).
    Variant(String),
    /// `product_id` without `variant_id`: a product, which must have one variant.
    Product(String),
}

impl Choice {
    /// The id to ask the catalog about.
    pub fn id(&self) -> &str {
        match self {
            Choice::Variant(id) | Choice::Product(id) => id,
        }
    }

    /// The request field the client named it in: where a refusal points.
    pub fn field(&self) -> &'static str {
        match self {
            Choice::Variant(_) => "variant_id",
            Choice::Product(_) => "product_id",
        }
    }

    /// The variant to put in the cart, as `catalog` answered; a violation of the field the
    /// client used when it names nothing sold: unknown, archived, or a product with several
    /// variants (the client must pick one).
    pub fn resolve<'a>(&self, catalog: &'a CatalogLookup) -> Result<&'a CatalogEntry, FieldViolation> {
        let field = self.field();
        if catalog.ambiguous.contains(self.id()) {
            let why = match self {
                Choice::Product(_) => "has several variants; name one in variant_id",
                Choice::Variant(_) => "is a product with several variants, not a variant: name one of its variants",
            };
            return Err(FieldViolation::new(field, why));
        }
        match (catalog.get(self.id()), self) {
            (None, Choice::Variant(_)) => Err(FieldViolation::new(field, "no such variant")),
            (None, Choice::Product(_)) => Err(FieldViolation::new(field, "no such product")),
            (Some(entry), _) if !entry.orderable => Err(FieldViolation::new(field, "archived: no longer sold")),
            (Some(entry), _) => Ok(entry),
        }
    }
}

/// A cart line with today's price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricedLine {
    /// The variant as the catalog shows it.
    pub variant: CatalogEntry,
    /// Units.
    pub quantity: u32,
    /// Unit price × quantity.
    pub line_total: Money,
    /// When the variant was first put in the cart.
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

/// Prices `items` with `catalog`. A variant the catalog does not know (it never deletes,
/// so this means the two disagree) cannot be priced and is left out; the caller hears
/// which ones.
pub fn price(items: &[CartItem], catalog: &CatalogLookup) -> Result<(PricedCart, Vec<String>), MoneyError> {
    let mut lines = Vec::with_capacity(items.len());
    let mut unknown = Vec::new();
    for item in items {
        let Some(variant) = catalog.get(&item.variant_id) else {
            unknown.push(item.variant_id.clone());
            continue;
        };
        lines.push(PricedLine {
            line_total: variant.price.times(item.quantity)?,
            variant: variant.clone(),
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
            variant_id: id.into(),
            sku: format!("SKU-{id}"),
            name: id.into(),
            option_values: vec![],
            image_url: String::new(),
            price: Money::new(price, Currency::EUR),
            orderable: true,
        }
    }

    fn lookup(entries: impl IntoIterator<Item = CatalogEntry>) -> CatalogLookup {
        CatalogLookup {
            entries: entries.into_iter().map(|e| (e.variant_id.clone(), e)).collect(),
            ambiguous: HashSet::new(),
        }
    }

    fn item(id: &str, quantity: u32) -> CartItem {
        CartItem { variant_id: id.into(), product_id: id.into(), quantity, added_at: Utc::now() }
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
        let items = [item("a", 2), item("gone", 1), item("b", 3)];
        let catalog = lookup([entry("a", 1299), entry("b", 100)]);
        let (cart, unknown) = price(&items, &catalog).unwrap();
        assert_eq!(unknown, ["gone"]);
        let totals: Vec<_> =
            cart.lines.iter().map(|l| (l.variant.product_id.as_str(), l.line_total.amount_minor)).collect();
        assert_eq!(totals, [("a", 2598), ("b", 300)]);
        assert_eq!(cart.subtotal, Some(Money::new(2898, Currency::EUR)));
        assert_eq!(cart.item_count, 5);
        let (empty, _) = price(&[], &catalog).unwrap();
        assert_eq!((empty.subtotal, empty.item_count), (None, 0));
    }

    #[test]
    fn two_variants_of_one_product_are_two_lines_at_their_own_prices() {
        let variant = |id: &str, size: &str, price| CatalogEntry {
            product_id: "tee".into(),
            option_values: vec![OptionValue { name: "Size".into(), value: size.into() }],
            ..entry(id, price)
        };
        let catalog = lookup([variant("tee-s", "S", 1500), variant("tee-m", "M", 1700)]);
        let (cart, _) = price(&[item("tee-s", 2), item("tee-m", 1)], &catalog).unwrap();
        let lines: Vec<_> =
            cart.lines.iter().map(|l| (l.variant.variant_id.as_str(), l.line_total.amount_minor)).collect();
        assert_eq!(lines, [("tee-s", 3000), ("tee-m", 1700)]);
        assert_eq!(OptionValue::title(&cart.lines[1].variant.option_values), "Size: M");
    }

    #[test]
    fn a_choice_is_refused_naming_the_field_the_client_used() {
        let mut catalog = lookup([entry("tea", 500), CatalogEntry { orderable: false, ..entry("old", 500) }]);
        catalog.ambiguous.insert("tee".into());
        let refused = |choice: Choice| choice.resolve(&catalog).unwrap_err();

        assert_eq!(Choice::Product("tea".into()).resolve(&catalog).unwrap().sku, "SKU-tea");
        assert_eq!(Choice::Variant("tea".into()).resolve(&catalog).unwrap().sku, "SKU-tea");
        let several = refused(Choice::Product("tee".into()));
        assert_eq!(several.field, "product_id");
        assert!(several.description.contains("variant_id"), "{}", several.description);
        assert_eq!(refused(Choice::Variant("tee".into())).field, "variant_id");
        assert_eq!(refused(Choice::Variant("nope".into())).field, "variant_id");
        assert_eq!(refused(Choice::Product("nope".into())).field, "product_id");
        let archived = refused(Choice::Variant("old".into()));
        assert_eq!(archived.field, "variant_id");
        assert!(archived.description.contains("archived"));
    }
}
