//! svc-user as an operator sees it: reflection and health for grpcurl and load balancers,
//! the first admin, the binary's commands and its refusal of bad configuration.

use mart_platform::{
    db_tests,
    test_util::{TestDb, reflected_services, serving_status},
};
use mart_proto::user as pb;
use svc_user::config::BootstrapAdmin;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::support::{PASSWORD, TestApp, authed};

db_tests!(
    reflection_lists_the_user_service_and_health_says_serving,
    the_bootstrap_admin_is_created_once,
    the_binary_creates_admins_and_refuses_bad_config,
);

async fn reflection_lists_the_user_service_and_health_says_serving(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let names = reflected_services(app.addr).await;
    assert!(names.contains(&"mart.user.v1.UserService".to_owned()), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health".to_owned()), "{names:?}");
    // Only what this server serves: not the other five services of the contract.
    assert!(!names.iter().any(|n| n.starts_with("mart.product")), "{names:?}");

    for service in ["", "mart.user.v1.UserService"] {
        assert_eq!(serving_status(app.addr, service).await, ServingStatus::Serving, "{service:?}");
    }
    app.stop().await;
}

async fn the_bootstrap_admin_is_created_once(db: TestDb) {
    let bootstrap = |email: &str| BootstrapAdmin { email: email.into(), password: PASSWORD.into() };
    let first = bootstrap("owner@example.com");
    let app = TestApp::spawn_with(db, |config| config.own.bootstrap_admin = Some(first)).await;
    let token = app.login("owner@example.com", PASSWORD).await.unwrap().access_token;
    let listed = app.client().list_users(authed(&token, pb::ListUsersRequest::default())).await.unwrap().into_inner();
    assert_eq!(listed.users.len(), 1);
    assert_eq!(listed.users[0].role(), pb::Role::Admin);

    // An admin exists now: a later start with other credentials creates nobody.
    let db = app.stop().await;
    let second = bootstrap("intruder@example.com");
    let app = TestApp::spawn_with(db, |config| config.own.bootstrap_admin = Some(second)).await;
    assert!(app.login("intruder@example.com", PASSWORD).await.is_err());
    app.login("owner@example.com", PASSWORD).await.unwrap();
}

async fn the_binary_creates_admins_and_refuses_bad_config(db: TestDb) {
    let binary = env!("CARGO_BIN_EXE_svc-user");
    let output = tokio::process::Command::new(binary)
        .args(["admin", "create", "--email", "ops@example.com", "--password", PASSWORD])
        .env("DATABASE_URL", &db.url)
        .env_remove("MART_BOOTSTRAP_ADMIN_EMAIL")
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let weak = tokio::process::Command::new(binary)
        .args(["admin", "create", "--email", "weak@example.com", "--password", "short"])
        .env("DATABASE_URL", &db.url)
        .output()
        .await
        .unwrap();
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));

    let app = TestApp::spawn(db).await;
    let token = app.login("ops@example.com", PASSWORD).await.unwrap().access_token;
    app.client().list_users(authed(&token, pb::ListUsersRequest::default())).await.unwrap();

    for (variable, value) in [("MART_GRPC_ADDR", "not-an-address"), ("MART_ACCESS_TOKEN_TTL", "soon")] {
        let output = tokio::process::Command::new(binary).env(variable, value).output().await.unwrap();
        assert_eq!(output.status.code(), Some(2), "{variable}");
        assert!(String::from_utf8_lossy(&output.stderr).contains(variable));
    }
}
