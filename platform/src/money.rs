//! Money as the whole shop handles it: integer minor units of an ISO 4217 currency. Never
//! a float; every sum and product is checked, amounts of different currencies never mix,
//! and each currency knows its own minor unit (JPY has none, KWD three), so nothing is ever
//! charged or shown 100 times too much.
//!
//! One rule for what a valid amount is: a circulating ISO 4217 currency and a non-negative
//! number of minor units ([`Money::parse`]). Services add their own rules on top (a
//! payment is positive).

use mart_proto::common;

use crate::error::FieldViolation;

/// The alphabetic codes of every circulating currency (157, from the ISO 4217 list of
/// 2025) with the digits of its minor unit. Fund codes (BOV, CHE, USN…), precious metals
/// (XAU…), SDRs and the testing and "no currency" codes (XTS, XXX) are deliberately absent:
/// nobody sells a product for them. Sorted, for binary search.
const CURRENCIES: [(&str, u8); 157] = [
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("ANG", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("UYU", 2),
    ("UZS", 2),
    ("VED", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XCG", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

/// A circulating ISO 4217 currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

impl Currency {
    /// The euro.
    pub const EUR: Currency = Currency { code: "EUR", exponent: 2 };
    /// The US dollar.
    pub const USD: Currency = Currency { code: "USD", exponent: 2 };
    /// The yen: no minor unit.
    pub const JPY: Currency = Currency { code: "JPY", exponent: 0 };

    /// The currency with the upper-case alphabetic `code`, exactly as stored or sent by
    /// another service; `None` for anything else.
    pub fn from_code(code: &str) -> Option<Self> {
        CURRENCIES
            .binary_search_by(|(known, _)| (*known).cmp(code))
            .ok()
            .map(|i| Self { code: CURRENCIES[i].0, exponent: CURRENCIES[i].1 })
    }

    /// Parses `value` as the request field `field`. Case and surrounding spaces are
    /// forgiven ("usd" is USD), as country codes forgive them.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let code = value.trim().to_ascii_uppercase();
        if code.is_empty() {
            return Err(FieldViolation::new(field, "required"));
        }
        Self::from_code(&code)
            .ok_or_else(|| FieldViolation::new(field, "not an ISO 4217 currency code, e.g. EUR or USD"))
    }

    /// The three-letter code.
    pub fn code(self) -> &'static str {
        self.code
    }

    /// Digits after the decimal point: ISO 4217's minor unit (2 for EUR, 0 for JPY).
    pub fn exponent(self) -> u8 {
        self.exponent
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code)
    }
}

impl std::fmt::Debug for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code)
    }
}

/// An amount in minor units of a currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Money {
    /// Minor units (cents for EUR, yen for JPY).
    pub amount_minor: i64,
    /// The currency.
    pub currency: Currency,
}

/// Why amounts could not be combined, or a stored amount not read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Two amounts of different currencies.
    #[error("amounts in {0} and {1} cannot be added")]
    MixedCurrencies(Currency, Currency),
    /// Beyond what an i64 of minor units holds.
    #[error("the amount is too large")]
    Overflow,
    /// A currency code that is not a circulating ISO 4217 currency.
    #[error("{0:?} is not an ISO 4217 currency code")]
    UnknownCurrency(String),
}

impl Money {
    /// `amount_minor` of `currency`.
    pub fn new(amount_minor: i64, currency: Currency) -> Self {
        Self { amount_minor, currency }
    }

    /// An amount as a request carries it in the field `field`: a circulating currency and a
    /// non-negative amount, naming `<field>.amount_minor` and `<field>.currency` when they
    /// are bad.
    pub fn parse(field: &str, amount_minor: i64, currency: &str) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        if amount_minor < 0 {
            violations.push(FieldViolation::new(format!("{field}.amount_minor"), "must not be negative"));
        }
        match Currency::parse(&format!("{field}.currency"), currency) {
            Ok(currency) if violations.is_empty() => Ok(Self { amount_minor, currency }),
            Ok(_) => Err(violations),
            Err(violation) => {
                violations.push(violation);
                Err(violations)
            }
        }
    }

    /// [`Money::parse`] of the wire type in the field `field`; a missing one is `required`.
    pub fn from_wire(field: &str, money: Option<&common::Money>) -> Result<Self, Vec<FieldViolation>> {
        match money {
            Some(money) => Self::parse(field, money.amount_minor, &money.currency),
            None => Err(vec![FieldViolation::new(field, "required")]),
        }
    }

    /// An amount as this shop stored it, or another of its services sent it: the currency
    /// code exactly, upper case.
    pub fn from_stored(amount_minor: i64, currency: &str) -> Result<Self, MoneyError> {
        let currency = Currency::from_code(currency).ok_or_else(|| MoneyError::UnknownCurrency(currency.to_owned()))?;
        Ok(Self { amount_minor, currency })
    }

    /// As the wire type.
    pub fn to_wire(self) -> common::Money {
        common::Money { amount_minor: self.amount_minor, currency: self.currency.code.to_owned() }
    }

    /// This amount `quantity` times.
    pub fn times(self, quantity: u32) -> Result<Money, MoneyError> {
        let amount = self.amount_minor.checked_mul(i64::from(quantity)).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// This amount and `other`, of the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::MixedCurrencies(self.currency, other.currency));
        }
        let amount = self.amount_minor.checked_add(other.amount_minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// The sum of `amounts`; `None` when there are none (the currency is then unknown).
    pub fn sum<'a>(amounts: impl IntoIterator<Item = &'a Money>) -> Result<Option<Money>, MoneyError> {
        let mut total: Option<Money> = None;
        for amount in amounts {
            total = Some(match total {
                None => *amount,
                Some(total) => total.checked_add(*amount)?,
            });
        }
        Ok(total)
    }
}

