//! A service's background loops — its outbox relay, its event consumers and its own loops
//! (expiry sweeps, senders) — run as peer tasks of the gRPC server with one shared
//! shutdown, stopped in order: when the server has drained, the service's own loops finish
//! their round, then the consumers finish the event in hand and store its offset, then the
//! relay ships what all of them wrote. Every service's `serve` follows that order through
//! [`Background`]:
//!
//! ```text
//! let mut background = Background::new(Service::Order);
//! let relay = background.relay(db.clone(), bus.clone(), retention);
//! background.react(&bus, &config.events, db.clone(), reactions::GROUP, &reactions::TOPICS, handler);
//! background.every("order.expiry", Every::new(INTERVAL), move |_stop| sweep(db.clone(), relay.clone()));
//! server.serve_then_stop(listener, shutdown, background).await // drains, then stops the loops
//! ```

use std::{fmt::Display, future::Future, sync::Arc, time::Duration};

use sea_orm::DatabaseConnection;
use tokio::{sync::watch, task::JoinHandle};

use crate::{
    bus::{EventBus, Handler, RetryPolicy, Subscription},
    config::{EventsConfig, Service},
    metrics::{self, BusMetrics, ConsumerLagProbe, DatabaseProbe, ProbeGuard},
    outbox::relay::{Relay, RelayConfig},
    wake::Waker,
};

/// How often retained rows (inbox, embedded log) are pruned.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// What a running loop is told of the shutdown.
#[derive(Clone, Debug)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// Whether the service is stopping: a loop in the middle of a batch finishes the item
    /// in hand and returns.
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves when the service stops.
    pub async fn stopped(&mut self) {
        let _ = self.0.wait_for(|stopped| *stopped).await;
    }
}

/// When a service's own loop runs a round: after each `interval`, at once when `waker` is
/// woken, and again right away after a round that says more work is waiting.
#[derive(Clone, Debug)]
pub struct Every {
    /// The longest wait between two rounds.
    pub interval: Duration,
    /// Wakes the loop before its interval is up (work was just queued).
    pub waker: Option<Waker>,
}

impl Every {
    /// A round every `interval`.
    pub fn new(interval: Duration) -> Self {
        Self { interval, waker: None }
    }

    /// A round every `interval`, or when `waker` is woken.
    pub fn or_when_woken(interval: Duration, waker: Waker) -> Self {
        Self { interval, waker: Some(waker) }
    }
}

/// What one round of a loop found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// Wait for the next interval or wake.
    Idle,
    /// A full batch: run the next round at once.
    More,
}

/// The background loops of one service.
pub struct Background {
    /// Whose loops: their spans and metrics carry this name.
    service: &'static str,
    /// What `/metrics` samples of these loops while they run.
    probes: Vec<ProbeGuard>,
    stop: watch::Sender<bool>,
    stopped: watch::Receiver<bool>,
    /// The service's own loops stop first: what they write is relayed.
    loops: Vec<JoinHandle<()>>,
    /// Consumers stop before the relay, so the events they write still ship.
    consumers: Vec<JoinHandle<()>>,
    relay: Option<JoinHandle<()>>,
    /// What reactions wake after each event they handle: the relay's waker, once started,
    /// and any loop added by [`Background::wake_after_reactions`].
    relay_waker: Option<Waker>,
    /// The first task that ended before the stop (a panic, or a loop that gave up): the
    /// server reports NOT_SERVING from then on.
    dead: watch::Sender<Option<String>>,
}

impl Background {
    /// No loops yet, for `service`.
    pub fn new(service: Service) -> Self {
        let (stop, stopped) = watch::channel(false);
        Self {
            service: service.process_name(),
            probes: Vec::new(),
            stop,
            stopped,
            loops: Vec::new(),
            consumers: Vec::new(),
            relay: None,
            relay_waker: None,
            dead: watch::channel(None).0,
        }
    }

