//! The paging convention every list RPC shares (`mart.common.v1`, "Paging convention"):
//! how a requested `page_size` becomes a row limit.

use crate::error::FieldViolation;

/// The page size when the request gives none.
pub const DEFAULT_PAGE_SIZE: u64 = 20;

/// The largest page a list RPC returns; larger requests are clamped to it.
pub const MAX_PAGE_SIZE: u64 = 100;

/// The number of items a page holds for a requested `page_size`: 0 means the default (20),
/// anything above 100 is clamped to 100, negative values are a violation of `page_size`.
pub fn page_size(requested: i32) -> Result<u64, FieldViolation> {
    match requested {
        0 => Ok(DEFAULT_PAGE_SIZE),
        n if n < 0 => Err(FieldViolation::new("page_size", "must not be negative")),
        n => Ok((n as u64).min(MAX_PAGE_SIZE)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_convention() {
        assert_eq!(page_size(0), Ok(20));
        assert_eq!(page_size(1), Ok(1));
        assert_eq!(page_size(100), Ok(100));
        assert_eq!(page_size(101), Ok(100));
        assert_eq!(page_size(i32::MAX), Ok(100));
        assert_eq!(page_size(-1).unwrap_err().field, "page_size");
    }
}
