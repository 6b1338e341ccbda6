//! The rules of accounts, free of I/O: what a valid email, password, name, phone number and
//! address are; what a registration, sign-in, profile or password change must carry; roles
//! and statuses. Types here parse (they cannot hold an invalid value),
//! and fail with a [`FieldViolation`](mart_platform::error::FieldViolation) naming the request field.

mod account;
mod address;
mod country;
mod identity;

pub use account::{Credentials, NewAccount, PasswordChange, ProfileChanges};
pub use address::{Address, AddressInput};
pub use identity::{Email, Name, Phone, check_password};

/// What an account may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A customer.
    User,
    /// A shop administrator.
    Admin,
}

impl Role {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// From storage; unknown values are a corrupt row, reported by the caller.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// Whether an account may sign in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Normal.
    Active,
    /// Locked by an admin: no login, no refresh.
    Disabled,
    /// Closed by its owner (DeleteMe): no login, no refresh, the email stays reserved.
    Deleted,
}

impl Status {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Disabled => "disabled",
            Status::Deleted => "deleted",
        }
    }

    /// From storage.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "active" => Some(Status::Active),
            "disabled" => Some(Status::Disabled),
            "deleted" => Some(Status::Deleted),
            _ => None,
        }
    }
}
