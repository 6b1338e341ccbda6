//! The shapes of request fields every service parses the same way: a single line of text
//! (a name), running text (a description), free text (a note, as typed), and ids. Each
//! names the field in its violation, so the client shows the error next to it.
//!
//! One rule for ids across the shop: required, trimmed, at most [`MAX_ID`] characters, no
//! control characters. Ids are UUIDs, but an unknown id is NOT_FOUND, not a format error,
//! so nothing more is checked.

use crate::error::FieldViolation;

/// The longest id a request may carry (a UUID is 36; room for other services' schemes).
pub const MAX_ID: usize = 64;

/// A single line (a name, a carrier): trimmed, `1..=max` characters when `required`, at
/// most `max` otherwise, no control characters at all.
pub fn line(field: &str, value: &str, required: bool, max: usize) -> Result<String, FieldViolation> {
    let value = bounded(field, value, required, max)?;
    if value.chars().any(char::is_control) {
        return Err(FieldViolation::new(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// Running text (a description, a note): trimmed, at most `max` characters, empty allowed
/// unless `required`; line breaks and tabs are fine, other control characters are not.
pub fn paragraph(field: &str, value: &str, required: bool, max: usize) -> Result<String, FieldViolation> {
    let value = bounded(field, value, required, max)?;
    if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(FieldViolation::new(field, "must not contain control characters other than line breaks and tabs"));
    }
    Ok(value.to_owned())
}

/// An id the caller sends (a product, an order, an address): required, trimmed, at most
/// [`MAX_ID`] characters, no control characters.
pub fn id(field: &str, value: &str) -> Result<String, FieldViolation> {
    let value = bounded(field, value, true, MAX_ID)?;
    if value.chars().any(char::is_control) {
        return Err(FieldViolation::new(field, "not an id"));
    }
    Ok(value.to_owned())
}

/// [`id`], where an empty value means "none".
pub fn optional_id(field: &str, value: &str) -> Result<Option<String>, FieldViolation> {
    if value.trim().is_empty() { Ok(None) } else { id(field, value).map(Some) }
}

fn bounded<'a>(field: &str, value: &'a str, required: bool, max: usize) -> Result<&'a str, FieldViolation> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(FieldViolation::new(field, "required"));
    }
    if value.chars().count() > max {
        return Err(FieldViolation::new(field, format!("at most {max} characters")));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(line("name", "  Tea  ", true, 5).unwrap(), "Tea");
        assert_eq!(line("name", "", false, 5).unwrap(), "");
        assert_eq!(line("name", " ", true, 5).unwrap_err().description, "required");
        assert_eq!(line("name", "123456", true, 5).unwrap_err().field, "name");
        assert_eq!(line("name", "é".repeat(5).as_str(), true, 5).unwrap(), "ééééé", "characters, not bytes");
        assert!(line("name", "a\tb", true, 5).is_err());
    }

    #[test]
    fn paragraphs() {
        assert_eq!(paragraph("description", "one\ntwo\tthree", false, 100).unwrap(), "one\ntwo\tthree");
        assert_eq!(paragraph("description", "", false, 100).unwrap(), "");
        assert!(paragraph("description", "", true, 100).is_err());
        assert!(paragraph("description", "bell\u{7}", false, 100).is_err());
        assert!(paragraph("description", "123456", false, 5).is_err());
    }

    #[test]
    fn ids() {
        assert_eq!(id("order_id", " abc ").unwrap(), "abc");
        assert_eq!(id("order_id", "").unwrap_err().description, "required");
        assert_eq!(id("order_id", "a\nb").unwrap_err().field, "order_id");
        assert_eq!(id("order_id", "a\u{0}b").unwrap_err().field, "order_id");
        assert!(id("order_id", &"x".repeat(MAX_ID)).is_ok());
        assert!(id("order_id", &"x".repeat(MAX_ID + 1)).is_err());
        assert_eq!(optional_id("category_id", " ").unwrap(), None);
        assert_eq!(optional_id("category_id", "c1").unwrap(), Some("c1".to_owned()));
    }
}