    /// Starts the relay of `db`'s outbox to `bus`, woken by the returned waker, keeping sent
    /// rows for `retention`. `/metrics` shows the outbox backlog and the pool of `db`.
    pub fn relay(&mut self, db: DatabaseConnection, bus: EventBus, retention: Duration) -> Waker {
        let waker = Waker::new();
        let config = RelayConfig {
            retention,
            service: Some(self.service),
            metrics: Some(Arc::new(BusMetrics { service: self.service })),
            ..RelayConfig::default()
        };
        let probe = DatabaseProbe { service: self.service, db: db.clone() };
        self.probes.push(metrics::register(format!("db/{}", self.service), Arc::new(probe)));
        let relay = Relay::new(db, bus, waker.clone(), config).spawn(self.stopped.clone());
        self.relay = Some(self.supervised("outbox relay".to_owned(), relay));
        self.relay_waker = Some(waker.clone());
        waker
    }

    /// Starts consuming `subscription` from `bus`. `/metrics` shows the group's lag, its
    /// database's pool, and what it handled unless the subscription reports elsewhere.
    pub fn consume(&mut self, bus: &EventBus, mut subscription: Subscription) {
        subscription.metrics.get_or_insert_with(|| Arc::new(BusMetrics { service: self.service }));
        let probe = ConsumerLagProbe {
            service: self.service,
            bus: bus.clone(),
            group: subscription.group.clone(),
            topics: subscription.topics.clone(),
        };
        self.probes.push(metrics::register(format!("lag/{}/{}", self.service, subscription.group), Arc::new(probe)));
        // The same database as the relay's, for a service that has one: the same key.
        let database = DatabaseProbe { service: self.service, db: subscription.db.clone() };
        self.probes.push(metrics::register(format!("db/{}", self.service), Arc::new(database)));
        let task = format!("consumer {}", subscription.group);
        let consumer = bus.subscribe_as(Some(self.service), subscription, self.stopped.clone());
        let supervised = self.supervised(task, consumer);
        self.consumers.push(supervised);
    }

    /// Also wakes `waker`'s loop after each event a reaction handled: for a loop that works what reactions queue, such as provider calls made after
    /// the commit. Call before [`Background::react`].
    pub fn wake_after_reactions(&mut self, waker: &Waker) {
        self.relay_waker = Some(match &self.relay_waker {
            Some(relay) => relay.and(waker),
            None => waker.clone(),
        });
    }

    /// Starts the service's reactions: `handler` receives every event of `topics` from
    /// `bus` as consumer group `group`, each in a transaction on `db` with its inbox row,
    /// retried after a transient failure for `events.retry_window` (at most
    /// `events.max_attempts` times, if set) before it goes to the DLQ; a permanent
    /// failure goes there at once. The relay, if started
    /// before, is woken after each event, since reactions write events too. The inbox (and
    /// the embedded log) are pruned of what is older than `events.event_retention`.
    pub fn react(
        &mut self,
        bus: &EventBus,
        events: &EventsConfig,
        db: DatabaseConnection,
        group: &str,
        topics: &[&str],
        handler: impl Handler,
    ) {
        // What the reactions remember (the inbox), and the embedded log they read, are
        // kept for the event retention and no longer.
        let (inbox, retention) = (db.clone(), events.event_retention);
        self.every("inbox.prune", Every::new(PRUNE_INTERVAL), move |_| {
            let inbox = inbox.clone();
            async move { crate::bus::inbox::prune(&inbox, retention).await.map(|_| Round::Idle) }
        });
        if let EventBus::Embedded(log) = bus {
            let log = log.clone();
            self.every("event-log.prune", Every::new(PRUNE_INTERVAL), move |_| {
                let log = log.clone();
                async move { log.prune(retention).await.map(|_| Round::Idle) }
            });
        }
        let subscription = Subscription {
            group: group.to_owned(),
            topics: topics.iter().map(|topic| (*topic).to_owned()).collect(),
            db,
            handler: Arc::new(handler),
            retry: RetryPolicy::within(events.max_attempts, events.retry_window),
            metrics: None,
            wake_relay: self.relay_waker.clone(),
        };
        self.consume(bus, subscription);
    }

