//! Waking a background loop at once instead of at its next poll: a commit that appended
//! events wakes the outbox relay, a queued email wakes the sender.

use std::sync::Arc;

use tokio::sync::Notify;

/// Wakes the loop it was handed to. Clones wake the same loop; a wake while the loop is
/// busy is kept, so the loop looks again when it is done.
#[derive(Clone, Default, Debug)]
pub struct Waker(Arc<Notify>);

impl Waker {
    /// A waker not yet watched by a loop.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wakes the loop (call after the commit that gave it work).
    pub fn wake(&self) {
        self.0.notify_one();
    }

    /// Resolves at the next wake (or at once, for a wake that came while nobody waited).
    pub async fn woken(&self) {
        self.0.notified().await;
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
}
