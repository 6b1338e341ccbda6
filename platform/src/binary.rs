//! The `main` of a service binary: read the config (a bad value exits 2 naming the
//! variable), start the logs, then run the subcommand:
//!
//! - `serve` (the default): the service, with its background work;
//! - `migrate`: bring the database schema up to date and exit;
//! - `events status | lag | dlq list | dlq replay`: what an operator asks of the service's
//!   outbox and of the bus;
//! - whatever a service adds through [`run_with`] (svc-user's `admin create`).
//!
//! Every service's `main.rs` is one call to [`run`] or [`run_with`].

use std::{future::Future, pin::Pin, sync::Arc};

use clap::{ArgMatches, FromArgMatches, Subcommand};
use sea_orm::{DatabaseConnection, DbErr};
use tokio::net::TcpListener;

use crate::{
    auth::KeySet,
    bus::EventBus,
    config::{self, Config, Service, Settings, TelemetryConfig},
    server::shutdown_signal,
    telemetry,
};

/// The signal a served service stops on: SIGTERM or Ctrl-C.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The subcommands every service binary has.
#[derive(Subcommand)]
enum Builtin {
    /// Serve on MART_GRPC_ADDR and run the background work: relay, consumers, timers (the default).
    Serve,
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Look at the event bus: the outbox, consumer lag, dead letters.
    #[command(subcommand)]
    Events(EventsCommand),
}

#[derive(Subcommand)]
enum EventsCommand {
    /// How many of this service's events wait in its outbox, and how long the oldest has.
    Status,
    /// How far a consumer group is behind, per partition.
    Lag {
        /// The consumer group (a service's short name: order, payment, …).
        #[arg(long)]
        group: String,
        /// The topics to report (default: all).
        #[arg(long = "topic", default_values_t = crate::events::TOPICS.map(String::from))]
        topics: Vec<String>,
    },
    /// Dead letters.
    #[command(subcommand)]
    Dlq(DlqCommand),
}

#[derive(Subcommand)]
enum DlqCommand {
    /// List the dead letters of a topic.
    List {
        /// The topic whose dead letters to list (default: this service's own).
        #[arg(long)]
        topic: Option<String>,
    },
    /// Publish a dead letter to its topic again (after fixing the cause).
    Replay {
        /// The topic whose dead letter to replay (default: this service's own).
        #[arg(long)]
        topic: Option<String>,
        /// The partition of the dead letter in `<topic>.dlq`.
        #[arg(long, default_value_t = 0)]
        partition: i32,
        /// Its offset there, as `dlq list` shows it.
        #[arg(long)]
        offset: i64,
    },
}

/// A service without subcommands of its own.
#[derive(Debug)]
pub enum NoCommands {}

impl FromArgMatches for NoCommands {
    fn from_arg_matches(_: &ArgMatches) -> Result<Self, clap::Error> {
        Err(clap::Error::new(clap::error::ErrorKind::InvalidSubcommand))
    }

    fn update_from_arg_matches(&mut self, _: &ArgMatches) -> Result<(), clap::Error> {
        match *self {}
    }
}

impl Subcommand for NoCommands {
    fn augment_subcommands(command: clap::Command) -> clap::Command {
        command
    }

    fn augment_subcommands_for_update(command: clap::Command) -> clap::Command {
        command
    }

    fn has_subcommand(_: &str) -> bool {
        false
    }
}

