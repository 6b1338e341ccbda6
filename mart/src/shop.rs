//! The whole shop in one process: six services on loopback and the edge in front, sharing
//! one event bus. What `mart up` runs, and what the cross-service stories test against.
//!
//! Each service keeps its own database and talks to the others over real gRPC, exactly as
//! in the distributed mode — only the addresses are ephemeral loopback ports and the bus is
//! one handle shared by all (the embedded log by default, or a bus the caller opened, such
//! as Kafka). One service can be stopped and started again while the rest keep running.

use std::{collections::BTreeMap, future::Future, net::SocketAddr, pin::Pin, sync::Arc, time::Duration};

use mart_platform::{
    auth::KeySet,
    bus::{BusError, EventBus},
    config::{AuthConfig, Config, ConfigError, Peers, Service, Vars},
};
use tokio::{
    net::TcpListener,
    sync::watch,
    task::{self, JoinSet},
};

/// Why the shop could not start, or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ShopError {
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source} ({hint})")]
    Bind { addr: SocketAddr, hint: &'static str, source: std::io::Error },
    /// The data directory could not be created.
    #[error("data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    /// The event bus could not be opened.
    #[error("event bus: {0}")]
    Bus(#[from] BusError),
    /// A service failed to start or stopped with an error.
    #[error("{service}: {message}")]
    Service { service: String, message: String },
    /// A service did not become ready in time.
    #[error("{0} did not become ready in time")]
    NotReady(String),
}

/// The configuration of every part of the shop: each service's, with its own knobs, and
/// the edge's. All read from the same variables, as when each runs on its own.
#[derive(Clone, Debug)]
pub struct ShopConfig {
    /// svc-user.
    pub user: svc_user::Config,
    /// svc-product.
    pub product: svc_product::Config,
    /// svc-inventory.
    pub inventory: svc_inventory::Config,
    /// svc-order.
    pub order: svc_order::Config,
    /// svc-notify.
    pub notify: svc_notify::Config,
    /// svc-payment.
    pub payment: svc_payment::Config,
    /// The edge.
    pub edge: edge::Config,
}

impl ShopConfig {
    /// Reads `vars` for every part; the first bad value is the error.
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            user: Config::from_vars(Service::User, vars)?,
            product: Config::from_vars(Service::Product, vars)?,
            inventory: Config::from_vars(Service::Inventory, vars)?,
            order: Config::from_vars(Service::Order, vars)?,
            notify: Config::from_vars(Service::Notify, vars)?,
            payment: Config::from_vars(Service::Payment, vars)?,
            edge: edge::Config::from_vars(vars)?,
        })
    }

    /// Every part on `addresses`, each told where the others are.
    fn placed(mut self, addresses: &BTreeMap<&'static str, SocketAddr>) -> Self {
        fn place<S>(config: &mut Config<S>, addresses: &BTreeMap<&'static str, SocketAddr>, peers: &Peers) {
            config.grpc_addr = addresses[config.service.name()];
            config.peers = peers.clone();
        }
        let at = |name: &str| format!("http://{}", addresses[name]);
        let peers = Peers {
            user: at("user"),
            product: at("product"),
            order: at("order"),
            inventory: at("inventory"),
            notify: at("notify"),
            payment: at("payment"),
        };
        place(&mut self.user, addresses, &peers);
        place(&mut self.product, addresses, &peers);
        place(&mut self.inventory, addresses, &peers);
        place(&mut self.order, addresses, &peers);
        place(&mut self.notify, addresses, &peers);
        place(&mut self.payment, addresses, &peers);
        self.edge.peers = peers;
        self
    }
}

/// A running shop.
pub struct Shop {
    /// Where the edge listens.
    pub http_addr: SocketAddr,
    /// Where each service listens.
    pub services: BTreeMap<&'static str, SocketAddr>,
    /// The bus every service shares (tests watch it).
    pub bus: EventBus,
    /// Every part's configuration, addresses filled in: what a service is started with again.
    config: ShopConfig,
    /// Each running service's stop signal and task, so one can be stopped alone.
    running: BTreeMap<&'static str, (watch::Sender<bool>, task::Id)>,
    edge_stop: watch::Sender<bool>,
    edge: JoinSet<Result<(), ShopError>>,
    tasks: JoinSet<Result<(), ShopError>>,
}

type Served = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

impl Shop {
    /// Starts every service with its part of `config` (its database, the payment and mail
    /// settings…), on ephemeral loopback ports, and the edge on `http`. The bus comes from
    /// the user service's configuration and is shared by all.
    ///
    /// Boxed: the configuration of seven parts makes a large future.
    pub fn start(
        config: ShopConfig,
        http: TcpListener,
    ) -> Pin<Box<dyn Future<Output = Result<Self, ShopError>> + Send>> {
        Box::pin(Self::start_boxed(config, http))
    }

