//! The `main` of a service binary: read the config (a bad value exits 2 naming the
//! variable), start the logs, then `serve` (the default) or `migrate`. Services with more
//! subcommands (svc-user) write their own; the others are one call to [`run`].

use std::{future::Future, pin::Pin, sync::Arc};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use tokio::net::TcpListener;

use crate::{
    auth::KeySet,
    bus::EventBus,
    config::{self, Config, Service, TelemetryConfig},
    server::shutdown_signal,
    telemetry,
};

/// The signal a served service stops on: SIGTERM or Ctrl-C.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve on MART_GRPC_ADDR and run the background work: relay, consumers, timers (the default).
    Serve,
    /// Bring the database schema up to date and exit.
    Migrate,
}

/// Runs the binary of `service`, described as `about` in `--help`. `serve` gets the
/// config, the bus from `MART_EVENT_BUS`, svc-user's published token keys, the bound
/// listener and the shutdown signal; `migrate` opens (and so migrates) the database.
pub async fn run<S, SF, SE, M, MF, ME>(
    service: Service,
    about: &'static str,
    serve: S,
    migrate: M,
) -> anyhow::Result<()>
where
    S: FnOnce(Config, EventBus, Arc<KeySet>, TcpListener, Shutdown) -> SF,
    SF: Future<Output = Result<(), SE>>,
    SE: std::error::Error + Send + Sync + 'static,
    M: FnOnce(Config) -> MF,
    MF: Future<Output = Result<(), ME>>,
    ME: std::error::Error + Send + Sync + 'static,
{
    let matches = Cli::command().bin_name(format!("svc-{}", service.name())).about(about).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    let config = config::load_or_exit(service);
    let telemetry = config.telemetry.clone();
    observed(&telemetry, &[service.process_name()], async {
        match cli.command.unwrap_or(Command::Serve) {
            // Boxed: a service's whole serving future is large.
            Command::Serve => with_metrics(&telemetry, Box::pin(serve_service(config, serve))).await?,
            Command::Migrate => migrate(config).await.map_err(anyhow::Error::from),
        }
    })
    .await
}

async fn serve_service<S, SF, SE>(config: Config, serve: S) -> anyhow::Result<()>
where
    S: FnOnce(Config, EventBus, Arc<KeySet>, TcpListener, Shutdown) -> SF,
    SF: Future<Output = Result<(), SE>>,
    SE: std::error::Error + Send + Sync + 'static,
{
    let bus = EventBus::connect(&config.events).await?;
    // Access tokens are svc-user's: trust the keys it publishes.
    let keys = Arc::new(KeySet::remote(&config.peers.user)?);
    let listener = TcpListener::bind(config.grpc_addr)
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen on {} (set MART_GRPC_ADDR): {error}", config.grpc_addr))?;
    serve(config, bus, keys, listener, Box::pin(shutdown_signal())).await?;
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
