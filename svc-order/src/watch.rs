//! WatchOrder's machinery: a stream of one order, now and after each change, until it
//! reaches a status it cannot leave, its caller goes away, its maximum life ends
//! (`MART_ORDER_WATCH_MAX_LIFE`) or the service stops.
//!
//! Nothing polls per stream. Every stream holds a [`Watch`] of its order in one
//! process-wide hub ([`OrderChanges`], platform's [`Changes`] keyed by order id) and
//! reads the order again only when woken:
//!
//! - by this process's own commits: [`Commands`](crate::commands::Commands) notify the
//!   order after each lifecycle move they commit, and
//!   [`Reactions`](crate::reactions::Reactions) after the bus commits each event's
//!   transaction (its `committed` hook) — so a watcher never reads before the commit;
//! - by [`loops::recheck`](crate::loops::recheck), every `MART_ORDER_WATCH_RECHECK`, which
//!   looks up the `updated_at` of every watched order in a few queries and notifies those
//!   that moved: what another replica committed.
//!
//! A wake that finds the order as it was sent (a spurious or repeated notification) sends
//! nothing. The hub bounds the streams (`MART_ORDER_MAX_WATCHERS` per process,
//! `MART_ORDER_MAX_WATCHERS_PER_USER` per account: RESOURCE_EXHAUSTED beyond), and a
//! dropped stream gives its place back at once, since the place is the [`Watch`] the
//! stream owns.

use std::time::Duration;

use futures::{Stream, stream};
use mart_platform::changes::{Changes, Watch};
use sea_orm::DatabaseConnection;
use tokio::time::Instant;

use crate::{error::Error, store::orders};

/// "Order X changed", keyed by order id.
pub type OrderChanges = Changes<String>;

/// Opens the streams of WatchOrder.
#[derive(Clone)]
pub struct Watching {
    /// Where the streams' watches live.
    changes: OrderChanges,
    /// What they read.
    db: DatabaseConnection,
    /// `MART_ORDER_WATCH_MAX_LIFE`.
    max_life: Duration,
}

impl Watching {
    /// Streams over `db`, woken through `changes`, each ending after `max_life`.
    pub fn new(changes: OrderChanges, db: DatabaseConnection, max_life: Duration) -> Self {
        Self { changes, db, max_life }
    }

    /// Order `id` — only if it belongs to `owner`, when given; else NOT_FOUND, before the
    /// stream starts — as it is now, then each time it changes, for `watcher` (whose
    /// places in the hub it takes). The stream ends after an order in a final status.
    pub async fn open(
        &self,
        id: String,
        owner: Option<&str>,
        watcher: &str,
    ) -> Result<impl Stream<Item = Result<orders::Full, Error>> + Send + 'static, Error> {
        // Opened before the first read: a change committed in between wakes it.
        let watch = self.changes.watch(id.clone(), watcher)?;
        let order = orders::find(&self.db, &id, owner).await?.ok_or(Error::NotFound("order"))?;
        let now = orders::full(&self.db, order).await?.ok_or(Error::NotFound("order"))?;
        let state = OpenStream {
            watch,
            db: self.db.clone(),
            next: Some(now),
            last: None,
            over: false,
            ends_at: Instant::now() + self.max_life,
        };
        Ok(stream::unfold(state, OpenStream::advance))
    }
}

/// Where one stream is.
struct OpenStream {
    /// Its order's watch (and its place in the hub).
    watch: Watch<String>,
    db: DatabaseConnection,
    /// What to send next, once read.
    next: Option<orders::Full>,
    /// What was sent last: a wake that reads the same sends nothing.
    last: Option<orders::Full>,
    /// The last message went out (a final status, or an error).
    over: bool,
    /// The end of its maximum life.
    ends_at: Instant,
}

impl OpenStream {
    /// The next message and the stream after it; `None` ends the stream.
    async fn advance(mut self) -> Option<(Result<orders::Full, Error>, Self)> {
        loop {
            if self.over {
                return None;
            }
            if let Some(order) = self.next.take() {
                match order.order.status() {
                    Ok(status) => self.over = status.is_final(),
                    Err(error) => {
                        self.over = true;
                        return Some((Err(error.into()), self));
                    }
                }
                self.last = Some(order.clone());
                return Some((Ok(order), self));
            }
            tokio::select! {
                changed = self.watch.changed() => if !changed {
                    // The service is stopping: the client watches again, elsewhere.
                    return None;
                },
                () = tokio::time::sleep_until(self.ends_at) => return None,
            }
            match read(&self.db, self.watch.key()).await {
                Ok(Some(order)) if self.last.as_ref() != Some(&order) => self.next = Some(order),
                // Unchanged (orders are never deleted, so `None` cannot happen either).
                Ok(_) => {}
                Err(error) => {
                    self.over = true;
                    return Some((Err(error), self));
                }
            }
        }
    }
}

/// Order `id` with its lines, as stored now.
async fn read(db: &DatabaseConnection, id: &str) -> Result<Option<orders::Full>, Error> {
    let Some(order) = orders::find(db, id, None).await? else { return Ok(None) };
    Ok(orders::full(db, order).await?)
}
