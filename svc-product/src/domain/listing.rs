//! What ListProducts asks for: filters, a sort order, and where the previous page ended.
//!
//! Paging is by keyset: a page continues strictly after the last row of the previous one
//! in the order `(sort key, id)`. Ids are unique, so the order is total and a walk over
//! every page returns each row that existed when it began exactly once, however many rows
//! are inserted meanwhile (they land before or after the cursor, never on it).

use mart_platform::{
    error::{FieldViolation, Violations},
    fields,
    paging::{self, Fingerprint},
};
use serde::{Deserialize, Serialize};

use super::{OptionFilter, fold};

/// The most option filters one query may have.
const MAX_OPTION_FILTERS: usize = 10;

/// The longest free-text query, in characters.
const MAX_QUERY: usize = 200;

/// The most words a query may have: each is one more condition for the database.
const MAX_WORDS: usize = 10;

/// What products are sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum SortKey {
    /// Creation time: the order of the ids (UUIDv7 starts with the creation millisecond).
    Created,
    /// The lowest price of the product's active variants, in minor units.
    Price,
    /// The name, case-insensitively.
    Name,
}

/// A sort key and direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ProductOrder {
    /// The key.
    pub key: SortKey,
    /// Highest first.
    pub descending: bool,
}

/// The filters of a ListProducts request, before validation.
#[derive(Clone, Debug, Default)]
pub struct ProductFilterInput {
    /// `category_id`; empty means any.
    pub category_id: String,
    /// `q`; empty means any.
    pub q: String,
    /// `brand`; empty means any.
    pub brand: String,
    /// `min_price`.
    pub min_price: Option<i64>,
    /// `max_price`.
    pub max_price: Option<i64>,
    /// `option`, each `Name:Value`.
    pub options: Vec<String>,
    /// `in_stock`.
    pub in_stock: Option<bool>,
}

/// Valid filters; they combine with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ProductFilter {
    /// Only this category.
    pub category_id: Option<String>,
    /// Lower-cased words, each of which must occur in the name, brand or description.
    pub words: Vec<String>,
    /// Only this brand (lower-cased, compared exactly).
    pub brand_key: Option<String>,
    /// Only prices of at least this many minor units.
    pub min_price: Option<i64>,
    /// Only prices of at most this many minor units.
    pub max_price: Option<i64>,
    /// Only products with an active variant having every one of these values.
    pub options: Vec<OptionFilter>,
    /// Only products (not) in stock.
    pub in_stock: Option<bool>,
}

impl TryFrom<ProductFilterInput> for ProductFilter {
    type Error = Vec<FieldViolation>;

    fn try_from(input: ProductFilterInput) -> Result<Self, Self::Error> {
        let mut violations = Violations::new();
        let category_id = violations.check(fields::optional_id("category_id", &input.category_id));
        let q = input.q.trim();
        if q.chars().count() > MAX_QUERY {
            violations.add("q", format!("at most {MAX_QUERY} characters"));
        }
        let words: Vec<String> = q.split_whitespace().map(fold).collect();
        if words.len() > MAX_WORDS {
            violations.add("q", format!("at most {MAX_WORDS} words"));
        }
        for (field, price) in [("min_price", input.min_price), ("max_price", input.max_price)] {
            if price.is_some_and(|p| p < 0) {
                violations.add(field, "must not be negative");
            }
        }
        if let (Some(min), Some(max)) = (input.min_price, input.max_price)
            && min > max
        {
            violations.add("min_price", "must not be greater than max_price");
        }
        if input.options.len() > MAX_OPTION_FILTERS {
            violations.add("option", format!("at most {MAX_OPTION_FILTERS} option filters"));
        }
        let mut options: Vec<OptionFilter> = Vec::with_capacity(input.options.len());
        for (i, value) in input.options.iter().enumerate() {
            if let Some(filter) = violations.check(OptionFilter::parse(&format!("option[{i}]"), value))
                && !options.contains(&filter)
            {
                options.push(filter);
            }
        }
        violations.finish()?;
        let non_empty = |value: &str| Some(value.trim()).filter(|v| !v.is_empty()).map(str::to_owned);
        Ok(Self {
            category_id: category_id.flatten(),
            words,
            brand_key: non_empty(&input.brand).map(|brand| fold(&brand)),
            min_price: input.min_price,
            max_price: input.max_price,
            options,
            in_stock: input.in_stock,
        })
    }
}

