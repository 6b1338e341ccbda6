//! Every outcome of a svc-order call that is not success, and the one mapping to
//! `tonic::Status` (no catch-all arm).

use std::time::Duration;

use mart_platform::{
    changes::Full,
    error::{self as status, FieldViolation},
    money::MoneyError,
};
use sea_orm::DbErr;
use tonic::Status;

use crate::domain::{IllegalTransition, TooManyUnpaid};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input; every bad field (or cart line) is named.
    #[error("invalid request: {0:?}")]
    Invalid(Vec<FieldViolation>),
    /// The thing does not exist, or belongs to someone else: the same answer for both.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The order's status does not allow this.
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    /// An idempotency key already placed an order for a different cart or address.
    #[error("this idempotency key was used for a different order")]
    KeyReused,
    /// The account, or the client address it places from, already has as many unpaid
    /// orders open as allowed: one must be paid or cancelled (or expire) first.
    #[error(transparent)]
    TooManyUnpaid(#[from] TooManyUnpaid),
    /// The cart changed between reading it and placing the order.
    #[error("the cart changed while the order was being placed")]
    CartChanged,
    /// The catalog priced the cart in more than one currency, or beyond what fits.
    #[error("the cart cannot be priced: {0}")]
    Pricing(#[from] MoneyError),
    /// WatchOrder: the process, or the caller, already holds as many streams as allowed
    /// (`MART_ORDER_MAX_WATCHERS`, `MART_ORDER_MAX_WATCHERS_PER_USER`).
    #[error("too many watchers: {0}")]
    TooManyWatchers(#[from] Full),
    /// A service svc-order depends on did not answer (in time).
    #[error("{0} is unavailable")]
    Unavailable(&'static str),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] DbErr),
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound(what) => status::not_found(what),
            Error::IllegalTransition(illegal) => status::failed_precondition("ILLEGAL_TRANSITION", illegal.to_string()),
            Error::KeyReused => status::failed_precondition(
                "IDEMPOTENCY_KEY_REUSED",
                "this idempotency key already placed an order for a different cart or address",
            ),
            // FAILED_PRECONDITION (HTTP 409 at the edge), not RESOURCE_EXHAUSTED (429): waiting
            // does not help until an order is paid or cancelled, or its payment deadline passes.
            Error::TooManyUnpaid(TooManyUnpaid::Account(limit)) => status::failed_precondition(
                "TOO_MANY_UNPAID_ORDERS",
                format!(
                    "this account already has {limit} unpaid orders, the most allowed \
                     (MART_ORDER_MAX_OPEN_UNPAID={limit}): pay or cancel one before placing another"
                ),
            ),
            Error::TooManyUnpaid(TooManyUnpaid::Address(limit)) => status::failed_precondition(
                "TOO_MANY_UNPAID_ORDERS_FROM_ADDRESS",
                format!(
                    "{limit} unpaid orders are already open from this network address, the most allowed \
                     (MART_ORDER_MAX_OPEN_UNPAID_PER_ADDRESS={limit}): pay or cancel one, or wait for one to expire"
                ),
            ),
            Error::CartChanged => status::failed_precondition(
                "CART_CHANGED",
                "the cart changed while the order was being placed: look at it and place the order again",
            ),
            Error::Pricing(MoneyError::MixedCurrencies(a, b)) => status::failed_precondition(
                "MIXED_CURRENCIES",
                format!("the cart holds prices in {a} and {b}, which cannot be added up"),
            ),
            Error::Pricing(MoneyError::Overflow) => {
                status::invalid_argument(&[FieldViolation::new("cart", "the total is too large")])
            }
            // The catalog's prices are read with their currency checked (peers.rs), and a
            // stored order's is a database fault: a currency unknown here is never the caller's.
            Error::Pricing(error @ MoneyError::UnknownCurrency(_)) => status::internal(&error),
            // RESOURCE_EXHAUSTED (HTTP 429): a place comes free when a stream ends.
            Error::TooManyWatchers(Full::Owner(limit)) => status::resource_exhausted(
                "TOO_MANY_WATCHES",
                format!(
                    "this account already watches {limit} orders, the most allowed \
                     (MART_ORDER_MAX_WATCHERS_PER_USER={limit}): close one of those streams first"
                ),
                Duration::from_secs(5),
            ),
            Error::TooManyWatchers(Full::Process(limit)) => status::resource_exhausted(
                "WATCH_CAPACITY",
                format!(
                    "this server already streams {limit} orders, the most it may (MART_ORDER_MAX_WATCHERS={limit})"
                ),
                Duration::from_secs(5),
            ),
            Error::Unavailable(service) => {
                status::unavailable("DEPENDENCY_UNAVAILABLE", format!("{service} did not answer; try again"))
            }
            Error::Invalid(violations) => status::invalid_argument(&violations),
            Error::Database(error) => status::internal(&error),
        }
    }
}

mart_platform::invalid_from_violations!(Error);
