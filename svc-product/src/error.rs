//! Every outcome of a svc-product call that is not success, and the one mapping to
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
    /// Another category has this name (compared case-insensitively).
    #[error("category name taken")]
    CategoryNameTaken,
    /// Another product has this SKU; `field` is where the request carried it.
    #[error("sku taken")]
    SkuTaken {
        /// `sku` (CreateProduct) or `product.sku` (UpdateProduct).
        field: &'static str,
    },
    /// The category still has products (archived ones count: orders reference them).
    #[error("category still has {products} products")]
    CategoryInUse {
        /// How many.
        products: u64,
    },
    /// The product is archived, which is final.
    #[error("product archived")]
    ProductArchived,
    /// Nothing by that id.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// A fault of ours (a corrupt row).
    #[error("{0}")]
    Internal(String),
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::CategoryNameTaken => status::already_exists("name", "a category with this name already exists"),
            Error::SkuTaken { field } => status::already_exists(field, "a product with this SKU already exists"),
            Error::CategoryInUse { products } => status::failed_precondition(
                "CATEGORY_NOT_EMPTY",
                format!(
                    "the category still has {products} product{} (archived ones included); move them to another \
                     category first",
                    if products == 1 { "" } else { "s" }
                ),
            ),
            Error::ProductArchived => {
                status::failed_precondition("PRODUCT_ARCHIVED", "the product is archived and can no longer change")
            }
            Error::NotFound(what) => status::not_found(what),
            Error::Invalid(violations) => status::invalid_argument(&violations),
            Error::Database(error) => status::internal(&error),
            Error::Internal(message) => status::internal(&message),
        }
    }
}

mart_platform::invalid_from_violations!(Error);
