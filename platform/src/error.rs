//! One way from a service's error to a `tonic::Status`.
//!
//! Each service keeps its own `thiserror` enum, one variant per outcome a caller can act on,
//! and converts it with one exhaustive `match` into the constructors below. They attach the
//! rich details clients rely on (`BadRequest` field violations, `ErrorInfo` reasons), and
//! [`internal`] is the only way to report a fault: it logs the cause with an id and sends
//! the caller just that id, never the detail.

use std::fmt::Display;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` every Online Mart error carries.
pub const ERROR_DOMAIN: &str = "mart";

/// The answer of an RPC handler: its message, or its error as the service's one mapping
/// to a `Status` makes it.
pub fn reply<T, E: Into<Status>>(result: Result<T, E>) -> Result<tonic::Response<T>, Status> {
    result.map(tonic::Response::new).map_err(Into::into)
}

/// One bad field in a request, named as in the proto (`email`, `lines[2].quantity`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field's proto name.
    pub field: String,
    /// What is wrong with it, in words a client developer can show a user.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self { field: field.into(), description: description.into() }
    }
}

impl Display for FieldViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// Gives a service's `Error`, which has an `Invalid(Vec<FieldViolation>)` case, the
/// conversions from one violation and from several, so that a field parser's
/// `Result<_, FieldViolation>` and [`Violations::finish`] both become it with `?`.
///
/// ```ignore
/// mart_platform::invalid_from_violations!(Error);
/// ```
#[macro_export]
macro_rules! invalid_from_violations {
    ($error:ty) => {
        impl ::std::convert::From<$crate::error::FieldViolation> for $error {
            fn from(violation: $crate::error::FieldViolation) -> Self {
                Self::Invalid(vec![violation])
            }
        }

        impl ::std::convert::From<::std::vec::Vec<$crate::error::FieldViolation>> for $error {
            fn from(violations: ::std::vec::Vec<$crate::error::FieldViolation>) -> Self {
                Self::Invalid(violations)
            }
        }
    };
}

/// Collects the violations of one request, so a client learns every bad field at once
/// instead of one per round trip.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// Keeps the value of a parse, recording its error under `field`.
    pub fn check<T>(&mut self, result: Result<T, FieldViolation>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(violation) => {
                self.0.push(violation);
                None
            }
        }
    }

    /// `Ok(())` when nothing was recorded, else every violation.
    pub fn finish(self) -> Result<(), Vec<FieldViolation>> {
        if self.0.is_empty() { Ok(()) } else { Err(self.0) }
    }
}

/// INVALID_ARGUMENT with a `BadRequest` detail naming every bad field.
pub fn invalid_argument(violations: &[FieldViolation]) -> Status {
    let message = match violations {
        [] => "invalid request".to_owned(),
        [one] => format!("invalid {}: {}", one.field, one.description),
        many => format!("invalid request: {}", many.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")),
    };
    let mut details = ErrorDetails::new();
    for violation in violations {
        details.add_bad_request_violation(&violation.field, &violation.description);
    }
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// NOT_FOUND for a `what` (`"user"`, `"address"`) the caller may not see or that does not
/// exist — deliberately the same answer for both.
pub fn not_found(what: &str) -> Status {
    with_reason(Code::NotFound, "NOT_FOUND", format!("{what} not found"))
}

/// ALREADY_EXISTS because `field` must be unique.
pub fn already_exists(field: &str, message: impl Into<String>) -> Status {
    let mut details =
        ErrorDetails::with_error_info("ALREADY_EXISTS", ERROR_DOMAIN, [("field".to_owned(), field.to_owned())]);
    details.add_bad_request_violation(field, "already taken");
    Status::with_error_details(Code::AlreadyExists, message, details)
}

/// FAILED_PRECONDITION: the request is well-formed but the current state forbids it.
/// `reason` is a stable UPPER_SNAKE code clients can switch on.
pub fn failed_precondition(reason: &str, message: impl Into<String>) -> Status {
    with_reason(Code::FailedPrecondition, reason, message)
}

/// UNAUTHENTICATED: no credentials, or credentials that do not hold.
pub fn unauthenticated(reason: &str, message: impl Into<String>) -> Status {
    with_reason(Code::Unauthenticated, reason, message)
}

/// PERMISSION_DENIED: who the caller is, is known; they may not do this.
pub fn permission_denied(reason: &str, message: impl Into<String>) -> Status {
    with_reason(Code::PermissionDenied, reason, message)
}

/// UNAVAILABLE: a dependency is down; the caller may retry.
pub fn unavailable(reason: &str, message: impl Into<String>) -> Status {
    with_reason(Code::Unavailable, reason, message)
}

/// RESOURCE_EXHAUSTED: too much at once (from this caller, or from everyone); a
/// `RetryInfo` says when to try again (the edge turns it into `Retry-After`).
pub fn resource_exhausted(reason: &str, message: impl Into<String>, retry_after: std::time::Duration) -> Status {
    let mut details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, std::collections::HashMap::new());
    details.set_retry_info(Some(retry_after));
    Status::with_error_details(Code::ResourceExhausted, message, details)
}

/// The `ErrorInfo` reason of [`too_large`], which the edge answers as HTTP 413.
pub const TOO_LARGE: &str = "TOO_LARGE";

/// RESOURCE_EXHAUSTED because what was sent is larger than a limit (an upload past
/// `MART_MEDIA_MAX_BYTES`): not "too many, come back later" (no `RetryInfo`), so the edge
/// answers 413, not 429, telling the two apart by the reason [`TOO_LARGE`].
pub fn too_large(field: &str, message: impl Into<String>) -> Status {
    let mut details = ErrorDetails::with_error_info(TOO_LARGE, ERROR_DOMAIN, [("field".to_owned(), field.to_owned())]);
    details.add_bad_request_violation(field, "too large");
    Status::with_error_details(Code::ResourceExhausted, message, details)
}

/// INTERNAL: a fault of ours. The cause is logged with an id; the caller gets the id only.
pub fn internal(cause: &dyn Display) -> Status {
    let id = uuid::Uuid::now_v7();
    tracing::error!(error.id = %id, error = %cause, "internal error");
    with_reason(Code::Internal, "INTERNAL", format!("internal error (id {id})"))
}

fn with_reason(code: Code, reason: &str, message: impl Into<String>) -> Status {
    let details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, std::collections::HashMap::new());
    Status::with_error_details(code, message, details)
}

/// The screaming-snake name of a gRPC code, as in `google.rpc.Code`.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_names_every_field() {
        let status = invalid_argument(&[
            FieldViolation::new("email", "not an email address"),
            FieldViolation::new("password", "too short"),
        ]);
        assert_eq!(status.code(), Code::InvalidArgument);
        let fields: Vec<_> = status
            .get_details_bad_request()
            .expect("bad request details")
            .field_violations
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["email", "password"]);
        assert!(status.message().contains("email") && status.message().contains("password"));
    }

    #[test]
    fn internal_never_sends_the_cause() {
        let status = internal(&"password hash column is corrupt");
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("password"));
    }
}
