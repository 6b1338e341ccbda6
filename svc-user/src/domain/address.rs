//! A postal address, as a customer enters it.

use mart_platform::{
    error::{FieldViolation, Violations},
    fields::line,
};

use super::country;

/// An address as requested, before validation.
#[derive(Clone, Debug, Default)]
pub struct AddressInput {
    /// "Home", "Office"; optional.
    pub label: String,
    /// Street and number.
    pub line1: String,
    /// Extra line; optional.
    pub line2: String,
    /// City.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Latitude, with longitude.
    pub latitude: Option<f64>,
    /// Longitude, with latitude.
    pub longitude: Option<f64>,
}

/// A valid address: trimmed, within limits, a real country code, coordinates in range.
#[derive(Clone, Debug, PartialEq)]
pub struct Address {
    /// Label, possibly empty.
    pub label: String,
    /// Street and number.
    pub line1: String,
    /// Extra line, possibly empty.
    pub line2: String,
    /// City.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// Upper-case ISO 3166-1 alpha-2 code.
    pub country: String,
    /// Coordinates, both or neither.
    pub coordinates: Option<(f64, f64)>,
}

impl TryFrom<AddressInput> for Address {
    type Error = Vec<FieldViolation>;

    fn try_from(input: AddressInput) -> Result<Self, Self::Error> {
        let mut violations = Violations::new();
        let label = violations.check(line("label", &input.label, false, 50));
        let line1 = violations.check(line("line1", &input.line1, true, 200));
        let line2 = violations.check(line("line2", &input.line2, false, 200));
        let city = violations.check(line("city", &input.city, true, 100));
        let postal_code = violations.check(line("postal_code", &input.postal_code, true, 20));
        let country = input.country.trim().to_ascii_uppercase();
        if !country::is_iso_3166_alpha2(&country) {
            violations.add("country", "not an ISO 3166-1 alpha-2 country code, e.g. DE or US");
        }
        let coordinates = match (input.latitude, input.longitude) {
            (None, None) => None,
            (Some(lat), Some(lng)) => {
                if !(-90.0..=90.0).contains(&lat) {
                    violations.add("latitude", "must be between -90 and 90");
                }
                if !(-180.0..=180.0).contains(&lng) {
                    violations.add("longitude", "must be between -180 and 180");
                }
                Some((lat, lng))
            }
            (Some(_), None) => {
                violations.add("longitude", "required when latitude is given");
                None
            }
            (None, Some(_)) => {
                violations.add("latitude", "required when longitude is given");
                None
            }
        };
        violations.finish()?;
        // Every `check` above succeeded, or `finish` would have returned the violations.
        match (label, line1, line2, city, postal_code) {
            (Some(label), Some(line1), Some(line2), Some(city), Some(postal_code)) => {
                Ok(Address { label, line1, line2, city, postal_code, country, coordinates })
            }
            _ => Err(vec![FieldViolation::new("address", "invalid")]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> AddressInput {
        AddressInput {
            line1: "Unter den Linden 1".into(),
            city: "Berlin".into(),
            postal_code: "10117".into(),
            country: "de".into(),
            ..AddressInput::default()
        }
    }

    #[test]
    fn a_plain_address_is_valid() {
        let address = Address::try_from(input()).unwrap();
        assert_eq!(address.country, "DE");
        assert_eq!(address.coordinates, None);
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = AddressInput {
            line1: " ".into(),
            city: String::new(),
            postal_code: "1".repeat(21),
            country: "XX".into(),
            latitude: Some(91.0),
            longitude: None,
            ..AddressInput::default()
        };
        let fields: Vec<_> = Address::try_from(bad).unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["line1", "city", "postal_code", "country", "longitude"]);
    }
}