/// Runs the binary of `service`, described as `about` in `--help`. `serve` gets the
/// config, the bus from `MART_EVENT_BUS`, svc-user's published token keys, the bound
/// listener and the shutdown signal; `open` opens (and so migrates) the service's
/// database, for `migrate` and `events status`.
pub async fn run<T, S, SF, SE, O, OF>(service: Service, about: &'static str, serve: S, open: O) -> anyhow::Result<()>
where
    T: Settings,
    S: FnOnce(Config<T>, EventBus, Arc<KeySet>, TcpListener, Shutdown) -> SF,
    SF: Future<Output = Result<(), SE>>,
    SE: std::error::Error + Send + Sync + 'static,
    O: FnOnce(Config<T>) -> OF,
    OF: Future<Output = Result<DatabaseConnection, DbErr>>,
{
    run_with(service, about, serve, open, |command: NoCommands, _| async move { match command {} }).await
}

/// [`run`], with the service's own subcommands `X` beside the shared ones, run by `extra`.
pub async fn run_with<T, S, SF, SE, O, OF, X, XR, XF>(
    service: Service,
    about: &'static str,
    serve: S,
    open: O,
    extra: XR,
) -> anyhow::Result<()>
where
    T: Settings,
    S: FnOnce(Config<T>, EventBus, Arc<KeySet>, TcpListener, Shutdown) -> SF,
    SF: Future<Output = Result<(), SE>>,
    SE: std::error::Error + Send + Sync + 'static,
    O: FnOnce(Config<T>) -> OF,
    OF: Future<Output = Result<DatabaseConnection, DbErr>>,
    X: Subcommand,
    XR: FnOnce(X, Config<T>) -> XF,
    XF: Future<Output = anyhow::Result<()>>,
{
    // The description last: deriving `Subcommand` sets the enum's doc as the command's.
    let command = X::augment_subcommands(Builtin::augment_subcommands(clap::Command::new(service.process_name())))
        .about(about)
        .long_about(None::<&str>);
    let matches = command.get_matches();
    let chosen = match matches.subcommand_name() {
        Some(name) if !Builtin::has_subcommand(name) => Err(X::from_arg_matches(&matches)),
        Some(_) => Ok(Builtin::from_arg_matches(&matches)),
        None => Ok(Ok(Builtin::Serve)),
    };
    let config = config::load_or_exit::<T>(service);
    let telemetry = config.telemetry.clone();
    observed(&telemetry, &[service.process_name()], async {
        match chosen {
            Ok(builtin) => match builtin.unwrap_or_else(|error| error.exit()) {
                // Boxed: a service's whole serving future is large.
                Builtin::Serve => with_metrics(&telemetry, Box::pin(serve_service(config, serve))).await?,
                Builtin::Migrate => open(config).await.map(drop).map_err(anyhow::Error::from),
                Builtin::Events(command) => events(service, command, config, open).await,
            },
            Err(own) => extra(own.unwrap_or_else(|error| error.exit()), config).await,
        }
    })
    .await
}

async fn serve_service<T, S, SF, SE>(config: Config<T>, serve: S) -> anyhow::Result<()>
where
    S: FnOnce(Config<T>, EventBus, Arc<KeySet>, TcpListener, Shutdown) -> SF,
    SF: Future<Output = Result<(), SE>>,
    SE: std::error::Error + Send + Sync + 'static,
{
    let bus = EventBus::connect(&config.events).await?;
    // Access tokens are svc-user's: trust the keys it publishes.
    let keys = Arc::new(KeySet::remote(&config.peers.user)?);
    keys.refresh_every(config.auth.refresh_interval);
    let listener = TcpListener::bind(config.grpc_addr)
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen on {} (set MART_GRPC_ADDR): {error}", config.grpc_addr))?;
    serve(config, bus, keys, listener, Box::pin(shutdown_signal())).await?;
    Ok(())
}

/// `<service> events …`: reports for operators, on standard output.
#[allow(clippy::print_stdout, reason = "a report is the command's output")]
async fn events<T, O, OF>(service: Service, command: EventsCommand, config: Config<T>, open: O) -> anyhow::Result<()>
where
    O: FnOnce(Config<T>) -> OF,
    OF: Future<Output = Result<DatabaseConnection, DbErr>>,
{
    // The service's own topic, where a `--topic` is not given.
    let topic = |topic: Option<String>| {
        topic
            .or_else(|| {
                let own = format!("mart.{}.events", service.name());
                crate::events::TOPICS.contains(&own.as_str()).then_some(own)
            })
            .ok_or_else(|| anyhow::anyhow!("{} publishes no events: name a topic with --topic", service.process_name()))
    };
    match command {
        EventsCommand::Status => {
            let db = open(config).await?;
            let lag = crate::outbox::relay::lag(&db).await?;
            let oldest = lag.oldest.map_or("-".to_owned(), |age| format!("{:.1}s", age.as_secs_f64()));
            println!("outbox: {} unsent, oldest {oldest}", lag.unsent);
        }
        EventsCommand::Lag { group, topics } => {
            let bus = EventBus::connect(&config.events).await?;
            println!("{:<28} {:>9} {:>12} {:>8}", "topic", "partition", "next offset", "waiting");
            for lag in bus.consumer_lag(&group, &topics).await? {
                println!("{:<28} {:>9} {:>12} {:>8}", lag.topic, lag.partition, lag.next_offset, lag.waiting);
            }
        }
        EventsCommand::Dlq(DlqCommand::List { topic: chosen }) => {
            let chosen = topic(chosen)?;
            let bus = EventBus::connect(&config.events).await?;
            for letter in bus.dead_letters(&chosen, 1000).await? {
                println!(
                    "{}@{}  {}  {}  group={} attempts={} from={}  error: {}",
                    letter.partition,
                    letter.offset,
                    letter.event_id,
                    letter.event_type,
                    letter.group,
                    letter.attempts,
                    letter.origin,
                    letter.error
                );
            }
        }
        EventsCommand::Dlq(DlqCommand::Replay { topic: chosen, partition, offset }) => {
            let chosen = topic(chosen)?;
            let bus = EventBus::connect(&config.events).await?;
            let record = bus.replay_dead_letter(&chosen, partition, offset).await?;
            println!("replayed {partition}@{offset} to {}", record.topic);
        }
    }
    Ok(())
}

/// Runs `work` with this process's logs and traces (spans named after `names`, the first
/// for spans no service adopted), and flushes the spans still in a batch when it ends:
/// what every binary's `main` wraps itself in.
pub async fn observed<T>(config: &TelemetryConfig, names: &[&'static str], work: impl Future<Output = T>) -> T {
    let telemetry = telemetry::init(config, names);
    let outcome = work.await;
    telemetry.shutdown().await;
    outcome
}

/// Runs `serving` with the `/metrics` listener at `MART_METRICS_ADDR` when it is set; the
/// listener stops when `serving` ends. Fails when the address cannot be bound.
pub async fn with_metrics<T>(config: &TelemetryConfig, serving: impl Future<Output = T>) -> anyhow::Result<T> {
    let listener = match config.metrics_addr {
        None => None,
        Some(addr) => {
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let task = crate::metrics::spawn_listener(addr, async move {
                let _ = stopped.await;
            })
            .await
            .map_err(|error| anyhow::anyhow!("cannot listen on {addr} (set MART_METRICS_ADDR): {error}"))?;
            Some((stop, task))
        }
    };
    let outcome = serving.await;
    if let Some((stop, task)) = listener {
        let _ = stop.send(());
        let _ = task.await;
    }
    Ok(outcome)
}
