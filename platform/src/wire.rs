//! Conversions between the values services store and the wire types every proto shares.

use chrono::{DateTime, Utc};

/// A stored instant as a `google.protobuf.Timestamp`.
pub fn timestamp(at: &DateTime<Utc>) -> prost_types::Timestamp {
    // Sub-second nanos of a chrono instant are below 2e9 and fit an i32.
    prost_types::Timestamp { seconds: at.timestamp(), nanos: at.timestamp_subsec_nanos() as i32 }
}

/// A `google.protobuf.Timestamp` another service sent, as an instant; `None` for one
/// outside what an instant can be (negative nanos, beyond the year 262143).
pub fn datetime(at: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(at.nanos).ok()?;
    DateTime::from_timestamp(at.seconds, nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_round_trip() {
        let at = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(datetime(&timestamp(&at)), Some(at));
        assert_eq!(datetime(&prost_types::Timestamp { seconds: 1, nanos: -1 }), None);
        assert_eq!(datetime(&prost_types::Timestamp { seconds: i64::MAX, nanos: 0 }), None);
    }
}
