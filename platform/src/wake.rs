//! Waking a background loop at once instead of at its next poll: a commit that appended
//! events wakes the outbox relay, a queued email wakes the sender.

use std::sync::Arc;

use tokio::sync::Notify;

/// Wakes the loop it was handed to. Clones wake the same loop; a wake while the loop is
/// busy is kept, so the loop looks again when it is done.
#[derive(Clone, Default, Debug)]
pub struct Waker {
    /// The loop this waker's [`Waker::woken`] waits for.
    own: Arc<Notify>,
    /// Other loops woken with it ([`Waker::and`]).
    also: Vec<Arc<Notify>>,
}

impl Waker {
    /// A waker not yet watched by a loop.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wakes the loop (call after the commit that gave it work).
    pub fn wake(&self) {
        self.own.notify_one();
        for other in &self.also {
            other.notify_one();
        }
    }

    /// Resolves at the next wake (or at once, for a wake that came while nobody waited).
    pub async fn woken(&self) {
        self.own.notified().await;
    }

    /// A waker that wakes this loop and `other`'s too (a commit that gave both work);
    /// waiting on it waits for this loop's wakes.
    #[must_use]
    pub fn and(&self, other: &Waker) -> Waker {
        let mut also = self.also.clone();
        also.push(Arc::clone(&other.own));
        also.extend(other.also.iter().cloned());
        Waker { own: Arc::clone(&self.own), also }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_wake_while_busy_is_kept() {
        let waker = Waker::new();
        waker.clone().wake();
        tokio::time::timeout(Duration::from_secs(1), waker.woken()).await.expect("the early wake was kept");
        let late = tokio::time::timeout(Duration::from_millis(20), waker.woken()).await;
        assert!(late.is_err(), "one wake, one wake-up");
    }

    #[tokio::test]
    async fn a_joined_waker_wakes_both_loops() {
        let (relay, worker) = (Waker::new(), Waker::new());
        relay.and(&worker).wake();
        tokio::time::timeout(Duration::from_secs(1), relay.woken()).await.expect("the relay was woken");
        tokio::time::timeout(Duration::from_secs(1), worker.woken()).await.expect("the worker was woken");
        worker.wake();
        let relay_again = tokio::time::timeout(Duration::from_millis(20), relay.woken()).await;
        assert!(relay_again.is_err(), "waking one loop leaves the other asleep");
    }
}
