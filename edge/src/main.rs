//! The edge binary: serve REST, grpc-web and gRPC on MART_HTTP_ADDR for the services at
//! MART_*_ADDR.

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use mart_platform::{auth::KeySet, binary, config, server::shutdown_signal};

#[derive(Parser)]
#[command(about = "Online Mart's HTTP edge: REST, grpc-web and gRPC on one port")]
struct Cli {}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Cli::parse();
    // The edge has no gRPC address or database of its own; it reads the shared variables.
    let config = config::load_as_or_exit("edge", config::Service::User);
    let telemetry = config.telemetry.clone();
    // `/metrics` is on the edge's own port too; MART_METRICS_ADDR adds a private one.
    binary::observed(&telemetry, &["edge"], async { binary::with_metrics(&telemetry, serve(&config)).await? }).await
}

async fn serve(config: &config::Config) -> anyhow::Result<()> {
    let keys = Arc::new(KeySet::remote(&config.peers.user)?);
    let edge = edge::Edge::new(config, edge::Settings::from_config(config), keys)?;
    let listener = tokio::net::TcpListener::bind(config.edge.http_addr)
        .await
        .with_context(|| format!("cannot listen on {} (set MART_HTTP_ADDR)", config.edge.http_addr))?;
    tracing::info!(addr = %config.edge.http_addr, "edge serving");
    edge::serve(edge, listener, shutdown_signal()).await?;
    Ok(())
}
