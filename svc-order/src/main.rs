//! The svc-order binary: serve (the default), or bring the schema up to date.

use clap::{Parser, Subcommand};
use mart_platform::{auth::KeySet, bus::EventBus, config, server::shutdown_signal, telemetry};

#[derive(Parser)]
#[command(about = "Online Mart cart and order service")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve OrderService on MART_GRPC_ADDR, react to events, expire unpaid orders (the default).
    Serve,
    /// Bring the database schema up to date and exit.
    Migrate,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = config::load_or_exit(config::Service::Order);
    telemetry::init(&config.telemetry);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let bus = EventBus::connect(&config.events).await?;
            let keys = std::sync::Arc::new(KeySet::remote(&config.peers.user)?);
            let listener = tokio::net::TcpListener::bind(config.grpc_addr).await?;
            svc_order::serve(config, bus, keys, listener, shutdown_signal()).await?;
        }
        Command::Migrate => {
            svc_order::open(&config).await?;
        }
    }
    Ok(())
}