    async fn start_boxed(config: ShopConfig, http: TcpListener) -> Result<Self, ShopError> {
        let events = config.user.events.clone();
        if let Some(parent) = events
            .log_url
            .strip_prefix("sqlite://")
            .and_then(|p| std::path::Path::new(p.split('?').next().unwrap_or(p)).parent().map(|d| d.to_owned()))
        {
            std::fs::create_dir_all(&parent).map_err(|e| ShopError::DataDir(parent.display().to_string(), e))?;
        }
        let bus = EventBus::connect(&events).await?;
        Self::start_on(bus, config, http).await
    }

    /// [`Shop::start`] on a bus opened by the caller (a Kafka cluster of its choosing, say)
    /// instead of the one the configuration names.
    pub fn start_on(
        bus: EventBus,
        config: ShopConfig,
        http: TcpListener,
    ) -> Pin<Box<dyn Future<Output = Result<Self, ShopError>> + Send>> {
        Box::pin(Self::start_on_boxed(bus, config, http))
    }

    async fn start_on_boxed(bus: EventBus, config: ShopConfig, http: TcpListener) -> Result<Self, ShopError> {
        let http_addr = http.local_addr().map_err(|source| ShopError::Bind {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            hint: "the edge's listener",
            source,
        })?;
        let mut listeners = BTreeMap::new();
        let mut addresses = BTreeMap::new();
        for service in Service::ALL {
            let any = SocketAddr::from(([127, 0, 0, 1], 0));
            let listener = TcpListener::bind(any).await.map_err(|source| ShopError::Bind {
                addr: any,
                hint: "an internal port on loopback",
                source,
            })?;
            addresses.insert(service.name(), listener.local_addr().expect("a bound listener has an address"));
            listeners.insert(service.name(), listener);
        }
        let config = config.placed(&addresses);
        let edge_config = config.edge.clone();
        let (edge_stop, _) = watch::channel(false);
        let mut shop = Self {
            http_addr,
            services: addresses,
            bus,
            config,
            running: BTreeMap::new(),
            edge_stop,
            edge: JoinSet::new(),
            tasks: JoinSet::new(),
        };
        for service in Service::ALL {
            let listener = listeners.remove(service.name()).expect("one listener per service");
            shop.spawn(service, listener)?;
        }

        let edge_keys = keys(&edge_config.peers, &edge_config.auth).map_err(|message| failure("edge", message))?;
        let edge = edge::Edge::new(&edge_config, edge_keys).map_err(|e| failure("edge", e.to_string()))?;
        let stop = signal(&shop.edge_stop);
        shop.edge.spawn(async move { edge::serve(edge, http, stop).await.map_err(|e| failure("edge", e.to_string())) });
        Ok(shop)
    }

    /// Stops one service the way SIGTERM stops it alone (it finishes the requests and the
    /// event in hand and flushes its outbox) while the rest of the shop keeps running and
    /// publishing: an outage or a deploy of that service. Fails when it stopped with an
    /// error, or when another part of the shop stopped on its own meanwhile.
    pub async fn stop_service(&mut self, service: Service) -> Result<(), ShopError> {
        let Some((stop, id)) = self.running.remove(service.name()) else {
            return Err(failure(service.name(), "is not running".to_owned()));
        };
        let _ = stop.send(true);
        let result = self.tasks.join_next_with_id().await.expect("the service's task is in the set");
        let ended = match &result {
            Ok((ended, _)) => *ended,
            Err(error) => error.id(),
        };
        let result = flatten(result.map(|(_, result)| result));
        if ended == id {
            return result;
        }
        // Another part ended first, on its own: that is the failure to report.
        Err(result.err().unwrap_or_else(|| failure("shop", "a part stopped".to_owned())))
    }

    /// Starts a service [`Shop::stop_service`] stopped, on the same address, database and
    /// bus; it picks up the events it missed where its consumers left off.
    /// [`Shop::ready`] tells when it serves again.
    pub async fn start_service(&mut self, service: Service) -> Result<(), ShopError> {
        let addr = self.services[service.name()];
        let listener = TcpListener::bind(addr).await.map_err(|source| ShopError::Bind {
            addr,
            hint: "the port the service had before; something else took it",
            source,
        })?;
        self.spawn(service, listener)
    }

