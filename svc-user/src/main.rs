//! The svc-user binary: serve (the default), migrate, `events …`, and its own operator
//! commands (`admin create`, `keys rotate`, in [`svc_user::operator`]).

use mart_platform::{binary, config::Service};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Boxed: the future holds every subcommand's, and the largest is a whole service.
    Box::pin(binary::run_with(
        Service::User,
        "Online Mart accounts service",
        // svc-user signs the tokens: it verifies with its own key ring, not the fetched keys.
        |config, bus, _keys, listener, shutdown| svc_user::serve(config, bus, listener, shutdown),
        |config| async move { svc_user::open(&config).await },
        svc_user::operator::run,
    ))
    .await
}
