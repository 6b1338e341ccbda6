//! Conversions between the values services store and the wire types every proto shares.

use chrono::{DateTime, Utc};

/// A stored instant as a `google.protobuf.Timestamp`.
pub fn timestamp(at: &DateTime<Utc>) -> prost_types::Timestamp {
    // Sub-second nanos of a chrono instant are below 2e9 and fit an i32.
    prost_types::Timestamp { seconds: at.timestamp(), nanos: at.timestamp_subsec_nanos() as i32 }
}
