//! Free text as admins type it: trimmed, bounded, without control characters.

use mart_platform::error::FieldViolation;

/// A single line (a name): trimmed, `1..=max` characters when `required`, at most `max`
/// otherwise, no control characters at all.
pub(super) fn line(field: &str, value: &str, required: bool, max: usize) -> Result<String, FieldViolation> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(FieldViolation::new(field, "required"));
    }
    if value.chars().count() > max {
        return Err(FieldViolation::new(field, format!("at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldViolation::new(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// Running text (a description): trimmed, at most `max` characters; line breaks and tabs
/// are fine, other control characters are not.
pub(super) fn paragraph(field: &str, value: &str, max: usize) -> Result<String, FieldViolation> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(FieldViolation::new(field, format!("at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(FieldViolation::new(field, "must not contain control characters other than line breaks and tabs"));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_paragraphs() {
        assert_eq!(line("name", "  Tea ", true, 5).unwrap(), "Tea");
        assert_eq!(line("name", " ", true, 5).unwrap_err().description, "required");
        assert_eq!(line("brand", "", false, 5).unwrap(), "");
        assert!(line("name", "abcdef", true, 5).is_err());
        assert!(line("name", "a\tb", true, 5).is_err());
        assert_eq!(paragraph("description", "one\ntwo\tthree", 20).unwrap(), "one\ntwo\tthree");
        assert!(paragraph("description", "bell\u{7}", 20).is_err());
        assert!(paragraph("description", &"x".repeat(21), 20).is_err());
        // Characters, not bytes.
        assert!(line("name", &"é".repeat(5), true, 5).is_ok());
    }
}
