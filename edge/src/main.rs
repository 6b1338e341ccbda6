//! The edge binary: serve REST, grpc-web and gRPC on MART_HTTP_ADDR for the services at
//! MART_*_ADDR.

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use mart_platform::{auth::KeySet, binary, config::Vars, server::shutdown_signal};

#[derive(Parser)]
#[command(about = "Online Mart's HTTP edge: REST, grpc-web and gRPC on one port")]
struct Cli {}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Cli::parse();
    let config = edge::Config::from_vars(&Vars::from_env()).unwrap_or_else(|error| {
        eprintln!("edge: {error}");
        std::process::exit(2);
    });
    let telemetry = config.telemetry.clone();
    // `/metrics` is only on MART_METRICS_ADDR, a port operators keep private: on the
    // public port it would tell anyone the shop's business volume.
    binary::observed(&telemetry, &["edge"], async { binary::with_metrics(&telemetry, serve(&config)).await? }).await
}

async fn serve(config: &edge::Config) -> anyhow::Result<()> {
    let keys = Arc::new(KeySet::remote(&config.peers.user)?);
    keys.refresh_every(config.auth.refresh_interval);
    let edge = edge::Edge::new(config, keys)?;
    let listener = tokio::net::TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("cannot listen on {} (set MART_HTTP_ADDR)", config.http_addr))?;
    tracing::info!(addr = %config.http_addr, "edge serving");
    edge::serve(edge, listener, shutdown_signal()).await?;
    Ok(())
}
