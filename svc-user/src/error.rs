//! Every outcome of a svc-user call that is not success, and the one mapping to
//! `tonic::Status` (no catch-all arm: a new variant must decide its code).

use mart_platform::error::{self as status, FieldViolation};
use sea_orm::DbErr;
use tonic::Status;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input; every bad field is named.
    #[error("invalid request: {0:?}")]
    Invalid(Vec<FieldViolation>),
    /// Another account has this email (compared case-insensitively).
    #[error("email already registered")]
    EmailTaken,
    /// Unknown email or wrong password: deliberately one answer for both.
    #[error("wrong email or password")]
    InvalidCredentials,
    /// The account was disabled by an admin.
    #[error("account disabled")]
    AccountDisabled,
    /// The account was closed by its owner.
    #[error("account deleted")]
    AccountDeleted,
    /// Unknown, expired, revoked or already used refresh token.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// Nothing the caller may see by that id.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The change would leave the shop without an active admin.
    #[error("the last admin")]
    LastAdmin,
    /// The caller's token says admin, but the account is no longer an active admin's.
    #[error("not an admin")]
    NotAdmin,
    /// Admins cannot lock themselves out.
    #[error("cannot change your own status")]
    OwnStatus,
    /// Too many passwords are being hashed at once in this process: try again shortly.
    #[error("password hashing is busy")]
    Busy,
    /// Too many failed logins for this account or from this address lately.
    #[error("too many failed logins; retry in {retry_after:?}")]
    Throttled {
        /// When the next attempt is allowed.
        retry_after: std::time::Duration,
    },
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// A fault of ours (a corrupt row, a crashed hashing task).
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// Bad input in one field.
    pub fn invalid(field: &str, description: &str) -> Self {
        Error::Invalid(vec![FieldViolation::new(field, description)])
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::EmailTaken => status::already_exists("email", "an account with this email already exists"),
            Error::InvalidCredentials => status::unauthenticated("INVALID_CREDENTIALS", "wrong email or password"),
            Error::AccountDisabled => status::permission_denied("ACCOUNT_DISABLED", "this account is disabled"),
            Error::AccountDeleted => status::failed_precondition("ACCOUNT_DELETED", "this account was deleted"),
            Error::InvalidRefreshToken => {
                status::unauthenticated("INVALID_REFRESH_TOKEN", "the refresh token is not valid; log in again")
            }
            Error::NotFound(what) => status::not_found(what),
            Error::LastAdmin => {
                status::failed_precondition("LAST_ADMIN", "the shop must keep at least one active admin")
            }
            Error::Busy => status::resource_exhausted(
                "PASSWORD_HASHING_BUSY",
                "too many sign-ins at once; try again in a moment",
                std::time::Duration::from_secs(1),
            ),
            Error::Throttled { retry_after } => status::resource_exhausted(
                "TOO_MANY_FAILED_LOGINS",
                "too many failed sign-ins; wait before trying again",
                retry_after,
            ),
            Error::NotAdmin => status::permission_denied("ADMIN_ONLY", "this needs an admin account"),
            Error::OwnStatus => status::failed_precondition("OWN_STATUS", "admins cannot change their own status"),
            Error::Invalid(violations) => status::invalid_argument(&violations),
            Error::Database(error) => status::internal(&error),
            Error::Internal(message) => status::internal(&message),
        }
    }
}

mart_platform::invalid_from_violations!(Error);
