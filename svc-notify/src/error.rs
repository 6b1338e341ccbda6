//! Every outcome of a svc-notify call that is not success, and the one mapping to
//! `tonic::Status` (no catch-all arm).

use mart_platform::error::{self as status, FieldViolation};
use sea_orm::DbErr;
use tonic::Status;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input; every bad field is named.
    #[error("invalid request: {0:?}")]
    Invalid(Vec<FieldViolation>),
    /// No such notification among the caller's own (another user's looks the same).
    #[error("no such notification")]
    NotificationNotFound,
    /// No such user: never registered (as far as the user events tell), or deleted.
    #[error("no such user")]
    UserNotFound,
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// The event bus could not be read (GetEventsStatus).
    #[error("event bus: {0}")]
    Bus(String),
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::NotificationNotFound => status::not_found("notification"),
            Error::UserNotFound => status::not_found("user"),
            Error::Invalid(violations) => status::invalid_argument(&violations),
            Error::Database(error) => status::internal(&error),
            Error::Bus(cause) => {
                tracing::warn!(error = %cause, "the event bus could not be read");
                status::unavailable("BUS_UNAVAILABLE", "the event bus cannot be read now: try again shortly")
            }
        }
    }
}

mart_platform::invalid_from_violations!(Error);
