//! The svc-order binary: serve (the default), or bring the schema up to date.

use mart_platform::{binary, config::Service};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    binary::run(Service::Order, "Online Mart cart and order service", svc_order::serve, |config| async move {
        svc_order::open(&config).await
    })
    .await
}
