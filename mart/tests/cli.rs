//! The `mart` command as a user meets it: bad flags and bad config are exit 2 with the
//! problem named, a taken port says which flag moves it, and migrate prepares databases,
//! embedded or one PostgreSQL database at a time.

use std::process::{Command, Output};

use mart_platform::test_util::TestDb;
use sea_orm::{ConnectionTrait, Database};

fn mart(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mart"));
    command.args(args).env_remove("DATABASE_URL").env_remove("MART_EVENT_BUS").env("RUST_LOG", "warn");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("mart runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn bad_flags_and_bad_config_exit_2_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();

    let unknown = mart(&["up", "--colour", "red"], &[]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("--colour"), "{}", stderr(&unknown));

    let bad_variable = mart(&["up", "--data-dir", data_dir], &[("MART_EVENT_BUS", "rabbitmq")]);
    assert_eq!(bad_variable.status.code(), Some(2));
    assert!(stderr(&bad_variable).contains("MART_EVENT_BUS"), "{}", stderr(&bad_variable));

    let bad_service = mart(&["migrate", "--service", "billing", "--database-url", "sqlite::memory:"], &[]);
    assert_eq!(bad_service.status.code(), Some(2));
    let bad_url = mart(&["migrate", "--service", "user", "--database-url", "mysql://x"], &[]);
    assert_eq!(bad_url.status.code(), Some(2));
    assert!(stderr(&bad_url).contains("--database-url"), "{}", stderr(&bad_url));
}

#[test]
fn a_taken_port_says_which_address_and_how_to_move() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let output = mart(&["up", "--data-dir", dir.path().to_str().unwrap(), "--http-addr", &addr], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains(&addr) && message.contains("--http-addr") && message.contains("MART_HTTP_ADDR"),
        "{message}"
    );
}

#[tokio::test]
async fn migrate_prepares_the_embedded_files_or_one_postgres_database() {
    let dir = tempfile::tempdir().unwrap();
    let output = mart(&["migrate", "--data-dir", dir.path().to_str().unwrap()], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    for service in ["user", "product", "order", "inventory", "notify", "payment"] {
        assert!(dir.path().join(format!("{service}.db")).exists(), "{service}.db");
    }

    let db = TestDb::postgres().await;
    let output = mart(&["migrate", "--service", "order", "--database-url", &db.url], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let connection = Database::connect(&db.url).await.unwrap();
    let tables = connection
        .query_all(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
        ))
        .await
        .unwrap();
    let names: Vec<String> = tables.iter().map(|row| row.try_get::<String>("", "table_name").unwrap()).collect();
    assert!(names.iter().any(|n| n == "orders"), "{names:?}");
    assert!(names.iter().any(|n| n == "outbox"), "{names:?}");
    connection.close().await.unwrap();
}

#[tokio::test]
async fn the_first_admin_goes_into_svc_users_postgres_database_from_database_url() {
    let db = TestDb::postgres().await;
    let output = mart(
        &["admin", "create", "--email", "Ops@Example.com", "--password", "a long passphrase"],
        &[("DATABASE_URL", &db.url)],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let connection = Database::connect(&db.url).await.unwrap();
    let admins = connection
        .query_all(sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Postgres, "SELECT email, role FROM users"))
        .await
        .unwrap();
    let rows: Vec<(String, String)> =
        admins.iter().map(|row| (row.try_get("", "email").unwrap(), row.try_get("", "role").unwrap())).collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, "ops@example.com");
    assert!(rows[0].1.eq_ignore_ascii_case("admin"), "{rows:?}");
    connection.close().await.unwrap();

    // A weak password is the user's mistake: exit 2, saying why.
    let weak =
        mart(&["admin", "create", "--email", "b@example.com", "--password", "short"], &[("DATABASE_URL", &db.url)]);
    assert_eq!(weak.status.code(), Some(2), "{}", stderr(&weak));
}