    /// Runs `service` on `listener` with its configuration, the shared bus, the token keys
    /// from svc-user (which keeps its own) and a stop signal of its own.
    fn spawn(&mut self, service: Service, listener: TcpListener) -> Result<(), ShopError> {
        let name = service.name();
        let config = &self.config;
        let keys = || keys(&config.user.peers, &config.user.auth).map_err(|message| failure(name, message));
        let (stop_sender, _) = watch::channel(false);
        let (bus, stop) = (self.bus.clone(), signal(&stop_sender));
        let served: Served = match service {
            Service::User => {
                let config = config.user.clone();
                Box::pin(async move { text(svc_user::serve(config, bus, listener, stop).await) })
            }
            Service::Product => {
                let (config, keys) = (config.product.clone(), keys()?);
                Box::pin(async move { text(svc_product::serve(config, bus, keys, listener, stop).await) })
            }
            Service::Inventory => {
                let (config, keys) = (config.inventory.clone(), keys()?);
                Box::pin(async move { text(svc_inventory::serve(config, bus, keys, listener, stop).await) })
            }
            Service::Order => {
                let (config, keys) = (config.order.clone(), keys()?);
                Box::pin(async move { text(svc_order::serve(config, bus, keys, listener, stop).await) })
            }
            Service::Notify => {
                let (config, keys) = (config.notify.clone(), keys()?);
                Box::pin(async move { text(svc_notify::serve(config, bus, keys, listener, stop).await) })
            }
            Service::Payment => {
                let (config, keys) = (config.payment.clone(), keys()?);
                Box::pin(async move { text(svc_payment::serve(config, bus, keys, listener, stop).await) })
            }
        };
        let task = self.tasks.spawn(async move { served.await.map_err(|message| failure(name, message)) });
        self.running.insert(name, (stop_sender, task.id()));
        Ok(())
    }

    /// Waits until every service answers its gRPC health check with SERVING — when the edge's
    /// `/readyz` would answer 200 — or a service fails, or `timeout` passes.
    pub async fn ready(&mut self, timeout: Duration) -> Result<(), ShopError> {
        let deadline = tokio::time::Instant::now() + timeout;
        for (name, addr) in &self.services {
            loop {
                if let Some(result) = self.tasks.try_join_next() {
                    return Err(flatten(result)
                        .err()
                        .unwrap_or(failure("shop", "a service stopped while starting".to_owned())));
                }
                if serving(*addr).await {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(ShopError::NotReady(format!("svc-{name}")));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        Ok(())
    }

    /// Resolves when any part of the shop stops on its own (an error, since nothing asked it
    /// to), with what it said.
    pub async fn failed(&mut self) -> ShopError {
        let result = tokio::select! {
            Some(result) = self.tasks.join_next() => result,
            Some(result) = self.edge.join_next() => result,
        };
        flatten(result).err().unwrap_or_else(|| failure("shop", "a part stopped".to_owned()))
    }

    /// Stops the shop in order: the edge stops taking requests and finishes those in
    /// flight, then every service drains, finishes its event in hand and flushes its
    /// outbox. Returns the first error any part reported.
    pub async fn stop(mut self) -> Result<(), ShopError> {
        let _ = self.edge_stop.send(true);
        let mut first_error = None;
        while let Some(result) = self.edge.join_next().await {
            if let Err(error) = flatten(result) {
                first_error.get_or_insert(error);
            }
        }
        for (stop, _) in self.running.values() {
            let _ = stop.send(true);
        }
        while let Some(result) = self.tasks.join_next().await {
            if let Err(error) = flatten(result) {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// The token keys and revoked sessions svc-user publishes, reached at `peers.user`, fetched
/// again every `auth.refresh_interval`.
fn keys(peers: &Peers, auth: &AuthConfig) -> Result<Arc<KeySet>, String> {
    let keys = Arc::new(KeySet::remote(&peers.user).map_err(|e| e.to_string())?);
    keys.refresh_every(auth.refresh_interval);
    Ok(keys)
}

/// Resolves when `stop` turns true.
fn signal(stop: &watch::Sender<bool>) -> impl Future<Output = ()> + Send + 'static {
    let mut rx = stop.subscribe();
    async move {
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}

fn failure(service: &str, message: String) -> ShopError {
    let service = if service == "edge" { "edge".to_owned() } else { format!("svc-{service}") };
    ShopError::Service { service, message }
}

fn text<E: std::fmt::Display>(result: Result<(), E>) -> Result<(), String> {
    result.map_err(|error| error.to_string())
}

fn flatten(result: Result<Result<(), ShopError>, tokio::task::JoinError>) -> Result<(), ShopError> {
    match result {
        Ok(inner) => inner,
        Err(error) => Err(failure("shop", format!("a task panicked: {error}"))),
    }
}

/// Whether the gRPC server at `addr` reports SERVING.
async fn serving(addr: SocketAddr) -> bool {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
    let Ok(endpoint) = tonic::transport::Endpoint::from_shared(format!("http://{addr}")) else { return false };
    let Ok(channel) = endpoint.connect_timeout(Duration::from_millis(200)).connect().await else { return false };
    matches!(
        HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await,
        Ok(response) if response.get_ref().status == ServingStatus::Serving as i32
    )
}
