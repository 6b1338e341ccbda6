//! Exponential backoff, the one way every retry in the shop waits: the relay after a failed
//! round, a consumer before handling an event again, the email sender before the next
//! attempt, the edge before re-asking an unavailable service.

use std::time::Duration;

/// Waits that double after each failure, from `initial` up to `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Backoff {
    /// Waits of `initial`, twice that, … up to `max`.
    pub const fn new(initial: Duration, max: Duration) -> Self {
        Self { initial, max }
    }

    /// The wait after failure number `failures` (1-based; 0 waits like 1).
    pub fn after(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.initial.saturating_mul(2u32.saturating_pow(doublings)).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        let waits: Vec<_> = (1..=9).map(|n| backoff.after(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
        assert_eq!(backoff.after(0), Duration::from_millis(100));
        assert_eq!(backoff.after(u32::MAX), Duration::from_secs(10), "no overflow");
        let slow = Backoff::new(Duration::from_secs(3600), Duration::MAX);
        assert_eq!(slow.after(40), Duration::from_secs(3600).saturating_mul(u32::MAX / 2 + 1), "saturates");
    }
}
