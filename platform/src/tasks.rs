//! A service's background loops — its outbox relay and its event consumers — run as peer
//! tasks of the gRPC server with one shared shutdown: when the server has drained, the
//! consumers finish the event in hand and store its offset, then the relay ships what the
//! last requests wrote. Every service's `serve` follows that order through [`Background`].

use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::{sync::watch, task::JoinHandle};

use crate::{
    bus::{EventBus, Subscription},
    outbox::relay::{Relay, RelayConfig, RelayWaker},
};

/// The background loops of one service.
pub struct Background {
    stop: watch::Sender<bool>,
    stopped: watch::Receiver<bool>,
    /// Consumers stop before the relay, so the events they write still ship.
    consumers: Vec<JoinHandle<()>>,
    relay: Option<JoinHandle<()>>,
}

impl Default for Background {
    fn default() -> Self {
        Self::new()
    }
}

impl Background {
    /// No loops yet.
    pub fn new() -> Self {
        let (stop, stopped) = watch::channel(false);
        Self { stop, stopped, consumers: Vec::new(), relay: None }
    }

    /// Starts the relay of `db`'s outbox to `bus`, woken by the returned waker, keeping sent
    /// rows for `retention`.
    pub fn relay(&mut self, db: DatabaseConnection, bus: EventBus, retention: Duration) -> RelayWaker {
        let waker = RelayWaker::new();
        let config = RelayConfig { retention, ..RelayConfig::default() };
        self.relay = Some(Relay::new(db, bus, waker.clone(), config).spawn(self.stopped.clone()));
        waker
    }

    /// Starts consuming `subscription` from `bus`.
    pub fn consume(&mut self, bus: &EventBus, subscription: Subscription) {
        self.consumers.push(bus.subscribe(subscription, self.stopped.clone()));
    }

    /// Stops the loops in order (consumers, then the relay) and waits for them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
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
