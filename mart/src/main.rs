//! The `mart` command: `mart up` runs the whole shop in one process; `mart migrate` and
//! `mart admin create` prepare its databases; `mart demo-data` fills a running shop with a
//! catalog to browse; `mart probe` is a container's health check.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use mart::shop::ShopConfig;
use mart_platform::{
    binary,
    config::{Config, Service, Vars},
    server::shutdown_signal,
};

#[derive(Parser)]
#[command(name = "mart", about = "Online Mart: the whole shop in one command", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run all six services and the edge in this process: SQLite files in the data
    /// directory, the embedded event bus, manual payments unless Stripe keys are set.
    Up {
        /// Where the databases live (MART_DATA_DIR).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Where the edge listens (MART_HTTP_ADDR).
        #[arg(long)]
        http_addr: Option<SocketAddr>,
    },
    /// Bring every service's database schema up to date and exit.
    Migrate {
        /// Where the databases live (MART_DATA_DIR).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Migrate one service's database at this URL (`postgres://…` or `sqlite://…`)
        /// instead of the embedded files: the distributed mode, one database per service.
        #[arg(long, requires = "service")]
        database_url: Option<String>,
        /// The service whose database `--database-url` is: user, product, order, inventory,
        /// notify or payment.
        #[arg(long, requires = "database_url", value_parser = parse_service)]
        service: Option<Service>,
    },
    /// Manage administrators.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Fill a running shop with demo data through its REST API: categories, about fifty
    /// products with prices, stock and pictures (a few in sizes, weights or colours), and a
    /// demo customer. Safe to run again: only what is missing is created.
    DemoData {
        /// The shop's edge.
        #[arg(long, default_value = "http://127.0.0.1:8000")]
        url: String,
        /// An administrator's email address.
        #[arg(long, env = "MART_BOOTSTRAP_ADMIN_EMAIL")]
        admin_email: String,
        /// That administrator's password.
        #[arg(long, env = "MART_BOOTSTRAP_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: String,
    },
    /// Check that the service or edge in this container is healthy, for container health
    /// checks: exit 0 if it is, 1 if not (or if the target makes no sense), saying why.
    Probe {
        /// `grpc://host:port` (grpc.health.v1, the whole server) or `http://host:port/path`
        /// (a 2xx answer). Default: the edge's /healthz at MART_HTTP_ADDR when that is set,
        /// else gRPC health at MART_GRPC_ADDR, else http://127.0.0.1:8000/healthz.
        target: Option<String>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an administrator account (the first admin comes from here, never the API).
    Create {
        /// The admin's email address.
        #[arg(long)]
        email: String,
        /// The admin's password (at least 10 characters).
        #[arg(long)]
        password: String,
        /// Where the databases live (MART_DATA_DIR); with DATABASE_URL set, svc-user's
        /// database is that one instead (the distributed mode).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("mart: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Run(error)) => {
            eprintln!("mart: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// How a command failed: the user's input (exit 2) or at run time (exit 1).
enum Failure {
    Usage(String),
    Run(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure::Run(error.into())
    }
}

/// The environment, with the command line's flags on top. The embedded mode gives every
/// service its own SQLite file, so a `DATABASE_URL` meant for one service is not used here.
fn vars(data_dir: Option<PathBuf>, http_addr: Option<SocketAddr>) -> Vars {
    let mut vars = Vars::from_env();
    vars.remove("DATABASE_URL");
    vars.remove("MART_GRPC_ADDR");
    if let Some(dir) = data_dir {
        vars.set("MART_DATA_DIR", dir.display().to_string());
    }
    if let Some(addr) = http_addr {
        vars.set("MART_HTTP_ADDR", addr.to_string());
    }
    vars
}

/// Every part's configuration from `vars`; a bad value is the user's to fix (exit 2).
fn shop_config(vars: &Vars) -> Result<ShopConfig, Failure> {
    ShopConfig::from_vars(vars).map_err(|error| Failure::Usage(error.to_string()))
}

/// Whether svc-user's database already has an active admin (the hint is for first runs).
async fn has_admin(config: &svc_user::Config) -> bool {
    match svc_user::open(config).await {
        Ok(db) => svc_user::store::users::count_active_admins(&db).await.is_ok_and(|count| count > 0),
        Err(_) => false,
    }
}

/// Brings `service`'s database up to date: at `database_url` when given, else where its
/// configuration says.
async fn migrate(service: Service, config: &ShopConfig, database_url: Option<&str>) -> anyhow::Result<()> {
    fn at<S: Clone>(config: &Config<S>, database_url: Option<&str>) -> Config<S> {
        let mut config = config.clone();
        if let Some(url) = database_url {
            config.database_url = url.to_owned();
        }
        config
    }
    match service {
        Service::User => svc_user::open(&at(&config.user, database_url)).await.map(drop)?,
        Service::Product => svc_product::open(&at(&config.product, database_url)).await.map(drop)?,
        Service::Inventory => svc_inventory::open(&at(&config.inventory, database_url)).await.map(drop)?,
        Service::Order => svc_order::open(&at(&config.order, database_url)).await.map(drop)?,
        Service::Notify => svc_notify::open(&at(&config.notify, database_url)).await.map(drop)?,
        Service::Payment => svc_payment::open(&at(&config.payment, database_url)).await.map(drop)?,
    }
    Ok(())
}

fn parse_service(name: &str) -> Result<Service, String> {
    Service::ALL
        .into_iter()
        .find(|service| service.name() == name)
        .ok_or_else(|| "expected user, product, order, inventory, notify or payment".to_owned())
}

/// `mart up` once its configuration is read: the shop until Ctrl-C or SIGTERM.
#[allow(clippy::print_stdout, reason = "the ready line and the hints are the command's output")]
async fn up(config: ShopConfig) -> Result<(), Failure> {
    let data_dir = config.user.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| Failure::Usage(format!("cannot create the data directory {}: {e}", data_dir.display())))?;
    let addr = config.edge.http_addr;
    let http = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        Failure::Usage(format!("cannot listen on {addr}: {e} (choose another with --http-addr or MART_HTTP_ADDR)"))
    })?;
    let started = std::time::Instant::now();
    // Listening for Ctrl-C and SIGTERM from here on: a signal right after the ready line
    // stops the shop cleanly.
    let shutdown = shutdown_signal();
    let user = config.user.clone();
    let mut shop = mart::shop::Shop::start(config, http).await?;
    shop.ready(Duration::from_secs(30)).await?;
    let url = format!("http://{}", shop.http_addr);
    println!("mart: ready on {url} (in {} ms)", started.elapsed().as_millis());
    println!("mart: API docs at {url}/docs, OpenAPI at {url}/openapi.json, gRPC reflection on the same port");
    if user.own.bootstrap_admin.is_none() && !has_admin(&user).await {
        println!(
            "mart: no admin yet? run `mart admin create --email you@example.com --password '…' --data-dir {}`",
            data_dir.display()
        );
    }
    tokio::select! {
        () = shutdown => {
            println!("mart: stopping (finishing requests in flight, flushing events)");
            shop.stop().await?;
            println!("mart: stopped");
            Ok(())
        }
        error = shop.failed() => Err(Failure::Run(error.into())),
    }
}