/// One ListProducts query: the filters and the order. The page size is not part of it: a
/// client may change it from page to page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProductQuery {
    /// The filters.
    pub filter: ProductFilter,
    /// The order.
    pub order: ProductOrder,
}

impl ProductQuery {
    /// What the query's page tokens are bound to: every filter (as normalised: "Acme" and
    /// "acme" are one brand) and the order, so a token is only honoured for the query that
    /// issued it (the contract: another query's token is INVALID_ARGUMENT).
    pub fn fingerprint(&self) -> Fingerprint {
        paging::fingerprint("ListProducts", self)
    }

    /// Whether `cursor` can continue this query: its sort value is of this query's key.
    /// (A token of another query is refused by its fingerprint already; this keeps the
    /// store from ever seeing a cursor it cannot apply.)
    pub fn accepts(&self, cursor: &Cursor) -> bool {
        matches!(
            (self.order.key, &cursor.after),
            (SortKey::Created, SortValue::Created)
                | (SortKey::Price, SortValue::Price(_))
                | (SortKey::Name, SortValue::Name(_))
        )
    }

    /// The cursor after a row with `id`, price `price_minor` and folded name `name_key`.
    pub fn cursor_after(&self, id: &str, price_minor: i64, name_key: &str) -> Cursor {
        let after = match self.order.key {
            SortKey::Created => SortValue::Created,
            SortKey::Price => SortValue::Price(price_minor),
            SortKey::Name => SortValue::Name(name_key.to_owned()),
        };
        Cursor { after, id: id.to_owned() }
    }
}

/// The sort key value of the last row of a page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortValue {
    /// Creation order: the id alone is the key.
    Created,
    /// Minor units.
    Price(i64),
    /// The folded name.
    Name(String),
}

/// Where a page ended: the next page starts strictly after `(after, id)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort key value of the last row.
    pub after: SortValue,
    /// The id of the last row: breaks ties between equal sort keys.
    pub id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> ProductOrder {
        ProductOrder { key: SortKey::Price, descending: false }
    }

    #[test]
    fn filters_are_normalised() {
        let filter = ProductFilter::try_from(ProductFilterInput {
            q: "  Green  TEA ".into(),
            brand: " Acme ".into(),
            min_price: Some(0),
            max_price: Some(0),
            ..ProductFilterInput::default()
        })
        .unwrap();
        assert_eq!(filter.words, ["green", "tea"]);
        assert_eq!(filter.brand_key.as_deref(), Some("acme"));
        assert_eq!(filter.category_id, None);
    }

    #[test]
    fn bad_filters_are_named() {
        let bad = ProductFilterInput { min_price: Some(500), max_price: Some(100), ..ProductFilterInput::default() };
        assert_eq!(ProductFilter::try_from(bad).unwrap_err()[0].field, "min_price");
        let negative = ProductFilterInput { max_price: Some(-1), ..ProductFilterInput::default() };
        assert_eq!(ProductFilter::try_from(negative).unwrap_err()[0].field, "max_price");
        let long = ProductFilterInput { q: "a ".repeat(11), ..ProductFilterInput::default() };
        assert_eq!(ProductFilter::try_from(long).unwrap_err()[0].field, "q");
    }

    #[test]
    fn fingerprints_tell_queries_apart() {
        let query = |brand: &str, descending| ProductQuery {
            filter: ProductFilter { brand_key: Some(brand.into()), ..ProductFilter::default() },
            order: ProductOrder { descending, ..order() },
        };
        assert_eq!(query("acme", false).fingerprint(), query("acme", false).fingerprint());
        assert_ne!(query("acme", false).fingerprint(), query("acme", true).fingerprint());
        assert_ne!(query("acme", false).fingerprint(), query("acm", false).fingerprint());
    }
}
