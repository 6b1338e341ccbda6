//! The svc-inventory binary: serve (the default), or bring the schema up to date.

use mart_platform::{binary, config::Service};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    binary::run(
        Service::Inventory,
        "Online Mart stock service: levels, the ledger, reservations",
        svc_inventory::serve,
        |config| async move { svc_inventory::open(&config).await },
    )
    .await
}
