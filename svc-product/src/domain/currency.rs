//! ISO 4217 currencies: the alphabetic codes of every circulating currency (157, from the
//! ISO 4217 list one of 2025). Fund codes (BOV, CHE, USN…), precious metals (XAU…), SDRs
//! and the testing and "no currency" codes (XTS, XXX) are deliberately absent: nobody sells
//! a product for them.

use mart_platform::error::FieldViolation;

const CODES: [&str; 157] = [
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF",
    "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC",
    "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
    "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
    "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VED",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

/// A circulating ISO 4217 currency, by its upper-case alphabetic code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Currency(&'static str);

impl Currency {
    /// Parses `value` as the request field `field`. Case and surrounding spaces are
    /// forgiven ("usd" is USD), as svc-user forgives them in country codes.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let code = value.trim().to_ascii_uppercase();
        if code.is_empty() {
            return Err(FieldViolation::new(field, "required"));
        }
        CODES
            .binary_search(&code.as_str())
            .map(|i| Self(CODES[i]))
            .map_err(|_| FieldViolation::new(field, "not an ISO 4217 currency code, e.g. EUR or USD"))
    }

    /// The three-letter code.
    pub fn code(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert!(CODES.is_sorted());
        assert_eq!(Currency::parse("currency", "EUR").unwrap().code(), "EUR");
        assert_eq!(Currency::parse("currency", " usd ").unwrap().code(), "USD");
        for bad in ["", "EURO", "XXX", "XAU", "ABC", "€"] {
            assert_eq!(Currency::parse("price.currency", bad).unwrap_err().field, "price.currency", "{bad}");
        }
    }
}
