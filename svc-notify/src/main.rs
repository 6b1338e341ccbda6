//! The svc-notify binary: serve (the default), `migrate`, and the `events` subcommands.

use mart_platform::{binary, config::Service};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    binary::run(
        Service::Notify,
        "Online Mart notification service: inbox, email, SMS",
        svc_notify::serve,
        |config| async move { svc_notify::open(&config).await },
    )
    .await
}
