//! Every outcome of a svc-payment call that is not success, and the one mapping to
//! `tonic::Status` (no catch-all arm).

use mart_platform::{
    bus::HandlerError,
    error::{self as status, FieldViolation},
};
use sea_orm::DbErr;
use tonic::Status;

use crate::{
    domain::PaymentStatus,
    provider::{ProviderError, stripe::webhook::SignatureError},
};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input; every bad field is named.
    #[error("invalid request: {0:?}")]
    Invalid(Vec<FieldViolation>),
    /// No payment for the order: no such order, another user's, or not created yet.
    #[error("no payment for this order")]
    NotFound,
    /// ConfirmManualPayment of a payment another provider processes.
    #[error("the payment is not processed by the manual provider")]
    NotManual,
    /// The payment's status forbids the change.
    #[error("the payment is {actual:?}, not {expected:?}")]
    WrongStatus {
        /// What the change needs.
        expected: PaymentStatus,
        /// What it is.
        actual: PaymentStatus,
    },
    /// A refund of more than is left to refund of the payment.
    #[error("only {left} is left to refund")]
    RefundTooLarge {
        /// What may still be refunded (zero when everything went back or is on its way).
        left: mart_platform::money::Money,
    },
    /// A webhook call whose signature does not hold.
    #[error("stripe signature: {0}")]
    Signature(#[from] SignatureError),
    /// A verified webhook body that is not a Stripe event.
    #[error("webhook body: {0}")]
    Body(String),
    /// Webhooks arrive, but no webhook secret is configured to check them.
    #[error("STRIPE_WEBHOOK_SECRET is not set")]
    WebhookNotConfigured,
    /// The payment provider failed or refused.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// A stored row the domain cannot read (a bug, never the caller's fault).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] DbErr),
}

/// What a reaction's failure means for its event: the database's (or a provider's) trouble
/// passes, and the event is tried again; anything else is about the event itself, and no
/// retry can cure it.
impl From<Error> for HandlerError {
    fn from(error: Error) -> Self {
        match error {
            Error::Database(_) | Error::Provider(ProviderError::Unavailable(_)) => {
                HandlerError::transient(error.to_string())
            }
            _ => HandlerError::permanent(error.to_string()),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound => status::not_found("payment"),
            Error::NotManual => {
                status::failed_precondition("NOT_MANUAL_PAYMENT", "only manual payments are confirmed by an admin")
            }
            Error::WrongStatus { expected, actual } => status::failed_precondition(
                match expected {
                    PaymentStatus::Pending => "PAYMENT_NOT_PENDING",
                    PaymentStatus::Succeeded => "PAYMENT_NOT_SUCCEEDED",
                    PaymentStatus::Opening
                    | PaymentStatus::Failed
                    | PaymentStatus::Cancelled
                    | PaymentStatus::Refunded => "PAYMENT_STATUS",
                },
                format!("the payment is {}, not {}", actual.as_str(), expected.as_str()),
            ),
            Error::RefundTooLarge { left } => status::failed_precondition(
                "REFUND_EXCEEDS_CAPTURED",
                format!("only {left} is left to refund (captured minus every refund, pending ones included)"),
            ),
            Error::Signature(error) => {
                status::invalid_argument(&[FieldViolation::new("stripe-signature", error.to_string())])
            }
            Error::Body(why) => status::invalid_argument(&[FieldViolation::new("body", why)]),
            Error::WebhookNotConfigured => {
                status::failed_precondition("WEBHOOK_NOT_CONFIGURED", "this service cannot verify Stripe webhooks")
            }
            Error::Provider(ProviderError::Unavailable(why)) => {
                tracing::warn!(%why, "payment provider unavailable");
                status::unavailable("PROVIDER_UNAVAILABLE", "the payment provider did not answer; retry shortly")
            }
            Error::Provider(ProviderError::Rejected { code, message }) => status::failed_precondition(
                "PROVIDER_REJECTED",
                format!("the payment provider refused ({code}): {message}"),
            ),
            Error::Provider(error @ ProviderError::NotConfigured(_)) => status::internal(&error),
            Error::Corrupt(what) => status::internal(&what),
            Error::Invalid(violations) => status::invalid_argument(&violations),
            Error::Database(error) => status::internal(&error),
        }
    }
}

mart_platform::invalid_from_violations!(Error);
