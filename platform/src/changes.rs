//! Telling whoever watches a thing that it changed: a process-wide hub of "key K changed"
//! notifications, with a bound on how many watchers it holds, in all and per owner.
//!
//! A service that streams a resource as it changes (svc-order's WatchOrder) opens one
//! [`Watch`] per stream with [`Changes::watch`], and calls [`Changes::notify`] after each
//! commit that changed a key — after, not inside the transaction: a watcher woken before
//! the commit would read the old row and miss the change. Notifications carry no data:
//! the watcher reads the resource again. So they coalesce (a burst of changes costs a slow
//! watcher one read), one that comes for a change already seen costs one read that finds
//! nothing new, and nothing is queued per watcher. A notification reaches only the
//! watchers of its key: a map lookup, not a broadcast that every watcher filters.
//!
//! The hub knows only its own process. What another replica commits is found by a slow
//! re-read: [`Changes::keys`] lists the keys watched here, so one loop can look them all
//! up in a few queries and notify those that moved. [`Changes::close`] (at shutdown) ends
//! every watch, so long-lived streams do not hold the server's drain open.

use std::{
    borrow::Borrow,
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use tokio::sync::watch;

/// How many watches a hub holds at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// In all, in this process: what the process can afford to keep open.
    pub total: usize,
    /// Per owner (a user id): so that one caller cannot take every place.
    pub per_owner: usize,
}

/// Why [`Changes::watch`] refused a watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Full {
    /// The process holds [`Limits::total`] watches, the number given.
    #[error("{0} watches are open in this process, the most allowed")]
    Process(usize),
    /// The owner holds [`Limits::per_owner`] watches, the number given.
    #[error("{0} watches are open for this owner, the most allowed")]
    Owner(usize),
}

/// The hub. Clones share it.
pub struct Changes<K> {
    inner: Arc<Inner<K>>,
}

impl<K> Clone for Changes<K> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }
}

impl<K> std::fmt::Debug for Changes<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Changes").field("limits", &self.inner.limits).finish_non_exhaustive()
    }
}

struct Inner<K> {
    limits: Limits,
    /// Who watches what. Held only for map updates, never across an await.
    state: Mutex<State<K>>,
    /// `true` once [`Changes::close`] was called.
    closed: watch::Sender<bool>,
}

struct State<K> {
    /// The keys watched, each with the watchers' channel.
    keys: HashMap<K, Watched>,
    /// Watches open per owner; owners with none are removed.
    owners: HashMap<String, usize>,
    /// Watches open in all.
    total: usize,
}

/// One watched key.
struct Watched {
    /// Bumped by every notification; each watch of the key holds a receiver.
    version: watch::Sender<u64>,
    /// How many watches the key has: it leaves the map with its last one.
    watches: usize,
}

impl<K> Inner<K> {
    fn state(&self) -> MutexGuard<'_, State<K>> {
        // Nothing panics while the lock is held (plain map updates), so a poisoned lock
        // still guards a consistent state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K: Clone + Eq + Hash> Changes<K> {
    /// An empty hub holding at most `limits` watches.
    pub fn new(limits: Limits) -> Self {
        let state = State { keys: HashMap::new(), owners: HashMap::new(), total: 0 };
        Self { inner: Arc::new(Inner { limits, state: Mutex::new(state), closed: watch::Sender::new(false) }) }
    }

    /// A watch of `key` for `owner`, counted against both [`Limits`] until it is dropped.
    /// Open it before the first read of what it watches, so that a change committed in
    /// between is not missed.
    pub fn watch(&self, key: K, owner: &str) -> Result<Watch<K>, Full> {
        let limits = self.inner.limits;
        let mut state = self.inner.state();
        // The owner's own bound first: when both are reached, that is what they can act on.
        let owned = state.owners.get(owner).copied().unwrap_or(0);
        if owned >= limits.per_owner {
            return Err(Full::Owner(limits.per_owner));
        }
        if state.total >= limits.total {
            return Err(Full::Process(limits.total));
        }
        state.total += 1;
        state.owners.insert(owner.to_owned(), owned + 1);
        let watched =
            state.keys.entry(key.clone()).or_insert_with(|| Watched { version: watch::Sender::new(0), watches: 0 });
        watched.watches += 1;
        let version = watched.version.subscribe();
        drop(state);
        Ok(Watch {
            hub: Arc::clone(&self.inner),
            key,
            owner: owner.to_owned(),
            version,
            closed: self.inner.closed.subscribe(),
        })
    }

