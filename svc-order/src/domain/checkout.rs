//! Checkout: what a PlaceOrder asks for (with the idempotency key it may carry), the
//! snapshot an order keeps of the cart (per variant: product, SKU, option values, name,
//! price and image as they were) and of the shipping address, and how many unpaid orders
//! one account or one client address may have open ([`UnpaidCaps`]).

use std::net::IpAddr;

use mart_platform::{
    error::FieldViolation,
    money::{Money, MoneyError},
};

use super::cart::{CartItem, CatalogLookup, OptionValue};

/// The longest idempotency key (the contract's limit).
pub const MAX_KEY_LENGTH: usize = 128;

/// A client's idempotency key: per user, 1..=128 visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key of a PlaceOrder: the `idempotency-key` header or the `request_id` field;
    /// when both are sent they must agree. `None` when neither is.
    pub fn resolve(header: Option<&str>, request_id: &str) -> Result<Option<Self>, FieldViolation> {
        let field = request_id.trim();
        let key = match (header.map(str::trim).filter(|h| !h.is_empty()), field) {
            (None, "") => return Ok(None),
            (Some(header), "") => header,
            (None, field) => field,
            (Some(header), field) if header == field => header,
            (Some(_), _) => {
                return Err(FieldViolation::new("request_id", "differs from the Idempotency-Key header"));
            }
        };
        if key.len() > MAX_KEY_LENGTH || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(FieldViolation::new(
                "request_id",
                format!("an idempotency key is 1 to {MAX_KEY_LENGTH} visible ASCII characters"),
            ));
        }
        Ok(Some(Self(key.to_owned())))
    }

    /// As stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a PlaceOrder asks for, parsed: where to ship, the note, the idempotency key, and
/// where the call came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaceOrder {
    /// The caller's address book entry to ship to.
    pub address_id: String,
    /// The customer's note; `None` when none (or only blanks) was sent.
    pub note: Option<String>,
    /// The client's idempotency key, if it sent one.
    pub key: Option<IdempotencyKey>,
    /// The end client's network address, as the edge passed it on; `None` when unknown.
    pub client: Option<ClientAddress>,
}

/// An end client's network address as per-client limits count it: an IPv4 address, or an
/// IPv6 address's /64 (the block one subscriber gets, and can rotate through at will), the
/// way the edge keys its own per-client limits. An IPv4-mapped IPv6 address is its IPv4
/// address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientAddress(String);

impl ClientAddress {
    /// The key of `ip`: `203.0.113.7`, or `2001:db8:1:2::/64`.
    pub fn of(ip: IpAddr) -> Self {
        Self(mart_platform::rpc::client_key(ip))
    }

    /// As stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many unpaid orders ([`OrderStatus::is_open_unpaid`](super::OrderStatus::is_open_unpaid))
/// may be open at once — placed orders hold stock until they are paid or their payment
/// deadline passes, and accounts are free, so without a cap anyone could hold all of it.
/// `0` switches a cap off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnpaidCaps {
    /// Per account (`MART_ORDER_MAX_OPEN_UNPAID`).
    pub per_account: u32,
    /// Per client address, over every account placing from it
    /// (`MART_ORDER_MAX_OPEN_UNPAID_PER_ADDRESS`): many free accounts from one place.
    pub per_address: u32,
}

/// The cap a new order would go beyond, and its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TooManyUnpaid {
    /// The account already has this many unpaid orders open.
    #[error("the account already has {0} unpaid orders open, the most allowed")]
    Account(u32),
    /// This many unpaid orders are already open from the client's address.
    #[error("{0} unpaid orders are already open from this client address, the most allowed")]
    Address(u32),
}

impl UnpaidCaps {
    /// Whether one more order may be placed by an account that has `account` unpaid orders
    /// open, from an address that has `address` (`None`: no address known, no cap by it).
    pub fn admit(self, account: u64, address: Option<u64>) -> Result<(), TooManyUnpaid> {
        if self.per_account > 0 && account >= u64::from(self.per_account) {
            return Err(TooManyUnpaid::Account(self.per_account));
        }
        match address {
            Some(open) if self.per_address > 0 && open >= u64::from(self.per_address) => {
                Err(TooManyUnpaid::Address(self.per_address))
            }
            _ => Ok(()),
        }
    }
}

