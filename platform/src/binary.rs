//! The `main` of a service binary: read the config (a bad value exits 2 naming the
//! variable), start the logs, then `serve` (the default) or `migrate`. Services with more
//! subcommands (svc-user) write their own; the others are one call to [`run`].

use std::{future::Future, pin::Pin, sync::Arc};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use tokio::net::TcpListener;

use crate::{
    auth::KeySet,
    bus::EventBus,
    config::{self, Config, Service},
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
    let telemetry = telemetry::init(&config.telemetry, &[service.process_name()]);
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve_with_telemetry(service, config, serve).await,
        Command::Migrate => migrate(config).await.map_err(anyhow::Error::from),
    };
    telemetry.shutdown().await;
    outcome
}

async fn serve_with_telemetry<S, SF, SE>(service: Service, config: Config, serve: S) -> anyhow::Result<()>
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
    let metrics = spawn_metrics(&config).await?;
    tracing::debug!(service = service.process_name(), "serving");
    serve(config, bus, keys, listener, Box::pin(shutdown_signal())).await?;
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    Ok(())
}

/// Starts the `/metrics` listener at `MART_METRICS_ADDR`, when set; it runs until aborted.
pub async fn spawn_metrics(config: &Config) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(addr) = config.telemetry.metrics_addr else { return Ok(None) };
    let listener = crate::metrics::spawn_listener(addr, std::future::pending())
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen on {addr} (set MART_METRICS_ADDR): {error}"))?;
    Ok(Some(listener))
}
