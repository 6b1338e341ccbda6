//! The svc-user binary: serve (the default), or run an operator command.

use clap::{Parser, Subcommand};
use mart_platform::{bus::EventBus, config, server::shutdown_signal, telemetry};

#[derive(Parser)]
#[command(about = "Online Mart accounts service")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve UserService on MART_GRPC_ADDR (the default).
    Serve,
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Manage admin accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin account.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, env = "MART_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Start signing with a new key; the old one verifies until its tokens expire.
    Rotate,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = config::load_or_exit(config::Service::User);
    telemetry::init(&config.telemetry);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let bus = EventBus::connect(&config.events).await?;
            let listener = tokio::net::TcpListener::bind(config.grpc_addr).await?;
            svc_user::serve(config, bus, listener, shutdown_signal()).await?;
        }
        Command::Migrate => {
            svc_user::open(&config).await?;
        }
        Command::Admin(AdminCommand::Create { email, password }) => {
            let db = svc_user::open(&config).await?;
            let admin = svc_user::create_admin(&db, &email, &password).await?;
            eprintln!("created admin {} ({})", admin.email, admin.id);
        }
        Command::Keys(KeysCommand::Rotate) => {
            let db = svc_user::open(&config).await?;
            eprintln!("now signing with key {}", svc_user::keys::rotate(&db).await?);
        }
    }
    Ok(())
}
