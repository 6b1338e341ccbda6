//! prost <-> domain for UserService: each request parsed into domain values in one step
//! (every bad field named at once), each store row or command result encoded as its
//! message. Nothing here touches the database.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use mart_platform::{error::Violations, paging, wire::timestamp};
use mart_proto::user as pb;

use crate::{
    commands::TokenPair,
    domain::{Address, AddressInput, Credentials, NewAccount, PasswordChange, ProfileChanges, Role, Status},
    error::Error,
    store::{addresses, users},
};

// === requests ===

impl TryFrom<pb::RegisterRequest> for NewAccount {
    type Error = Error;

    fn try_from(request: pb::RegisterRequest) -> Result<Self, Error> {
        NewAccount::parse(
            &request.email,
            &request.password,
            &request.first_name,
            &request.last_name,
            request.phone.as_deref(),
        )
        .map_err(Error::Invalid)
    }
}

impl TryFrom<pb::LoginRequest> for Credentials {
    type Error = Error;

    fn try_from(request: pb::LoginRequest) -> Result<Self, Error> {
        Credentials::parse(&request.email, request.password).map_err(Error::Invalid)
    }
}

impl TryFrom<pb::UpdateMeRequest> for ProfileChanges {
    type Error = Error;

    fn try_from(request: pb::UpdateMeRequest) -> Result<Self, Error> {
        ProfileChanges::parse(
            request.first_name.as_deref(),
            request.last_name.as_deref(),
            request.phone.as_deref(),
            request.email.as_deref(),
            request.current_password,
        )
        .map_err(Error::Invalid)
    }
}

impl TryFrom<pb::AddAddressRequest> for Address {
    type Error = Error;

    fn try_from(request: pb::AddAddressRequest) -> Result<Self, Error> {
        Address::try_from(AddressInput {
            label: request.label,
            line1: request.line1,
            line2: request.line2,
            city: request.city,
            postal_code: request.postal_code,
            country: request.country,
            latitude: request.latitude,
            longitude: request.longitude,
        })
        .map_err(Error::Invalid)
    }
}

/// A ChangePassword request for the account whose email is `email` (the new password must
/// not be it).
pub fn password_change(request: pb::ChangePasswordRequest, email: &str) -> Result<PasswordChange, Error> {
    PasswordChange::parse(request.current_password, request.new_password, email).map_err(Error::Invalid)
}

/// `value` of the request field `field`, which must not be blank.
pub fn required<'a>(field: &str, value: &'a str) -> Result<&'a str, Error> {
    if value.trim().is_empty() { Err(Error::invalid(field, "required")) } else { Ok(value) }
}

/// The role SetUserRole asks for.
pub fn new_role(role: i32) -> Result<Role, Error> {
    match pb::Role::try_from(role) {
        Ok(pb::Role::User) => Ok(Role::User),
        Ok(pb::Role::Admin) => Ok(Role::Admin),
        Ok(pb::Role::Unspecified) | Err(_) => Err(Error::invalid("role", "must be ROLE_USER or ROLE_ADMIN")),
    }
}

/// The status SetUserStatus asks for: an admin enables or disables; only the owner deletes.
pub fn new_status(status: i32) -> Result<Status, Error> {
    match pb::UserStatus::try_from(status) {
        Ok(pb::UserStatus::Active) => Ok(Status::Active),
        Ok(pb::UserStatus::Disabled) => Ok(Status::Disabled),
        Ok(pb::UserStatus::Deleted | pb::UserStatus::Unspecified) | Err(_) => {
            Err(Error::invalid("status", "must be USER_STATUS_ACTIVE or USER_STATUS_DISABLED"))
        }
    }
}

/// A ListUsers request: the filter and the page size.
pub fn list_users(request: pb::ListUsersRequest) -> Result<(users::Filter, u64), Error> {
    let mut violations = Violations::new();
    let limit = violations.check(paging::page_size(request.page_size)).unwrap_or(20);
    let after = if request.page_token.is_empty() {
        None
    } else {
        let decoded = B64.decode(&request.page_token).ok().and_then(|b| String::from_utf8(b).ok());
        if decoded.is_none() {
            violations.add("page_token", "not a token from a previous page");
        }
        decoded
    };
    let role = match pb::Role::try_from(request.role) {
        Ok(pb::Role::Unspecified) => None,
        Ok(pb::Role::User) => Some(Role::User.as_str()),
        Ok(pb::Role::Admin) => Some(Role::Admin.as_str()),
        Err(_) => {
            violations.add("role", "unknown role");
            None
        }
    };
    let status = match pb::UserStatus::try_from(request.status) {
        Ok(pb::UserStatus::Unspecified) => None,
        Ok(pb::UserStatus::Active) => Some(Status::Active.as_str()),
        Ok(pb::UserStatus::Disabled) => Some(Status::Disabled.as_str()),
        Ok(pb::UserStatus::Deleted) => Some(Status::Deleted.as_str()),
        Err(_) => {
            violations.add("status", "unknown status");
            None
        }
    };
    violations.finish().map_err(Error::Invalid)?;
    let email_prefix = Some(request.email_prefix.trim().to_lowercase()).filter(|p| !p.is_empty());
    Ok((users::Filter { role, status, email_prefix, after }, limit))
}

// === responses ===

/// One page of ListUsers from up to `limit + 1` rows: the extra row only says there is a
/// next page, whose token is the last id shown.
pub fn users_page(mut rows: Vec<users::Model>, limit: u64) -> Result<pb::ListUsersResponse, Error> {
    let next_page_token = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|last| B64.encode(&last.id)).unwrap_or_default()
    } else {
        String::new()
    };
    Ok(pb::ListUsersResponse { users: rows.iter().map(user).collect::<Result<_, _>>()?, next_page_token })
}

/// Login, RefreshToken and ChangePassword all answer with a token pair in the same four
/// fields of their own response message.
macro_rules! token_response {
    ($($response:ident),*) => {$(
        impl From<TokenPair> for pb::$response {
            fn from(tokens: TokenPair) -> Self {
                pb::$response {
                    access_token: tokens.access_token,
                    refresh_token: tokens.refresh_token,
                    token_type: "Bearer".into(),
                    expires_in: tokens.expires_in,
                }
            }
        }
    )*};
}

token_response!(LoginResponse, RefreshTokenResponse, ChangePasswordResponse);

/// An account as callers see it (never its password hash).
pub fn user(user: &users::Model) -> Result<pb::User, Error> {
    let role = match user.account_role()? {
        Role::User => pb::Role::User,
        Role::Admin => pb::Role::Admin,
    };
    let status = match user.account_status()? {
        Status::Active => pb::UserStatus::Active,
        Status::Disabled => pb::UserStatus::Disabled,
        Status::Deleted => pb::UserStatus::Deleted,
    };
    Ok(pb::User {
        id: user.id.clone(),
        email: user.email.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        phone: user.phone.clone(),
        role: role.into(),
        status: status.into(),
        created_at: Some(timestamp(&user.created_at)),
        updated_at: Some(timestamp(&user.updated_at)),
    })
}

/// A saved address.
pub fn address(row: &addresses::Model) -> pb::Address {
    pb::Address {
        id: row.id.clone(),
        label: row.label.clone(),
        line1: row.line1.clone(),
        line2: row.line2.clone(),
        city: row.city.clone(),
        postal_code: row.postal_code.clone(),
        country: row.country.clone(),
        latitude: row.latitude,
        longitude: row.longitude,
        created_at: Some(timestamp(&row.created_at)),
    }
}
