//! Categories: a unique name (compared case-insensitively) and a description.

use mart_platform::{
    error::{FieldViolation, Violations},
    fields,
};
use serde::{Deserialize, Serialize};

use super::{MAX_CATEGORY_DESCRIPTION, fold};

/// A category's display name: trimmed, 1 to 100 characters, one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryName(String);

impl CategoryName {
    /// Parses `value` as the request field `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        fields::line(field, value, true, 100).map(Self)
    }

    /// The name as shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What uniqueness is decided on: "Tea" and "TEA" are the same category.
    pub fn key(&self) -> String {
        fold(&self.0)
    }
}

/// A category as requested, before validation.
#[derive(Clone, Debug, Default)]
pub struct CategoryInput {
    /// `name`.
    pub name: String,
    /// `description`.
    pub description: String,
}

/// A valid new category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCategory {
    /// Its name.
    pub name: CategoryName,
    /// Its description, possibly empty.
    pub description: String,
}

impl TryFrom<CategoryInput> for NewCategory {
    type Error = Vec<FieldViolation>;

    fn try_from(input: CategoryInput) -> Result<Self, Self::Error> {
        let mut violations = Violations::new();
        let name = violations.check(CategoryName::parse("name", &input.name));
        let description =
            violations.check(fields::paragraph("description", &input.description, false, MAX_CATEGORY_DESCRIPTION));
        violations.finish()?;
        match (name, description) {
            (Some(name), Some(description)) => Ok(Self { name, description }),
            // `finish` returned every violation; both are present here.
            _ => Err(vec![FieldViolation::new("name", "invalid")]),
        }
    }
}

/// What UpdateCategory changes: each field only when the request carries it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CategoryChanges {
    /// A new name.
    pub name: Option<CategoryName>,
    /// A new description ("" clears it).
    pub description: Option<String>,
}

impl CategoryChanges {
    /// Parses the optional `name` and `description` of an update.
    pub fn parse(name: Option<&str>, description: Option<&str>) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Violations::new();
        let name = name.and_then(|v| violations.check(CategoryName::parse("name", v)));
        let description = description
            .and_then(|v| violations.check(fields::paragraph("description", v, false, MAX_CATEGORY_DESCRIPTION)));
        violations.finish()?;
        Ok(Self { name, description })
    }
}

/// Where a ListCategories page ended: the next page starts strictly after
/// `(name_key, id)`, the list's order. Names are unique, so the id only makes the order
/// total for the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryCursor {
    /// The last category's folded name ([`CategoryName::key`]).
    pub name_key: String,
    /// The last category's id.
    pub id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_keyed_case_insensitively() {
        let name = CategoryName::parse("name", "  Grüner Tee ").unwrap();
        assert_eq!(name.as_str(), "Grüner Tee");
        assert_eq!(name.key(), CategoryName::parse("name", "GRÜNER TEE").unwrap().key());
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = CategoryInput { name: "x".repeat(101), description: "y".repeat(2001) };
        let fields: Vec<_> = NewCategory::try_from(bad).unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["name", "description"]);
        let changes = CategoryChanges::parse(Some(" "), None).unwrap_err();
        assert_eq!(changes[0].field, "name");
        assert_eq!(CategoryChanges::parse(None, Some("")).unwrap().description.as_deref(), Some(""));
    }
}