#[allow(clippy::print_stdout, reason = "the ready line and the hints are the command's output")]
async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Up { data_dir, http_addr } => {
            let config = shop_config(&vars(data_dir, http_addr))?;
            // Each service reports its spans under its own name, as when run on its own.
            let names: Vec<&'static str> =
                ["mart", "edge"].into_iter().chain(Service::ALL.map(Service::process_name)).collect();
            let telemetry = config.user.telemetry.clone();
            binary::observed(&telemetry, &names, async {
                binary::with_metrics(&telemetry, Box::pin(up(config)))
                    .await
                    .map_err(|error| Failure::Usage(error.to_string()))?
            })
            .await
        }
        Command::Migrate { data_dir, database_url: Some(url), service: Some(service) } => {
            let config = shop_config(&vars(data_dir, None))?;
            let url = mart_platform::config::check_database_url("--database-url", url)
                .map_err(|error| Failure::Usage(error.to_string()))?;
            migrate(service, &config, Some(&url)).await?;
            println!("mart: the {} database is up to date", service.name());
            Ok(())
        }
        Command::Migrate { data_dir, .. } => {
            let config = shop_config(&vars(data_dir, None))?;
            std::fs::create_dir_all(&config.user.data_dir)?;
            for service in Service::ALL {
                migrate(service, &config, None).await?;
            }
            println!("mart: every database in {} is up to date", config.user.data_dir.display());
            Ok(())
        }
        Command::Admin { command: AdminCommand::Create { email, password, data_dir } } => {
            // svc-user's own database: the embedded file, or `DATABASE_URL` when it names one
            // (the distributed mode).
            let mut config = shop_config(&vars(data_dir, None))?.user;
            if let Some(url) = Vars::from_env().get("DATABASE_URL") {
                config.database_url = mart_platform::config::check_database_url("DATABASE_URL", url)
                    .map_err(|error| Failure::Usage(error.to_string()))?;
            }
            std::fs::create_dir_all(&config.data_dir)?;
            let db = svc_user::open(&config).await?;
            let admin = svc_user::create_admin(&db, &email, &password)
                .await
                .map_err(|error| Failure::Usage(format!("cannot create the admin: {error}")))?;
            println!("mart: admin {} created ({})", admin.email, admin.id);
            Ok(())
        }
        Command::DemoData { url, admin_email, admin_password } => {
            let options = mart::demo::Options { url: url.clone(), admin_email, admin_password };
            let summary = mart::demo::demo_data(&options).await.map_err(|error| {
                if error.is_usage() { Failure::Usage(error.to_string()) } else { Failure::Run(error.into()) }
            })?;
            let new = |created: usize, existing: usize| match (created, existing) {
                (0, _) => "all there already".to_owned(),
                (_, 0) => "all new".to_owned(),
                (created, _) => format!("{created} new"),
            };
            println!(
                "mart: demo data in {url}: {} categories ({}), {} products ({}), {} pictures added",
                summary.categories_created + summary.categories_existing,
                new(summary.categories_created, summary.categories_existing),
                summary.products_created + summary.products_existing,
                new(summary.products_created, summary.products_existing),
                summary.images_added,
            );
            println!(
                "mart: demo customer {} (password '{}'){}",
                mart::demo::CUSTOMER_EMAIL,
                mart::demo::CUSTOMER_PASSWORD,
                if summary.customer_created { ", just registered" } else { ", already registered" },
            );
            Ok(())
        }
        // Every failure is exit 1 (a `Failure::Run`), a bad target included: Docker reserves
        // exit code 2 in health checks.
        Command::Probe { target } => {
            let target = match target {
                Some(target) => mart::probe::Target::parse(&target)?,
                None => mart::probe::Target::from_env(|name| std::env::var(name).ok())?,
            };
            println!("mart: {}", mart::probe::check(&target).await?);
            Ok(())
        }
    }
}
