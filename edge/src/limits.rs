//! Protection at the door: token buckets per client and per signed-in principal, a
//! concurrency gate that sheds load instead of queueing without bound (and of which one
//! client may hold only a share), and a cap on open connections, in total and per client.

use std::{
    collections::HashMap,
    hash::{BuildHasher, Hash, RandomState},
    sync::{Arc, Mutex},
    time::Instant,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::client::ClientKey;

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

/// In-flight counts per key (a client): how many of something each holds right now.
#[derive(Debug)]
pub struct Counts<K> {
    shards: Vec<Mutex<HashMap<K, usize>>>,
    hasher: RandomState,
}

impl<K: Hash + Eq + Clone + Send + 'static> Counts<K> {
    /// No key holds anything.
    pub fn new() -> Arc<Self> {
        Arc::new(Self { shards: (0..SHARDS).map(|_| Mutex::default()).collect(), hasher: RandomState::new() })
    }

    /// One more for `key`, unless it already holds `limit`; given back when the guard drops.
    pub fn take(self: &Arc<Self>, key: &K, limit: usize) -> Option<Counted<K>> {
        let mut counts = self.shard(key);
        let held = counts.entry(key.clone()).or_insert(0);
        if *held >= limit {
            return None;
        }
        *held += 1;
        Some(Counted { counts: self.clone(), key: key.clone() })
    }

    /// How many `key` holds.
    pub fn held(&self, key: &K) -> usize {
        self.shard(key).get(key).copied().unwrap_or(0)
    }

    fn shard(&self, key: &K) -> std::sync::MutexGuard<'_, HashMap<K, usize>> {
        let shard = &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS];
        // A poisoned shard only means another request panicked mid-update of plain numbers.
        shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One unit a key holds in [`Counts`]; dropping it gives the unit back (and forgets a key
/// that holds nothing, so the map only has the clients active right now).
#[derive(Debug)]
pub struct Counted<K: Hash + Eq + Clone + Send + 'static> {
    counts: Arc<Counts<K>>,
    key: K,
}

impl<K: Hash + Eq + Clone + Send + 'static> Drop for Counted<K> {
    fn drop(&mut self) {
        let mut counts = self.counts.shard(&self.key);
        if let Some(held) = counts.get_mut(&self.key) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// At most so many requests in flight, and at most a share of them from any one client;
/// beyond that, refuse at once.
#[derive(Clone, Debug)]
pub struct ConcurrencyGate {
    permits: Arc<Semaphore>,
    per_client: usize,
    clients: Arc<Counts<ClientKey>>,
}

/// Why the gate refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The edge as a whole is full.
    Full,
    /// This client holds its whole share.
    ClientShare,
}

/// A place in the gate, held for the request's life.
#[derive(Debug)]
pub struct Permit {
    _permit: OwnedSemaphorePermit,
    _client: Option<Counted<ClientKey>>,
}

impl ConcurrencyGate {
    /// A gate letting `limit` requests through at a time, at most `per_client` of them from
    /// one client.
    pub fn new(limit: usize, per_client: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(limit.max(1))), per_client: per_client.max(1), clients: Counts::new() }
    }

    /// A permit for a request from `client` (`None`: unknown, counted in the total only).
    pub fn enter(&self, client: Option<ClientKey>) -> Result<Permit, Refused> {
        // The client's share first: a client at its share must not take (even briefly) one
        // of the permits the others need.
        let counted = match client {
            Some(key) => Some(self.clients.take(&key, self.per_client).ok_or(Refused::ClientShare)?),
            None => None,
        };
        let permit = self.permits.clone().try_acquire_owned().map_err(|_| Refused::Full)?;
        Ok(Permit { _permit: permit, _client: counted })
    }
}

/// At most so many connections open, and at most so many from one client (trusted
/// proxies, which carry many clients, count in the total only).
#[derive(Clone, Debug)]
pub struct ConnectionLimit {
    capacity: usize,
    total: Arc<Semaphore>,
    per_client: usize,
    clients: Arc<Counts<ClientKey>>,
}

/// An open connection's place, given back when it closes.
#[derive(Debug)]
pub struct ConnectionSlot {
    _total: OwnedSemaphorePermit,
    _client: Option<Counted<ClientKey>>,
}

impl ConnectionLimit {
    /// `total` connections, `per_client` from one client.
    pub fn new(total: usize, per_client: usize) -> Self {
        let capacity = total.max(1);
        Self {
            capacity,
            total: Arc::new(Semaphore::new(capacity)),
            per_client: per_client.max(1),
            clients: Counts::new(),
        }
    }

    /// A slot for a new connection from `client` (`None` for a trusted proxy), or `None`
    /// when it must be closed at once.
    pub fn admit(&self, client: Option<ClientKey>) -> Option<ConnectionSlot> {
        let counted = match client {
            Some(key) => Some(self.clients.take(&key, self.per_client)?),
            None => None,
        };
        let total = self.total.clone().try_acquire_owned().ok()?;
        Some(ConnectionSlot { _total: total, _client: counted })
    }

    /// How many connections are open.
    pub fn open(&self) -> usize {
        self.capacity.saturating_sub(self.total.available_permits())
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
        let gate = ConcurrencyGate::new(2, 2);
        let first = gate.enter(None);
        let second = gate.enter(None);
        assert!(first.is_ok() && second.is_ok());
        assert_eq!(gate.enter(None).unwrap_err(), Refused::Full);
        drop(first);
        assert!(gate.enter(None).is_ok());
    }

    #[test]
    fn one_client_holds_only_its_share_of_the_gate() {
        let gate = ConcurrencyGate::new(4, 2);
        let greedy_key = ClientKey::of("192.0.2.1".parse().unwrap());
        let (greedy, other) = (Some(greedy_key), Some(ClientKey::of("192.0.2.2".parse().unwrap())));
        let held: Vec<_> = (0..2).map(|_| gate.enter(greedy).unwrap()).collect();
        assert_eq!(gate.enter(greedy).unwrap_err(), Refused::ClientShare);
        let theirs = gate.enter(other).unwrap();
        drop(held);
        assert!(gate.enter(greedy).is_ok());
        drop(theirs);
        // Keys that hold nothing are forgotten.
        assert_eq!(gate.clients.held(&greedy_key), 0);
        assert!(gate.clients.shards.iter().all(|shard| shard.lock().unwrap().is_empty()));
    }

    #[test]
    fn connections_are_capped_per_client_and_in_total() {
        let limit = ConnectionLimit::new(3, 2);
        let client = Some(ClientKey::of("192.0.2.1".parse().unwrap()));
        let first = limit.admit(client).unwrap();
        let _second = limit.admit(client).unwrap();
        assert!(limit.admit(client).is_none());
        // A trusted proxy counts in the total only.
        let _proxy = limit.admit(None).unwrap();
        assert!(limit.admit(None).is_none());
        assert_eq!(limit.open(), 3);
        drop(first);
        assert!(limit.admit(client).is_some());
    }
}
