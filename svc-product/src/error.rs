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
    /// Another product or variant has this SKU; `field` is where the request carried it.
    #[error("sku taken")]
    SkuTaken {
        /// `sku`, `product.sku`, `variants[2].sku`, `variant.sku`.
        field: String,
    },
    /// Another variant of the product has these option values.
    #[error("combination taken")]
    CombinationTaken {
        /// Where the request carried them.
        field: String,
    },
    /// The variant is archived, which is final.
    #[error("variant archived")]
    VariantArchived,
    /// The product has no options, so no variants beside its default one.
    #[error("product has no options")]
    NoOptions,
    /// A product may have only so many of something.
    #[error("too many {what}")]
    TooMany {
        /// `images` or `variants`.
        what: &'static str,
        /// The limit.
        limit: usize,
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
    /// An upload larger than `MART_MEDIA_MAX_BYTES`.
    #[error("media of {size} bytes, over the limit of {limit}")]
    MediaTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The media store failed (a bucket unreachable, a disk full).
    #[error("media store: {0}")]
    MediaStore(String),
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
            Error::SkuTaken { field } => {
                status::already_exists(&field, "a product or variant with this SKU already exists")
            }
            Error::CombinationTaken { field } => {
                status::already_exists(&field, "the product already has a variant with these option values")
            }
            Error::VariantArchived => {
                status::failed_precondition("VARIANT_ARCHIVED", "the variant is archived and can no longer change")
            }
            Error::NoOptions => status::failed_precondition(
                "PRODUCT_HAS_NO_OPTIONS",
                "the product has no options, so it has one variant only; create a product with options to sell several",
            ),
            Error::TooMany { what, limit } => status::failed_precondition(
                if what == "images" { "TOO_MANY_IMAGES" } else { "TOO_MANY_VARIANTS" },
                format!("a product has at most {limit} {what}"),
            ),
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
            Error::MediaTooLarge { size, limit } => status::too_large(
                "body",
                format!(
                    "the image is {size} bytes, larger than the media limit of {limit} bytes (MART_MEDIA_MAX_BYTES)"
                ),
            ),
            Error::MediaStore(cause) => {
                tracing::warn!(error = %cause, "media store failed");
                status::unavailable("MEDIA_STORE_UNAVAILABLE", "the media store is unavailable: try again shortly")
            }
            Error::NotFound(what) => status::not_found(what),
            Error::Invalid(violations) => status::invalid_argument(&violations),
            Error::Database(error) => status::internal(&error),
            Error::Internal(message) => status::internal(&message),
        }
    }
}

mart_platform::invalid_from_violations!(Error);
