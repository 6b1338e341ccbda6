//! What a caller asks of an account, validated: a registration, a sign-in, a profile
//! change, a password change. Each checks every field at once and names every bad one.

use mart_platform::error::{FieldViolation, Violations};

use super::identity::{Email, Name, Phone, check_password};

/// A validated registration.
#[derive(Clone, Debug)]
pub struct NewAccount {
    /// The login name.
    pub email: Email,
    /// The password, meeting the policy; hashed before it is stored.
    pub password: String,
    /// Given name.
    pub first_name: Name,
    /// Family name.
    pub last_name: Name,
    /// Phone, if given.
    pub phone: Option<Phone>,
}

impl NewAccount {
    /// Checks every field at once.
    pub fn parse(
        email: &str,
        password: &str,
        first_name: &str,
        last_name: &str,
        phone: Option<&str>,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Violations::new();
        violations.check(check_password("password", password, email));
        let email = violations.check(Email::parse("email", email));
        let first_name = violations.check(Name::parse("first_name", first_name));
        let last_name = violations.check(Name::parse("last_name", last_name));
        let phone = match phone.map(str::trim).filter(|p| !p.is_empty()) {
            Some(phone) => violations.check(Phone::parse("phone", phone)).map(Some),
            None => Some(None),
        };
        violations.finish()?;
        // Every `check` above succeeded, or `finish` would have returned the violations.
        match (email, first_name, last_name, phone) {
            (Some(email), Some(first_name), Some(last_name), Some(phone)) => {
                Ok(Self { email, password: password.to_owned(), first_name, last_name, phone })
            }
            _ => Err(vec![FieldViolation::new("account", "invalid")]),
        }
    }
}

/// An email and a password to sign in with. Only presence is checked for the password:
/// the policy applies to new passwords, not to the ones accounts already have.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The login name.
    pub email: Email,
    /// The password as typed.
    pub password: String,
}

impl Credentials {
    /// Checks both fields at once.
    pub fn parse(email: &str, password: String) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Violations::new();
        let email = violations.check(Email::parse("email", email));
        if password.is_empty() {
            violations.add("password", "required");
        }
        violations.finish()?;
        match email {
            Some(email) => Ok(Self { email, password }),
            None => Err(vec![FieldViolation::new("email", "invalid")]),
        }
    }
}

/// What an owner changes about their profile; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ProfileChanges {
    /// New given name.
    pub first_name: Option<Name>,
    /// New family name.
    pub last_name: Option<Name>,
    /// New phone; `Some(None)` clears it.
    pub phone: Option<Option<Phone>>,
    /// New login name; needs [`ProfileChanges::current_password`] if it differs.
    pub email: Option<Email>,
    /// The current password, proving the owner is at the keyboard for an email change.
    pub current_password: Option<String>,
}

impl ProfileChanges {
    /// Checks every given field at once. An empty phone clears it.
    pub fn parse(
        first_name: Option<&str>,
        last_name: Option<&str>,
        phone: Option<&str>,
        email: Option<&str>,
        current_password: Option<String>,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Violations::new();
        let first_name = first_name.and_then(|v| violations.check(Name::parse("first_name", v)));
        let last_name = last_name.and_then(|v| violations.check(Name::parse("last_name", v)));
        let phone = phone.map(|v| {
            if v.trim().is_empty() { Some(None) } else { violations.check(Phone::parse("phone", v)).map(Some) }
        });
        let email = email.and_then(|v| violations.check(Email::parse("email", v)));
        violations.finish()?;
        Ok(Self { first_name, last_name, phone: phone.flatten(), email, current_password })
    }
}

/// A new password for an account, with the current one that authorises it.
#[derive(Clone, Debug)]
pub struct PasswordChange {
    /// The password as typed, checked against the stored hash.
    pub current: String,
    /// The new password, meeting the policy for the account's email.
    pub new: String,
}

impl PasswordChange {
    /// Checks both fields at once; `email` is the account's, which the new password must
    /// not be.
    pub fn parse(current: String, new: String, email: &str) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Violations::new();
        if current.is_empty() {
            violations.add("current_password", "required");
        }
        violations.check(check_password("new_password", &new, email));
        if !new.is_empty() && new == current {
            violations.add("new_password", "must differ from the current password");
        }
        violations.finish()?;
        Ok(Self { current, new })
    }
}
