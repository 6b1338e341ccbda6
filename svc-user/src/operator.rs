//! The binary's own subcommands, beside the ones every service binary has (`serve`,
//! `migrate`, `events …`): what an operator does to svc-user's database directly.

use clap::Subcommand;

use crate::config::Config;

/// Online Mart accounts service
//
// svc-user's own subcommands, `admin …` and `keys …`. The doc line above is what
// `svc-user --help` shows: clap makes an enum's doc its command's description, and this
// enum is added after platform's (whose doc would otherwise win over `run_with`'s `about`).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage admin accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// `svc-user admin …`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin account.
    Create {
        /// The admin's email (their login).
        #[arg(long)]
        email: String,
        /// Their password (better given as MART_ADMIN_PASSWORD, out of the shell history).
        #[arg(long, env = "MART_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

/// `svc-user keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Start signing with a new key; the old one verifies until its tokens expire.
    Rotate,
    /// Stop trusting key KID now (a leaked key): tokens it signed are refused everywhere
    /// within MART_AUTH_REFRESH_INTERVAL. If it is the signing key, a new one takes over.
    Retire {
        /// The key's id (the `kid` of its tokens, as GET /.well-known/jwks.json lists it).
        kid: String,
    },
}

/// Runs `command` against the database of `config`, reporting on standard error.
pub async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    let db = crate::open(&config).await?;
    let sealer = || crate::keys::sealer(&config);
    match command {
        Command::Admin(AdminCommand::Create { email, password }) => {
            let admin = crate::create_admin(&db, &email, &password).await?;
            eprintln!("created admin {} ({})", admin.email, admin.id);
        }
        Command::Keys(KeysCommand::Rotate) => {
            eprintln!("now signing with key {}", crate::commands::keys::rotate(&db, &sealer()?).await?);
        }
        Command::Keys(KeysCommand::Retire { kid }) => match crate::commands::keys::retire(&db, &sealer()?, &kid).await?
        {
            Some(signing) => eprintln!("retired key {kid}; now signing with key {signing}"),
            None => anyhow::bail!("no signing key {kid}"),
        },
    }
    Ok(())
}
