//! The svc-product binary: serve (the default), or bring the schema up to date.

use std::sync::Arc;

use clap::{Parser, Subcommand};
use mart_platform::{auth::KeySet, bus::EventBus, config, server::shutdown_signal, telemetry};

#[derive(Parser)]
#[command(about = "Online Mart catalog service")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve CatalogService on MART_GRPC_ADDR (the default).
    Serve,
    /// Bring the database schema up to date and exit.
    Migrate,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = config::load_or_exit(config::Service::Product);
    telemetry::init(&config.telemetry);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let bus = EventBus::connect(&config.events).await?;
            // Access tokens are svc-user's: trust the keys it publishes.
            let keys = Arc::new(KeySet::remote(&config.peers.user)?);
            let listener = tokio::net::TcpListener::bind(config.grpc_addr).await?;
            svc_product::serve(config, bus, keys, listener, shutdown_signal()).await?;
        }
        Command::Migrate => {
            svc_product::open(&config).await?;
        }
    }
    Ok(())
}
