//! Every outcome of a svc-inventory call that is not success, and the one mapping to
//! `tonic::Status` (no catch-all arm).

use mart_platform::error::{self as status, FieldViolation};
use sea_orm::DbErr;
use tonic::Status;

use crate::domain::VariantChoice;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input; every bad field is named.
    #[error("invalid request: {0:?}")]
    Invalid(Vec<FieldViolation>),
    /// No stock row for the product (unknown, or its ProductCreated not yet seen).
    #[error("no stock for this product")]
    NotFound,
    /// The product has several variants and the call named none of them.
    #[error("the product has {variants} variants: name one")]
    VariantRequired {
        /// How many variants the product has.
        variants: usize,
    },
    /// The variant named is not one of the product's (another product's, or unknown).
    #[error("not a variant of this product")]
    NotAVariant,
    /// The change would leave fewer units on hand than are reserved for orders.
    #[error("{reserved} units are reserved")]
    BelowReserved {
        /// Units reserved right now.
        reserved: i64,
    },
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] DbErr),
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound => status::not_found("stock"),
            Error::VariantRequired { variants } => status::invalid_argument(&[FieldViolation::new(
                "variant_id",
                format!("required: the product has {variants} variants"),
            )]),
            Error::NotAVariant => {
                status::invalid_argument(&[FieldViolation::new("variant_id", "not a variant of this product")])
            }
            Error::BelowReserved { reserved } => status::failed_precondition(
                "BELOW_RESERVED",
                format!("{reserved} units are reserved for orders: on hand cannot go below that"),
            ),
            Error::Invalid(violations) => status::invalid_argument(&violations),
            Error::Database(error) => status::internal(&error),
        }
    }
}

impl From<VariantChoice> for Error {
    fn from(choice: VariantChoice) -> Self {
        match choice {
            VariantChoice::NoStock => Error::NotFound,
            VariantChoice::Required { variants } => Error::VariantRequired { variants },
            VariantChoice::NotOfProduct => Error::NotAVariant,
        }
    }
}

mart_platform::invalid_from_violations!(Error);
