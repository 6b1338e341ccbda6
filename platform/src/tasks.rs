//! A service's background loops — its outbox relay and its event consumers — run as peer
//! tasks of the gRPC server with one shared shutdown: when the server has drained, the
//! consumers finish the event in hand and store its offset, then the relay ships what the
//! last requests wrote. Every service's `serve` follows that order through [`Background`].

use std::{sync::Arc, time::Duration};

use sea_orm::DatabaseConnection;
use tokio::{sync::watch, task::JoinHandle};

use crate::{
    bus::{EventBus, Subscription},
    config::Service,
    metrics::{self, BusMetrics, ConsumerLagProbe, DatabaseProbe, ProbeGuard},
    outbox::relay::{Relay, RelayConfig, RelayWaker},
};

/// The background loops of one service.
pub struct Background {
    /// Whose loops: their spans and metrics carry this name.
    service: &'static str,
    /// What `/metrics` samples of these loops while they run.
    probes: Vec<ProbeGuard>,
    stop: watch::Sender<bool>,
    stopped: watch::Receiver<bool>,
    /// Consumers stop before the relay, so the events they write still ship.
    consumers: Vec<JoinHandle<()>>,
    relay: Option<JoinHandle<()>>,
}

impl Background {
    /// No loops yet, for `service`.
    pub fn new(service: Service) -> Self {
        let (stop, stopped) = watch::channel(false);
        Self { service: service.process_name(), probes: Vec::new(), stop, stopped, consumers: Vec::new(), relay: None }
    }

    /// Starts the relay of `db`'s outbox to `bus`, woken by the returned waker, keeping sent
    /// rows for `retention`. `/metrics` shows the outbox backlog and the pool of `db`.
    pub fn relay(&mut self, db: DatabaseConnection, bus: EventBus, retention: Duration) -> RelayWaker {
        let waker = RelayWaker::new();
        let config = RelayConfig {
            retention,
            service: Some(self.service),
            metrics: Some(Arc::new(BusMetrics { service: self.service })),
            ..RelayConfig::default()
        };
        let probe = DatabaseProbe { service: self.service, db: db.clone() };
        self.probes.push(metrics::register(format!("db/{}", self.service), Arc::new(probe)));
        self.relay = Some(Relay::new(db, bus, waker.clone(), config).spawn(self.stopped.clone()));
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
        self.consumers.push(bus.subscribe_as(Some(self.service), subscription, self.stopped.clone()));
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
