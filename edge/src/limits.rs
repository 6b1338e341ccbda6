//! Protection at the door: token buckets per client IP and per signed-in principal, and a
//! concurrency gate that sheds load instead of queueing without bound.

use std::{
    collections::HashMap,
    hash::{BuildHasher, Hash, RandomState},
    sync::{Arc, Mutex},
    time::Instant,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A sustained rate with a burst allowance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Requests per second, sustained.
    pub per_second: f64,
    /// How many may come at once after a quiet spell.
    pub burst: f64,
}

/// How many shards the bucket maps are split into, so concurrent requests rarely wait on
/// the same lock.
const SHARDS: usize = 16;

/// Buckets beyond this many in a shard trigger a sweep of the full (idle) ones.
const SWEEP_AT: usize = 4096;

/// Token buckets keyed by `K` (an IP address, a user id).
#[derive(Debug)]
pub struct RateLimiter<K> {
    rate: Rate,
    shards: Vec<Mutex<HashMap<K, Bucket>>>,
    hasher: RandomState,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// A limiter allowing `rate` per key.
    pub fn new(rate: Rate) -> Self {
        Self { rate, shards: (0..SHARDS).map(|_| Mutex::default()).collect(), hasher: RandomState::new() }
    }

    /// Takes a token for `key`: `Ok` to go ahead, or `Err(seconds)` to wait before trying again.
    pub fn check(&self, key: &K) -> Result<(), u64> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &K, now: Instant) -> Result<(), u64> {
        let shard = &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS];
        // A poisoned shard only means another request panicked mid-update of plain numbers;
        // the numbers are still usable.
        let mut buckets = shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= SWEEP_AT {
            let rate = self.rate;
            buckets.retain(|_, bucket| refilled(bucket, rate, now) < rate.burst);
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket { tokens: self.rate.burst, updated: now });
        bucket.tokens = refilled(bucket, self.rate, now);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.rate.per_second;
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

fn refilled(bucket: &Bucket, rate: Rate, now: Instant) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
    (bucket.tokens + elapsed * rate.per_second).min(rate.burst)
}

/// At most so many requests in flight; beyond that, refuse at once.
#[derive(Clone, Debug)]
pub struct ConcurrencyGate {
    permits: Arc<Semaphore>,
}

impl ConcurrencyGate {
    /// A gate letting `limit` requests through at a time.
    pub fn new(limit: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(limit.max(1))) }
    }

    /// A permit held for the request's life, or `None` when the edge is full.
    pub fn enter(&self) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_owned().ok()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let limiter = RateLimiter::new(Rate { per_second: 2.0, burst: 3.0 });
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check_at(&"ip", start), Ok(()));
        }
        assert_eq!(limiter.check_at(&"ip", start), Err(1));
        // Another key has its own bucket.
        assert_eq!(limiter.check_at(&"other", start), Ok(()));
        // Half a second later one token has come back.
        assert_eq!(limiter.check_at(&"ip", start + Duration::from_millis(500)), Ok(()));
        assert_eq!(limiter.check_at(&"ip", start + Duration::from_millis(500)), Err(1));
    }

    #[test]
    fn a_slow_rate_says_how_long_to_wait() {
        let limiter = RateLimiter::new(Rate { per_second: 0.1, burst: 1.0 });
        let now = Instant::now();
        assert_eq!(limiter.check_at(&1, now), Ok(()));
        assert_eq!(limiter.check_at(&1, now), Err(10));
    }

    #[test]
    fn the_gate_sheds_beyond_its_limit() {
        let gate = ConcurrencyGate::new(2);
        let first = gate.enter();
        let second = gate.enter();
        assert!(first.is_some() && second.is_some());
        assert!(gate.enter().is_none());
        drop(first);
        assert!(gate.enter().is_some());
    }
}
