//! The svc-payment binary: serve (the default), or bring the schema up to date.

use mart_platform::{binary, config::Service};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    binary::run(Service::Payment, "Online Mart payment service", svc_payment::serve, |config| async move {
        svc_payment::open(&config).await
    })
    .await
}
