//! Identity changes take effect within seconds: a disabled, closed or demoted account's old
//! tokens stop working, a retired key's tokens too, the shop never loses its last admin even
//! when two admins race, and the private signing keys are sealed in the database.

use std::time::Duration;

use mart_platform::{
    db_tests,
    test_util::{TestDb, within},
};
use mart_proto::user as pb;
use tonic::{Code, Status};

use crate::support::{PASSWORD, TestApp, authed, reason, sealer};

db_tests!(
    a_disabled_customer_s_old_token_is_refused_within_two_seconds,
    a_closed_account_s_and_a_logged_out_session_s_tokens_are_refused,
    a_demoted_admin_loses_admin_rpcs_at_once,
    a_retired_key_s_tokens_are_refused_within_one_refresh,
    the_last_admin_can_be_neither_disabled_nor_raced_away,
    signing_keys_are_sealed_at_rest,
);

/// The error `call` answers with once it stops accepting, at most two seconds from now.
async fn refused_within_two_seconds<F, Fut, T>(mut call: F) -> Status
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Status>>,
{
    within(Duration::from_secs(2), "the refusal", || {
        let answer = call();
        async move { answer.await.err() }
    })
    .await
}

async fn a_disabled_customer_s_old_token_is_refused_within_two_seconds(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let root = app.admin("root@example.com").await;
    let eve = app.customer("eve@example.com").await;
    let eve_id = app.me(&eve).await.expect("the token works").id;

    app.client()
        .set_user_status(authed(
            &root,
            pb::SetUserStatusRequest { user_id: eve_id, status: pb::UserStatus::Disabled.into() },
        ))
        .await
        .expect("disabled");
    // svc-user reads the account on every call, so it refuses at once; the token itself is
    // refused by every verifier within a refresh (the story through the edge shows that).
    let refused = refused_within_two_seconds(|| app.me(&eve)).await;
    assert!(matches!(refused.code(), Code::PermissionDenied | Code::Unauthenticated), "{refused:?}");
    assert!(app.me(&root).await.is_ok(), "other sessions are untouched");
}

async fn a_closed_account_s_and_a_logged_out_session_s_tokens_are_refused(db: TestDb) {
    let app = TestApp::spawn(db).await;
    app.register("ada@example.com").await;
    let first = app.login("ada@example.com", PASSWORD).await.unwrap();
    let second = app.login("ada@example.com", PASSWORD).await.unwrap();

    app.client()
        .logout(authed(&first.access_token, pb::LogoutRequest { refresh_token: first.refresh_token.clone() }))
        .await
        .unwrap();
    let refused = refused_within_two_seconds(|| app.me(&first.access_token)).await;
    assert_eq!(reason(&refused), "TOKEN_REVOKED", "logging out ends the access token too");
    assert!(app.me(&second.access_token).await.is_ok(), "the other session goes on");

    app.client().delete_me(authed(&second.access_token, pb::DeleteMeRequest {})).await.unwrap();
    let refused = refused_within_two_seconds(|| app.me(&second.access_token)).await;
    assert!(matches!(refused.code(), Code::Unauthenticated | Code::NotFound), "{refused:?}");
}

async fn a_demoted_admin_loses_admin_rpcs_at_once(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let root = app.admin("root@example.com").await;
    let deputy = app.admin("deputy@example.com").await;
    let deputy_id = app.me(&deputy).await.unwrap().id;
    let mut client = app.client();
    client.list_users(authed(&deputy, pb::ListUsersRequest::default())).await.expect("an admin lists users");

    client
        .set_user_role(authed(&root, pb::SetUserRoleRequest { user_id: deputy_id, role: pb::Role::User.into() }))
        .await
        .expect("demoted");
    // svc-user reads the caller's role for its own admin RPCs: refused at once…
    let refused = client.list_users(authed(&deputy, pb::ListUsersRequest::default())).await.unwrap_err();
    assert!(matches!(refused.code(), Code::PermissionDenied | Code::Unauthenticated), "{refused:?}");
    // …and every verifier refuses the old token within one refresh.
    let refused = refused_within_two_seconds(|| app.me(&deputy)).await;
    assert_eq!(reason(&refused), "TOKEN_REVOKED");
    let fresh = app.login("deputy@example.com", PASSWORD).await.unwrap().access_token;
    let denied = client.list_users(authed(&fresh, pb::ListUsersRequest::default())).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "the new token says customer");
}

async fn a_retired_key_s_tokens_are_refused_within_one_refresh(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let token = app.customer("ada@example.com").await;
    let database = app.database().await;
    let old = svc_user::store::signing_keys::active(&database).await.unwrap().unwrap().kid;

    let signing = svc_user::commands::keys::retire(&database, &sealer(), &old).await.unwrap();
    let signing = signing.expect("the key existed");
    assert_ne!(signing, old, "retiring the signing key puts a new one in its place");
    let refused = refused_within_two_seconds(|| app.me(&token)).await;
    assert_eq!(refused.code(), Code::Unauthenticated);
    let jwks = app.client().get_jwks(pb::GetJwksRequest {}).await.unwrap().into_inner();
    assert_eq!(jwks.keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(), [signing.as_str()]);

    let fresh = app.login("ada@example.com", PASSWORD).await.unwrap().access_token;
    app.me(&fresh).await.expect("new tokens are signed by the new key");
    assert_eq!(svc_user::commands::keys::retire(&database, &sealer(), "no-such-kid").await.unwrap(), None);
}