    /// Starts the service's own loop `name`, running `round` as `every` says until the
    /// service stops. A failed round is logged and tried again at the next interval.
    pub fn every<F, Fut, E>(&mut self, name: &'static str, every: Every, mut round: F)
    where
        F: FnMut(Stop) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Round, E>> + Send,
        E: Display,
    {
        let mut stop = Stop(self.stopped.clone());
        let task = tokio::spawn(async move {
            loop {
                if stop.is_stopped() {
                    return;
                }
                match round(stop.clone()).await {
                    Ok(Round::More) => continue,
                    Ok(Round::Idle) => {}
                    Err(error) => tracing::warn!(%error, task = name, "a background round failed; trying again"),
                }
                let woken = async {
                    match &every.waker {
                        Some(waker) => waker.woken().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = woken => {}
                    () = tokio::time::sleep(every.interval) => {}
                    () = stop.stopped() => return,
                }
            }
        });
        let supervised = self.supervised(name.to_owned(), task);
        self.loops.push(supervised);
    }

    /// What tells of a task that died before the stop: `None` while all run, then the
    /// first one's name. [`GrpcServer::serve_then_stop`](crate::server::GrpcServer) turns
    /// it into NOT_SERVING, so health checks and the edge's `/readyz` see it.
    pub fn dead(&self) -> watch::Receiver<Option<String>> {
        self.dead.subscribe()
    }

    /// `task`, watched: if it panics, or ends while the service is not stopping, that is
    /// logged, counted (`mart_background_task_failures_total`) and reported as [`Self::dead`].
    fn supervised(&self, name: String, task: JoinHandle<()>) -> JoinHandle<()> {
        let (service, stopped, dead) = (self.service, self.stopped.clone(), self.dead.clone());
        tokio::spawn(async move {
            let why = match task.await {
                Ok(()) if *stopped.borrow() => return,
                Ok(()) => "ended before the service stopped".to_owned(),
                Err(error) if error.is_panic() => "panicked".to_owned(),
                Err(error) => error.to_string(),
            };
            tracing::error!(service, task = %name, why, "a background task died: the service reports NOT_SERVING");
            metrics::task_failed(service, &name);
            dead.send_if_modified(|first| {
                let unset = first.is_none();
                if unset {
                    *first = Some(name);
                }
                unset
            });
        })
    }

    /// Stops the loops in order (the service's own, consumers, then the relay) and waits
    /// for them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.loops {
            if let Err(error) = task.await {
                tracing::error!(%error, "a background loop failed");
            }
        }
        for consumer in self.consumers {
            if let Err(error) = consumer.await {
                tracing::error!(%error, "an event consumer task failed");
            }
        }
        if let Some(relay) = self.relay
            && let Err(error) = relay.await
        {
            tracing::error!(%error, "the outbox relay task failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn loops_run_on_wake_and_at_once_after_a_full_batch_and_stop_first() {
        let mut background = Background::new(Service::Notify);
        let waker = Waker::new();
        let rounds = Arc::new(AtomicU32::new(0));
        let counted = rounds.clone();
        // A long interval: only wakes and full batches make rounds.
        background.every("test.loop", Every::or_when_woken(Duration::from_secs(3600), waker.clone()), move |_| {
            let counted = counted.clone();
            async move {
                let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
                // The first three rounds find a full batch; a failing round is retried later.
                match n {
                    1..=2 => Ok(Round::More),
                    3 => Err("the database went away"),
                    _ => Ok(Round::Idle),
                }
            }
        });
        let eventually = |want: u32| {
            let rounds = rounds.clone();
            async move {
                for _ in 0..200 {
                    if rounds.load(Ordering::SeqCst) >= want {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                panic!("expected {want} rounds, saw {}", rounds.load(Ordering::SeqCst));
            }
        };
        eventually(3).await;
        waker.wake();
        eventually(4).await;
        waker.wake();
        eventually(5).await;
        tokio::time::timeout(Duration::from_secs(5), background.stop()).await.expect("the loop stopped");
        assert_eq!(rounds.load(Ordering::SeqCst), 5, "no round after the stop");
    }
}
