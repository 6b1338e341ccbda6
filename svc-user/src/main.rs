//! The svc-user binary: serve (the default), or run an operator command.

use clap::{Parser, Subcommand};
use mart_platform::{binary, bus::EventBus, config, server::shutdown_signal};

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
    /// Look at the event bus: relay and consumer lag, dead letters.
    #[command(subcommand)]
    Events(EventsCommand),
}

#[derive(Subcommand)]
enum EventsCommand {
    /// How many of svc-user's events wait in its outbox, and how long the oldest has.
    Status,
    /// How far a consumer group is behind, per partition.
    Lag {
        #[arg(long)]
        group: String,
        #[arg(long = "topic", default_values_t = mart_platform::events::TOPICS.map(String::from))]
        topics: Vec<String>,
    },
    /// Dead letters.
    #[command(subcommand)]
    Dlq(DlqCommand),
}

#[derive(Subcommand)]
enum DlqCommand {
    /// List the dead letters of a topic.
    List {
        #[arg(long, default_value = "mart.user.events")]
        topic: String,
    },
    /// Publish a dead letter to its topic again (after fixing the cause).
    Replay {
        #[arg(long, default_value = "mart.user.events")]
        topic: String,
        #[arg(long, default_value_t = 0)]
        partition: i32,
        #[arg(long)]
        offset: i64,
    },
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
    let telemetry = config.telemetry.clone();
    binary::observed(&telemetry, &[config::Service::User.process_name()], Box::pin(run(cli, config))).await
}

async fn run(cli: Cli, config: config::Config) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let bus = EventBus::connect(&config.events).await?;
            let listener = tokio::net::TcpListener::bind(config.grpc_addr).await?;
            let telemetry = config.telemetry.clone();
            binary::with_metrics(&telemetry, svc_user::serve(config, bus, listener, shutdown_signal())).await??;
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
        Command::Events(command) => events(command, &config).await?,
    }
    Ok(())
}

/// `svc-user events …`: reports for operators, on standard output.
#[allow(clippy::print_stdout, reason = "a report is the command's output")]
async fn events(command: EventsCommand, config: &config::Config) -> anyhow::Result<()> {
    match command {
        EventsCommand::Status => {
            let db = svc_user::open(config).await?;
            let lag = mart_platform::outbox::relay::lag(&db).await?;
            let oldest = lag.oldest.map_or("-".to_owned(), |age| format!("{:.1}s", age.as_secs_f64()));
            println!("outbox: {} unsent, oldest {oldest}", lag.unsent);
        }
        EventsCommand::Lag { group, topics } => {
            let bus = EventBus::connect(&config.events).await?;
            println!("{:<28} {:>9} {:>12} {:>8}", "topic", "partition", "next offset", "waiting");
            for lag in bus.consumer_lag(&group, &topics).await? {
                println!("{:<28} {:>9} {:>12} {:>8}", lag.topic, lag.partition, lag.next_offset, lag.waiting);
            }
        }
        EventsCommand::Dlq(DlqCommand::List { topic }) => {
            let bus = EventBus::connect(&config.events).await?;
            for letter in bus.dead_letters(&topic, 1000).await? {
                println!(
                    "{}@{}  {}  {}  group={} attempts={} from={}  error: {}",
                    letter.partition,
                    letter.offset,
                    letter.event_id,
                    letter.event_type,
                    letter.group,
                    letter.attempts,
                    letter.origin,
                    letter.error
                );
            }
        }
        EventsCommand::Dlq(DlqCommand::Replay { topic, partition, offset }) => {
            let bus = EventBus::connect(&config.events).await?;
            let record = bus.replay_dead_letter(&topic, partition, offset).await?;
            println!("replayed {partition}@{offset} to {}", record.topic);
        }
    }
    Ok(())
}
