//! prost <-> domain for UserService: each request parsed into domain values in one step
//! (every bad field named at once), each store row or command result encoded as its
//! message. Nothing here touches the database.

use mart_platform::{
    error::Violations,
    paging::{self, Fingerprint, PageTokens},
    wire::timestamp,
};
use mart_proto::user as pb;
use serde::{Deserialize, Serialize};

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

/// A ListUsers request, parsed: which users, after which id, how many; and the query its
/// page tokens are bound to.
#[derive(Debug)]
pub struct ListUsers {
    /// Which users (and, from the page token, after which id).
    pub filter: users::Filter,
    /// How many on this page.
    pub limit: u64,
    /// The query the request's page token must come from, and the next one is issued for.
    fingerprint: Fingerprint,
}

/// What ListUsers' page tokens are bound to: every request field that decides which users
/// come (the order is always by id). The prefix as it is matched, so `BERT` and `bert` are
/// one query.
#[derive(Serialize)]
struct UsersQuery<'a> {
    role: i32,
    status: i32,
    email_prefix: &'a str,
}

/// Where a page of ListUsers ended: the last id shown (UUIDv7, so creation order).
#[derive(Serialize, Deserialize)]
struct UsersCursor {
    id: String,
}

impl ListUsers {
    /// Parses `request`, reading its page token with `pages`; every bad field at once.
    pub fn parse(request: pb::ListUsersRequest, pages: &PageTokens) -> Result<Self, Error> {
        let mut violations = Violations::new();
        let limit = violations.check(paging::page_size(request.page_size)).unwrap_or(paging::DEFAULT_PAGE_SIZE);
        let email_prefix = request.email_prefix.trim().to_lowercase();
        let query = UsersQuery { role: request.role, status: request.status, email_prefix: &email_prefix };
        let fingerprint = paging::fingerprint("ListUsers", &query);
        let after = violations.check(pages.read::<UsersCursor>(&request.page_token, fingerprint)).flatten();
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
        let email_prefix = Some(email_prefix).filter(|p| !p.is_empty());
        let filter = users::Filter { role, status, email_prefix, after: after.map(|cursor| cursor.id) };
        Ok(Self { filter, limit, fingerprint })
    }

    /// The page of up to `limit + 1` `rows` (the extra row only says a next page exists),
    /// with the token of the next page, issued with `pages`.
    pub fn page(&self, rows: Vec<users::Model>, pages: &PageTokens) -> Result<pb::ListUsersResponse, Error> {
        let (rows, next_page_token) =
            paging::split(rows, self.limit, |last| pages.issue(self.fingerprint, &UsersCursor { id: last.id.clone() }));
        Ok(pb::ListUsersResponse { users: rows.iter().map(user).collect::<Result<_, _>>()?, next_page_token })
    }
}

// === responses ===

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
