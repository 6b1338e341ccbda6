//! Who an account is: email, password policy, names, phone.

use mart_platform::{error::FieldViolation, fields};

/// A normalised (trimmed, lower-case) email address. Two addresses differing only in case
/// are one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses `value` as the request field `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let value = value.trim().to_lowercase();
        let bad = |why: &str| FieldViolation::new(field, why);
        if value.is_empty() {
            return Err(bad("required"));
        }
        if value.len() > 254 {
            return Err(bad("at most 254 characters"));
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return Err(bad("not an email address: missing @"));
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return Err(bad("not an email address"));
        }
        Ok(Self(value))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a new password against the policy: 10 to 128 characters, not one character
/// repeated, not the account's email.
pub fn check_password(field: &str, password: &str, email: &str) -> Result<(), FieldViolation> {
    let bad = |why: &str| Err(FieldViolation::new(field, why));
    let length = password.chars().count();
    if length < 10 {
        return bad("at least 10 characters");
    }
    if length > 128 {
        return bad("at most 128 characters");
    }
    let mut chars = password.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return bad("must not be one character repeated");
    }
    if password.trim().eq_ignore_ascii_case(email.trim()) {
        return bad("must not be your email address");
    }
    Ok(())
}

/// A person's given or family name: trimmed, 1 to 100 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// Parses `value` as the request field `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        fields::line(field, value, true, 100).map(Self)
    }

    /// The name.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A phone number in E.164: `+`, a country code not starting with 0, at most 15 digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Parses `value` as the request field `field`. Spaces are tolerated and removed.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let compact: String = value.chars().filter(|c| *c != ' ').collect();
        let digits = compact.strip_prefix('+').unwrap_or("");
        let valid = digits.len() >= 7
            && digits.len() <= 15
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0');
        if valid {
            Ok(Self(compact))
        } else {
            Err(FieldViolation::new(field, "not an E.164 phone number, e.g. +4915112345678"))
        }
    }

    /// The number.
    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(Email::parse("email", "  Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@exa_mple.com",
            "ada..x@example.com",
        ] {
            let violation = Email::parse("email", bad).expect_err(bad);
            assert_eq!(violation.field, "email");
        }
    }

    #[test]
    fn passwords() {
        assert!(check_password("password", "correct horse battery", "ada@example.com").is_ok());
        assert!(check_password("password", "short", "a@b.co").is_err());
        assert!(check_password("password", "aaaaaaaaaaaa", "a@b.co").is_err());
        assert!(check_password("password", "Ada@Example.com", "ada@example.com").is_err());
        assert!(check_password("password", &"x1".repeat(65), "a@b.co").is_err());
    }

    #[test]
    fn names_and_phones() {
        assert_eq!(Name::parse("first_name", "  Ada ").unwrap().into_inner(), "Ada");
        assert!(Name::parse("first_name", "   ").is_err());
        assert!(Name::parse("first_name", &"x".repeat(101)).is_err());
        assert!(Name::parse("first_name", "Ada\nLovelace").is_err());
        assert_eq!(Phone::parse("phone", "+49 151 12345678").unwrap().into_inner(), "+4915112345678");
        for bad in ["4915112345678", "+0123456789", "+49-151", "+1234567890123456", "+12345"] {
            assert!(Phone::parse("phone", bad).is_err(), "{bad}");
        }
    }
}