async fn the_last_admin_can_be_neither_disabled_nor_raced_away(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let root = app.admin("root@example.com").await;
    let deputy = app.admin("deputy@example.com").await;
    let root_id = app.me(&root).await.unwrap().id;
    let deputy_id = app.me(&deputy).await.unwrap().id;
    let mut client = app.client();

    // Disabling: the deputy disables root, then root (still signed in for a moment) tries the same.
    client
        .set_user_status(authed(
            &deputy,
            pb::SetUserStatusRequest { user_id: root_id.clone(), status: pb::UserStatus::Disabled.into() },
        ))
        .await
        .expect("one of two admins may be disabled");
    let database = app.database().await;
    let last = svc_user::store::users::find(&database, &deputy_id).await.unwrap().unwrap();
    let refused =
        svc_user::commands::accounts::set_status(&database, &root_id, last, svc_user::domain::Status::Disabled)
            .await
            .unwrap_err();
    assert!(matches!(refused, svc_user::Error::LastAdmin), "{refused:?}");
    client
        .set_user_status(authed(
            &deputy,
            pb::SetUserStatusRequest { user_id: root_id.clone(), status: pb::UserStatus::Active.into() },
        ))
        .await
        .expect("root is back");

    // Racing: each admin demotes the other at the same moment, over and over.
    for round in 0..10 {
        let (a, b) = (app.database().await, app.database().await);
        let (root_row, deputy_row) = (
            svc_user::store::users::find(&a, &root_id).await.unwrap().unwrap(),
            svc_user::store::users::find(&b, &deputy_id).await.unwrap().unwrap(),
        );
        let user = svc_user::domain::Role::User;
        let (first, second) = tokio::join!(
            svc_user::commands::accounts::set_role(&a, root_row, user),
            svc_user::commands::accounts::set_role(&b, deputy_row, user),
        );
        let demoted = [&first, &second].iter().filter(|result| result.is_ok()).count();
        assert_eq!(demoted, 1, "round {round}: exactly one demotion may pass: {first:?} {second:?}");
        let admins = svc_user::store::users::count_active_admins(&a).await.unwrap();
        assert_eq!(admins, 1, "round {round}");
        // Promote the demoted one again for the next round.
        let (demoted_id, still_admin) = if first.is_ok() { (&root_id, &deputy_id) } else { (&deputy_id, &root_id) };
        let row = svc_user::store::users::find(&a, demoted_id).await.unwrap().unwrap();
        svc_user::commands::accounts::set_role(&a, row, svc_user::domain::Role::Admin).await.unwrap();
        assert!(svc_user::store::users::find(&a, still_admin).await.unwrap().is_some());
    }
}

async fn signing_keys_are_sealed_at_rest(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let token = app.customer("ada@example.com").await;
    let database = app.database().await;
    let row = svc_user::store::signing_keys::active(&database).await.unwrap().unwrap();
    let private = sealer().open(&row.kid, &row.private_key).unwrap();
    assert_eq!(private.len(), 32);
    assert!(!row.private_key.windows(32).any(|w| w == private.as_slice()), "the stored key is not the key");

    // A key stored plain (before sealing) is sealed at the next start, and still signs.
    svc_user::store::signing_keys::set_private_key(&database, &row.kid, private.clone()).await.unwrap();
    let db = app.stop().await;
    let app = TestApp::spawn(db).await;
    let row = svc_user::store::signing_keys::active(&database).await.unwrap().unwrap();
    assert!(svc_user::keys::Sealer::is_sealed(&row.private_key), "sealed at start");
    app.me(&token).await.expect("the same key, sealed");
    app.login("ada@example.com", PASSWORD).await.expect("it still signs");

    // Another key-encryption key cannot open them: the start fails, naming the variable.
    let db = app.stop().await;
    let wrong = svc_user::keys::Sealer::generate();
    let mut config = svc_user::Config::embedded(mart_platform::config::Service::User);
    config.database_url = db.url.clone();
    config.own.key_encryption_key = Some(svc_user::config::Hidden::new(wrong));
    let bus = mart_platform::bus::EventBus::Embedded(
        mart_platform::bus::embedded::EmbeddedBus::open(&TestDb::sqlite().await.url, 1).await.unwrap(),
    );
    let listener = mart_platform::test_util::listener().await;
    let error = svc_user::serve(config, bus, listener, std::future::pending()).await.unwrap_err();
    assert!(error.to_string().contains("MART_KEY_ENCRYPTION_KEY"), "{error}");
    drop(db);
}