/// One line of an order: one variant, as it was when the order was placed, so the order
/// reads the same whatever the catalog does later (re-prices, archives, drops an image).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderLine {
    /// The product.
    pub product_id: String,
    /// The variant ordered (for a single-variant product, the product's id).
    pub variant_id: String,
    /// The variant's SKU then.
    pub sku: String,
    /// The product's name then.
    pub name: String,
    /// The variant's option values then; empty for a default variant.
    pub option_values: Vec<OptionValue>,
    /// The variant's image then; empty for none.
    pub image_url: String,
    /// Its price then.
    pub unit_price: Money,
    /// Units.
    pub quantity: u32,
    /// unit_price × quantity.
    pub line_total: Money,
}

/// The copy of an address book entry an order keeps.
#[derive(Clone, Debug, PartialEq)]
pub struct ShippingAddress {
    /// The entry it was copied from.
    pub address_id: String,
    /// Its label.
    pub label: String,
    /// Street and number.
    pub line1: String,
    /// More address.
    pub line2: String,
    /// City.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Latitude, if known.
    pub latitude: Option<f64>,
    /// Longitude, if known.
    pub longitude: Option<f64>,
}

/// Why a cart cannot become an order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// Nothing to order.
    #[error("the cart is empty")]
    Empty,
    /// Lines whose variant is unknown or archived, each named.
    #[error("some variants cannot be ordered")]
    NotOrderable(Vec<FieldViolation>),
    /// The prices do not add up (mixed currencies, overflow).
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// The lines and total of an order for `items`, priced by `catalog` now. Every line whose
/// variant (or product) is unknown or archived is named (`cart.lines[2].variant_id`), so
/// the shopper knows what to remove.
pub fn snapshot(items: &[CartItem], catalog: &CatalogLookup) -> Result<(Vec<OrderLine>, Money), SnapshotError> {
    let mut lines = Vec::with_capacity(items.len());
    let mut refused = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let field = format!("cart.lines[{index}].variant_id");
        match catalog.get(&item.variant_id) {
            // A line is one variant: a product that gained several since names none of them.
            None if catalog.ambiguous.contains(&item.variant_id) => refused.push(FieldViolation::new(
                field,
                format!("product {} now has several variants: remove the line and add the one wanted", item.variant_id),
            )),
            None => refused.push(FieldViolation::new(
                field,
                format!("variant {} of product {} does not exist", item.variant_id, item.product_id),
            )),
            Some(variant) if !variant.orderable => refused.push(FieldViolation::new(
                field,
                format!(
                    "variant {} of product {} ({}) is archived and can no longer be ordered",
                    variant.variant_id, variant.product_id, variant.sku
                ),
            )),
            Some(variant) => lines.push(OrderLine {
                product_id: variant.product_id.clone(),
                variant_id: variant.variant_id.clone(),
                sku: variant.sku.clone(),
                name: variant.name.clone(),
                option_values: variant.option_values.clone(),
                image_url: variant.image_url.clone(),
                unit_price: variant.price,
                quantity: item.quantity,
                line_total: variant.price.times(item.quantity)?,
            }),
        }
    }
    if !refused.is_empty() {
        return Err(SnapshotError::NotOrderable(refused));
    }
    let total = Money::sum(lines.iter().map(|line| &line.line_total))?.ok_or(SnapshotError::Empty)?;
    Ok((lines, total))
}