    /// Tells the watches of `key` that it changed (call after the commit). Nothing
    /// happens if nobody watches it.
    pub fn notify<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(watched) = self.inner.state().keys.get(key) {
            watched.version.send_modify(|version| *version = version.wrapping_add(1));
        }
    }

    /// The keys watched now, each once: what a re-read looks up.
    pub fn keys(&self) -> Vec<K> {
        self.inner.state().keys.keys().cloned().collect()
    }

    /// How many watches are open.
    pub fn watches(&self) -> usize {
        self.inner.state().total
    }

    /// Ends every watch, open or still to be opened: their [`Watch::changed`] returns
    /// `false`. For shutdown.
    pub fn close(&self) {
        self.inner.closed.send_replace(true);
    }
}

/// One watcher's view of one key; its place in the hub is given back when it is dropped.
pub struct Watch<K: Clone + Eq + Hash> {
    hub: Arc<Inner<K>>,
    key: K,
    owner: String,
    version: watch::Receiver<u64>,
    closed: watch::Receiver<bool>,
}

impl<K: Clone + Eq + Hash> std::fmt::Debug for Watch<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch").field("owner", &self.owner).finish_non_exhaustive()
    }
}

impl<K: Clone + Eq + Hash> Watch<K> {
    /// The key watched.
    pub fn key(&self) -> &K {
        &self.key
    }

    /// Waits until the key is notified — at once if it was since the watch was opened or
    /// last woke (many notifications in between wake it once). `false` when the hub was
    /// closed: the watch is over.
    pub async fn changed(&mut self) -> bool {
        if *self.closed.borrow() {
            return false;
        }
        tokio::select! {
            biased;
            // An error: the hub is gone, which ends the watch too.
            _ = self.closed.wait_for(|closed| *closed) => false,
            // The sender lives in the hub while this watch does.
            changed = self.version.changed() => changed.is_ok(),
        }
    }
}

impl<K: Clone + Eq + Hash> Drop for Watch<K> {
    fn drop(&mut self) {
        let mut state = self.hub.state();
        state.total = state.total.saturating_sub(1);
        if let Some(owned) = state.owners.get_mut(&self.owner) {
            *owned = owned.saturating_sub(1);
            if *owned == 0 {
                state.owners.remove(&self.owner);
            }
        }
        if let Some(watched) = state.keys.get_mut(&self.key) {
            watched.watches = watched.watches.saturating_sub(1);
            if watched.watches == 0 {
                state.keys.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const ROOMY: Limits = Limits { total: 100, per_owner: 100 };

    async fn wakes(watch: &mut Watch<String>) -> bool {
        tokio::time::timeout(Duration::from_millis(50), watch.changed()).await.unwrap_or(false)
    }

    #[tokio::test]
    async fn a_notification_wakes_the_watches_of_its_key_only_and_coalesces() {
        let hub = Changes::new(ROOMY);
        let (mut a1, mut a2, mut b) = (
            hub.watch("a".to_owned(), "ada").unwrap(),
            hub.watch("a".into(), "bob").unwrap(),
            hub.watch("b".into(), "ada").unwrap(),
        );
        assert!(!wakes(&mut a1).await, "nothing changed yet");
        hub.notify("a");
        hub.notify("a");
        assert!(wakes(&mut a1).await && wakes(&mut a2).await, "both watches of a");
        assert!(!wakes(&mut a1).await, "two notifications while busy wake it once");
        assert!(!wakes(&mut b).await, "b was not touched");
        hub.notify("nobody-watches-this");
        let mut keys = hub.keys();
        keys.sort();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(a1.key(), "a");
    }

    #[tokio::test]
    async fn limits_hold_and_a_dropped_watch_gives_its_place_back() {
        let hub = Changes::new(Limits { total: 3, per_owner: 2 });
        let first = hub.watch("x".to_owned(), "ada").unwrap();
        let _second = hub.watch("y".to_owned(), "ada").unwrap();
        assert_eq!(hub.watch("z".to_owned(), "ada").unwrap_err(), Full::Owner(2));
        let _bob = hub.watch("z".to_owned(), "bob").unwrap();
        assert_eq!(hub.watch("z".to_owned(), "cy").unwrap_err(), Full::Process(3));
        assert_eq!(hub.watches(), 3);
        drop(first);
        assert_eq!(hub.watches(), 2);
        assert!(!hub.keys().contains(&"x".to_owned()), "an unwatched key leaves the map");
        hub.watch("z".to_owned(), "ada").expect("ada's place came back");
    }

    #[tokio::test]
    async fn closing_ends_every_watch() {
        let hub = Changes::new(ROOMY);
        let mut watch = hub.watch("a".to_owned(), "ada").unwrap();
        let waiting = tokio::spawn(async move { watch.changed().await });
        tokio::task::yield_now().await;
        hub.close();
        let woke = tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("the watch ended").unwrap();
        assert!(!woke, "closed, not changed");
        let mut late = hub.watch("a".to_owned(), "ada").unwrap();
        assert!(!late.changed().await, "a watch opened after the close is over at once");
    }
}