impl From<Money> for common::Money {
    fn from(money: Money) -> Self {
        money.to_wire()
    }
}

/// "12.99 EUR", "1200 JPY", "1.250 KWD": the amount in its currency's own minor unit.
impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let minor = self.amount_minor.unsigned_abs();
        match self.currency.exponent {
            0 => write!(f, "{sign}{minor} {}", self.currency),
            exponent => {
                let unit = 10u64.pow(u32::from(exponent));
                let width = usize::from(exponent);
                write!(f, "{sign}{}.{:0width$} {}", minor / unit, minor % unit, self.currency)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(amount: i64) -> Money {
        Money::new(amount, Currency::EUR)
    }

    #[test]
    fn currencies() {
        assert!(CURRENCIES.is_sorted_by_key(|(code, _)| *code));
        assert_eq!(Currency::parse("currency", "EUR").unwrap(), Currency::EUR);
        assert_eq!(Currency::parse("currency", " usd ").unwrap(), Currency::USD);
        assert_eq!(Currency::from_code("JPY"), Some(Currency::JPY));
        assert_eq!(Currency::from_code("usd"), None, "stored codes are exact");
        assert_eq!(Currency::from_code("KWD").unwrap().exponent(), 3);
        for bad in ["", "EURO", "XXX", "XAU", "ABC", "€"] {
            assert_eq!(Currency::parse("price.currency", bad).unwrap_err().field, "price.currency", "{bad}");
        }
    }

    #[test]
    fn parsing_names_the_fields() {
        assert_eq!(Money::parse("price", 499, "eur"), Ok(eur(499)));
        assert_eq!(Money::parse("price", 0, "EUR"), Ok(eur(0)));
        let fields = |result: Result<Money, Vec<FieldViolation>>| {
            result.unwrap_err().into_iter().map(|v| v.field).collect::<Vec<_>>()
        };
        assert_eq!(fields(Money::parse("price", -1, "EUR")), ["price.amount_minor"]);
        assert_eq!(fields(Money::parse("price", -1, "EURO")), ["price.amount_minor", "price.currency"]);
        assert_eq!(fields(Money::from_wire("total", None)), ["total"]);
        let wire = common::Money { amount_minor: 1200, currency: "JPY".into() };
        assert_eq!(Money::from_wire("total", Some(&wire)), Ok(Money::new(1200, Currency::JPY)));
        assert_eq!(Money::new(1200, Currency::JPY).to_wire(), wire);
        assert_eq!(Money::from_stored(5, "EUR"), Ok(eur(5)));
        assert!(matches!(Money::from_stored(5, "eur"), Err(MoneyError::UnknownCurrency(_))));
    }

    #[test]
    fn products_and_sums_are_checked() {
        assert_eq!(eur(1299).times(3), Ok(eur(3897)));
        assert_eq!(eur(i64::MAX).times(2), Err(MoneyError::Overflow));
        assert_eq!(Money::sum(&[eur(100), eur(250)]), Ok(Some(eur(350))));
        assert_eq!(Money::sum(&[]), Ok(None));
        let mixed = [eur(100), Money::new(1, Currency::USD)];
        assert_eq!(Money::sum(&mixed), Err(MoneyError::MixedCurrencies(Currency::EUR, Currency::USD)));
        assert_eq!(Money::sum(&[eur(i64::MAX), eur(1)]), Err(MoneyError::Overflow));
    }

    #[test]
    fn shown_in_the_currency_minor_unit() {
        assert_eq!(eur(1299).to_string(), "12.99 EUR");
        assert_eq!(eur(5).to_string(), "0.05 EUR");
        assert_eq!(eur(-250).to_string(), "-2.50 EUR");
        assert_eq!(Money::new(1200, Currency::JPY).to_string(), "1200 JPY");
        assert_eq!(Money::from_stored(1250, "KWD").unwrap().to_string(), "1.250 KWD");
    }
}
