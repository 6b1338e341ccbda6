//! The `mart` command as a user meets it: bad flags and bad config are exit 2 with the
//! problem named, a taken port says which flag moves it, migrate prepares databases,
//! embedded or one PostgreSQL database at a time, and `mart probe` tells a container's
//! health check whether the edge or service in it answers.

use std::{
    process::{Command, Output},
    time::Duration,
};

use mart::shop::{Shop, ShopConfig};
use mart_platform::{
    config::Vars,
    test_util::{TestDb, listener},
};
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

/// `mart probe` as a container's health check runs it: without the caller's own
/// `MART_HTTP_ADDR`/`MART_GRPC_ADDR`, with `env` instead. Async, so the shop this test runs
/// in the same process keeps answering meanwhile.
async fn probe(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_mart"));
    command.arg("probe").args(args).env_remove("MART_HTTP_ADDR").env_remove("MART_GRPC_ADDR");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().await.expect("mart probe runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_says_healthy_for_a_serving_edge_and_service_and_exit_1_why_not() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().display().to_string();
    let config = ShopConfig::from_vars(&Vars::from_pairs([("MART_DATA_DIR", data_dir.as_str())])).unwrap();
    let mut shop = Shop::start(config, listener().await).await.expect("the shop starts");
    shop.ready(Duration::from_secs(30)).await.expect("the shop gets ready");
    let edge = shop.http_addr;
    let order = shop.services["order"];

    // Given targets, and the defaults a container's own listen addresses imply (a wildcard
    // address is probed on loopback).
    let healthy = [
        probe(&[&format!("http://{edge}/healthz")], &[]).await,
        probe(&[&format!("grpc://{order}")], &[]).await,
        probe(&[], &[("MART_HTTP_ADDR", &format!("0.0.0.0:{}", edge.port()))]).await,
        probe(&[], &[("MART_GRPC_ADDR", &format!("0.0.0.0:{}", order.port()))]).await,
    ];
    for output in &healthy {
        assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
    }
    assert!(stdout(&healthy[0]).contains("200 OK"), "{}", stdout(&healthy[0]));
    assert!(stdout(&healthy[1]).contains("SERVING"), "{}", stdout(&healthy[1]));
    assert!(stdout(&healthy[2]).contains(&format!("http://127.0.0.1:{}/healthz", edge.port())));
    assert!(stdout(&healthy[3]).contains(&format!("grpc://127.0.0.1:{}", order.port())));

    // Not 2xx is not healthy.
    let missing = probe(&[&format!("http://{edge}/no-such-page")], &[]).await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("404"), "{}", stderr(&missing));

    // Once the shop has stopped, nothing answers there.
    shop.stop().await.expect("the shop stops");
    let gone = probe(&[&format!("grpc://{order}")], &[]).await;
    assert_eq!(gone.status.code(), Some(1), "{}", stdout(&gone));
    assert!(stderr(&gone).contains(&format!("grpc://{order}")), "names the target: {}", stderr(&gone));
}

#[tokio::test]
async fn probe_fails_with_exit_1_on_a_dead_port_a_silent_one_and_a_bad_target() {
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    for target in [format!("grpc://{dead}"), format!("http://{dead}/healthz")] {
        let output = probe(&[&target], &[]).await;
        assert_eq!(output.status.code(), Some(1), "{target}: {}", stdout(&output));
        assert!(stderr(&output).contains(&target), "names the target: {}", stderr(&output));
    }
    // Nothing set: the edge's default address; and a bad variable is named.
    let unset = probe(&[], &[("MART_HTTP_ADDR", "")]).await;
    assert!(stdout(&unset).contains("127.0.0.1:8000") || stderr(&unset).contains("127.0.0.1:8000"));
    let bad = probe(&[], &[("MART_GRPC_ADDR", "svc-user")]).await;
    assert_eq!(bad.status.code(), Some(1), "Docker reserves exit code 2 in health checks");
    assert!(stderr(&bad).contains("MART_GRPC_ADDR"), "{}", stderr(&bad));
    let scheme = probe(&["ftp://127.0.0.1:21/"], &[]).await;
    assert_eq!(scheme.status.code(), Some(1));

    // Accepts connections but never answers (the backlog takes them; nobody reads): the
    // probe gives up on its own, within its 2 s, rather than hang the health check.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let output = probe(&[&format!("http://{addr}/healthz")], &[]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("no answer within 2s"), "{}", stderr(&output));
    drop(silent);
}
