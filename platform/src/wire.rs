//! Conversions between the values services store and the wire types every proto shares.

use chrono::{DateTime, Utc};

/// A stored instant as a `google.protobuf.Timestamp`.
pub fn timestamp(at: &DateTime<Utc>) -> prost_types::Timestamp {
    // Sub-second nanos of a chrono instant are below 2e9 and fit an i32.
    prost_types::Timestamp { seconds: at.timestamp(), nanos: at.timestamp_subsec_nanos() as i32 }
}

/// A `google.protobuf.Timestamp` a client or another service sent, as an instant; `None`
/// for one that is not a valid time (see [`instant`]).
pub fn datetime(at: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    instant(at.seconds, at.nanos)
}

/// Seconds and nanoseconds since the Unix epoch (a Timestamp's fields) as an instant;
/// `None` unless the nanoseconds are within a second (0..1e9) and the moment is one
/// chrono can hold (before the year 262143).
pub fn instant(seconds: i64, nanos: i32) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(nanos).ok().filter(|nanos| *nanos < 1_000_000_000)?;
    DateTime::from_timestamp(seconds, nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_round_trip() {
        let at = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(datetime(&timestamp(&at)), Some(at));
        assert_eq!(datetime(&prost_types::Timestamp { seconds: 1, nanos: -1 }), None);
        assert_eq!(instant(1, 1_000_000_000), None, "a leap second is not a Timestamp");
        assert_eq!(datetime(&prost_types::Timestamp { seconds: i64::MAX, nanos: 0 }), None);
    }
}
