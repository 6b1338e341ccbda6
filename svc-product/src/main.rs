//! The svc-product binary: serve (the default), or bring the schema up to date.

use mart_platform::{binary, config::Service};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    binary::run(Service::Product, "Online Mart catalog service", svc_product::serve, |config| async move {
        svc_product::open(&config).await
    })
    .await
}
