//! Failed-login throttling. After [`ACCOUNT_FREE`] failures for one email (whether or not
//! it has an account, so the answer tells nothing about which do) or [`ADDRESS_FREE`] from
//! one client address, each further failure closes the door for twice as long as the last,
//! up to [`LONGEST`]; while it is closed, attempts are refused before any password is
//! hashed. A success clears the email's record; a record is forgotten [`FORGET_AFTER`]
//! after its last failure.
//!
//! Kept in memory, per replica: a restart forgets, and N replicas allow N times as many
//! guesses. That bounds guessing at N × a few per hour per account, which is what it is for.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use mart_platform::rpc::client_key;

use crate::error::Error;

/// Failures allowed for one email before it waits.
pub const ACCOUNT_FREE: u32 = 5;
/// Failures allowed from one client address before it waits (many people may share one).
pub const ADDRESS_FREE: u32 = 50;
/// The longest wait.
pub const LONGEST: Duration = Duration::from_secs(15 * 60);
/// How long a record is kept after its last failure.
pub const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Records per book beyond which stale ones are swept before a new one is added.
const SWEEP_AT: usize = 100_000;

/// Failed logins by email and by client address.
#[derive(Debug)]
pub struct LoginThrottle {
    accounts: Book,
    addresses: Book,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self { accounts: Book::new(ACCOUNT_FREE), addresses: Book::new(ADDRESS_FREE) }
    }
}

impl LoginThrottle {
    /// Whether a login for `email` from `client` may be tried now, else
    /// [`Error::Throttled`] with the wait.
    pub fn check(&self, email: &str, client: Option<IpAddr>) -> Result<(), Error> {
        let now = Instant::now();
        let waits = [self.accounts.wait(email, now), client.and_then(|ip| self.addresses.wait(&client_key(ip), now))];
        match waits.into_iter().flatten().max() {
            Some(retry_after) => Err(Error::Throttled { retry_after: retry_after.max(Duration::from_secs(1)) }),
            None => Ok(()),
        }
    }

    /// Records a failed login for `email` from `client`.
    pub fn failed(&self, email: &str, client: Option<IpAddr>) {
        let now = Instant::now();
        self.accounts.failed(email, now);
        if let Some(ip) = client {
            self.addresses.failed(&client_key(ip), now);
        }
    }

    /// Clears `email`'s failures after a successful login.
    pub fn succeeded(&self, email: &str) {
        self.accounts.lock().remove(email);
    }
}

/// Failures by key.
#[derive(Debug)]
struct Book {
    free: u32,
    records: Mutex<HashMap<String, Record>>,
}

#[derive(Clone, Copy, Debug)]
struct Record {
    failures: u32,
    last: Instant,
    closed_until: Instant,
}

impl Book {
    fn new(free: u32) -> Self {
        Self { free, records: Mutex::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Record>> {
        // A poisoned lock only means a panic mid-update of plain numbers; they are usable.
        self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn wait(&self, key: &str, now: Instant) -> Option<Duration> {
        let records = self.lock();
        let record = records.get(key)?;
        (record.closed_until > now).then(|| record.closed_until - now)
    }

    fn failed(&self, key: &str, now: Instant) {
        let mut records = self.lock();
        if records.len() >= SWEEP_AT && !records.contains_key(key) {
            records.retain(|_, record| now.duration_since(record.last) < FORGET_AFTER);
        }
        let record = records.entry(key.to_owned()).or_insert(Record { failures: 0, last: now, closed_until: now });
        if now.duration_since(record.last) >= FORGET_AFTER {
            record.failures = 0;
        }
        record.failures = record.failures.saturating_add(1);
        record.last = now;
        if record.failures > self.free {
            let doublings = (record.failures - self.free - 1).min(20);
            let wait = Duration::from_secs(1 << doublings).min(LONGEST);
            record.closed_until = now + wait;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_waits_after_its_free_failures_twice_as_long_each_time() {
        let throttle = LoginThrottle::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..ACCOUNT_FREE {
            assert!(throttle.check("a@example.com", Some(ip)).is_ok());
            throttle.failed("a@example.com", Some(ip));
        }
        assert!(throttle.check("a@example.com", Some(ip)).is_ok(), "the free failures do not close the door");
        throttle.failed("a@example.com", Some(ip));
        let Err(Error::Throttled { retry_after: first }) = throttle.check("a@example.com", Some(ip)) else {
            panic!("the sixth failure closes the door")
        };
        throttle.failed("a@example.com", Some(ip));
        let Err(Error::Throttled { retry_after: second }) = throttle.check("a@example.com", None) else {
            panic!("still closed")
        };
        assert!(second > first, "{second:?} > {first:?}");
        assert!(throttle.check("b@example.com", Some(ip)).is_ok(), "another email from the same address");
        throttle.succeeded("a@example.com");
        assert!(throttle.check("a@example.com", Some(ip)).is_ok(), "a success clears the email");
    }

    #[test]
    fn an_address_waits_after_many_failures_across_emails() {
        let throttle = LoginThrottle::default();
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        for n in 0..=ADDRESS_FREE {
            throttle.failed(&format!("user{n}@example.com"), Some(ip));
        }
        assert!(matches!(throttle.check("new@example.com", Some(ip)), Err(Error::Throttled { .. })));
        assert!(throttle.check("new@example.com", Some("2001:db8::ffff:2".parse().unwrap())).is_err(), "the same /64");
        assert!(throttle.check("new@example.com", Some("2001:db8:0:1::1".parse().unwrap())).is_ok(), "another /64");
    }

    #[test]
    fn the_wait_is_capped() {
        let book = Book::new(0);
        let now = Instant::now();
        for _ in 0..100 {
            book.failed("k", now);
        }
        assert_eq!(book.wait("k", now), Some(LONGEST));
    }
}