/// Whether a cart holds the same variants in the same quantities as an order's lines
/// (variant id, units): a repeated PlaceOrder with one key must be the same request.
pub fn same_lines(order: &[(String, u32)], cart: &[CartItem]) -> bool {
    let mut order: Vec<(&str, u32)> = order.iter().map(|(v, q)| (v.as_str(), *q)).collect();
    let mut cart: Vec<(&str, u32)> = cart.iter().map(|item| (item.variant_id.as_str(), item.quantity)).collect();
    order.sort_unstable();
    cart.sort_unstable();
    order == cart
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use mart_platform::money::Currency;

    use super::{super::cart::CatalogEntry, *};

    #[test]
    fn the_key_comes_from_the_header_or_the_field() {
        assert_eq!(IdempotencyKey::resolve(None, ""), Ok(None));
        assert_eq!(IdempotencyKey::resolve(Some("k1"), "").unwrap().unwrap().as_str(), "k1");
        assert_eq!(IdempotencyKey::resolve(None, "k2").unwrap().unwrap().as_str(), "k2");
        assert_eq!(IdempotencyKey::resolve(Some("k3"), "k3").unwrap().unwrap().as_str(), "k3");
        assert_eq!(IdempotencyKey::resolve(Some("k3"), "k4").unwrap_err().field, "request_id");
        assert!(IdempotencyKey::resolve(None, &"k".repeat(129)).is_err());
        assert!(IdempotencyKey::resolve(None, "with space").is_err());
    }

    #[test]
    fn a_snapshot_names_every_line_that_cannot_be_ordered() {
        let now = Utc::now();
        let item =
            |id: &str, quantity| CartItem { variant_id: id.into(), product_id: "tee".into(), quantity, added_at: now };
        let entry = |id: &str, orderable| CatalogEntry {
            product_id: "tee".into(),
            variant_id: id.into(),
            sku: format!("SKU-{id}"),
            name: "Tee".into(),
            option_values: vec![OptionValue { name: "Size".into(), value: id.into() }],
            image_url: format!("/v1/media/{id}"),
            price: Money::new(250, Currency::EUR),
            orderable,
        };
        let mut catalog = CatalogLookup {
            entries: [entry("s", true), entry("old", false)].into_iter().map(|e| (e.variant_id.clone(), e)).collect(),
            ..Default::default()
        };
        catalog.ambiguous.insert("several".into());

        let (lines, total) = snapshot(&[item("s", 4)], &catalog).unwrap();
        let line = &lines[0];
        assert_eq!((line.sku.as_str(), line.line_total.amount_minor), ("SKU-s", 1000));
        assert_eq!((line.product_id.as_str(), line.variant_id.as_str()), ("tee", "s"));
        assert_eq!(
            (OptionValue::title(&line.option_values), line.image_url.as_str()),
            ("Size: s".into(), "/v1/media/s")
        );
        assert_eq!(total, Money::new(1000, Currency::EUR));

        let Err(SnapshotError::NotOrderable(refused)) =
            snapshot(&[item("s", 1), item("old", 1), item("nope", 1), item("several", 1)], &catalog)
        else {
            panic!("archived, unknown and ambiguous lines must be refused");
        };
        let fields: Vec<_> = refused.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["cart.lines[1].variant_id", "cart.lines[2].variant_id", "cart.lines[3].variant_id"]);
        assert!(refused[0].description.contains("archived"), "{}", refused[0].description);
        assert_eq!(snapshot(&[], &catalog), Err(SnapshotError::Empty));
    }

    #[test]
    fn a_client_is_its_ipv4_address_or_its_ipv6_slash_64() {
        let key = |ip: &str| ClientAddress::of(ip.parse().unwrap()).as_str().to_owned();
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"), "one /64, one client");
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    }

    #[test]
    fn the_caps_admit_up_to_their_value_and_zero_is_off() {
        let caps = UnpaidCaps { per_account: 3, per_address: 10 };
        assert_eq!(caps.admit(2, Some(9)), Ok(()));
        assert_eq!(caps.admit(2, None), Ok(()));
        assert_eq!(caps.admit(3, Some(0)), Err(TooManyUnpaid::Account(3)));
        assert_eq!(caps.admit(0, Some(10)), Err(TooManyUnpaid::Address(10)));
        assert_eq!(caps.admit(5, Some(50)), Err(TooManyUnpaid::Account(3)), "the account's own cap first");
        let off = UnpaidCaps { per_account: 0, per_address: 0 };
        assert_eq!(off.admit(1000, Some(1000)), Ok(()));
    }

    #[test]
    fn same_lines_ignores_order() {
        let now = Utc::now();
        let item =
            |id: &str, quantity| CartItem { variant_id: id.into(), product_id: "p".into(), quantity, added_at: now };
        let cart = [item("b", 1), item("a", 2)];
        assert!(same_lines(&[("a".into(), 2), ("b".into(), 1)], &cart));
        assert!(!same_lines(&[("a".into(), 3), ("b".into(), 1)], &cart));
        assert!(!same_lines(&[("a".into(), 2)], &cart));
    }
}
