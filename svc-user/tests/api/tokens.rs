//! Access tokens, refresh tokens, signing keys: who gets in and who does not.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use ed25519_dalek::SigningKey;
use mart_platform::{
    auth::{Claims, Role, jwt},
    db_tests,
    test_util::TestDb,
};
use mart_proto::user as pb;
use tonic::Code;

use crate::support::{PASSWORD, TestApp, authed, bad_fields, reason, sealer};

db_tests!(
    no_token_wrong_role_and_tampered_tokens_are_refused,
    refresh_rotates_and_reuse_revokes_the_family,
    logout_ends_the_session,
    a_disabled_user_cannot_log_in_or_refresh,
    keys_are_published_survive_a_restart_and_rotate,
);

/// The signing key svc-user stored, to forge tokens that differ from real ones in one way.
async fn server_key(app: &TestApp) -> (String, SigningKey) {
    let db = app.database().await;
    let row = svc_user::store::signing_keys::active(&db).await.unwrap().unwrap();
    let private_key = sealer().open(&row.kid, &row.private_key).expect("the stored key opens");
    (row.kid, SigningKey::from_bytes(&private_key.try_into().unwrap()))
}

fn claims_for(user_id: &str) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub: user_id.into(),
        role: Role::User,
        iss: "mart".into(),
        aud: "mart".into(),
        exp: now + 600,
        iat: now,
        jti: "forged".into(),
        sid: "forged".into(),
    }
}

async fn no_token_wrong_role_and_tampered_tokens_are_refused(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let token = app.customer("eve@example.com").await;
    let me = app.me(&token).await.unwrap();
    let mut client = app.client();

    let anonymous = client.get_me(pb::GetMeRequest {}).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let not_bearer = {
        let mut request = tonic::Request::new(pb::GetMeRequest {});
        request.metadata_mut().insert("authorization", format!("Basic {token}").parse().unwrap());
        client.get_me(request).await.unwrap_err()
    };
    assert_eq!(not_bearer.code(), Code::Unauthenticated);

    let admin_only = client.list_users(authed(&token, pb::ListUsersRequest::default())).await.unwrap_err();
    assert_eq!((admin_only.code(), reason(&admin_only).as_str()), (Code::PermissionDenied, "ADMIN_ONLY"));

    // INTERNAL methods are for services, never for a signed-in user.
    let internal = client
        .get_address(authed(&token, pb::GetAddressRequest { user_id: me.id.clone(), address_id: "x".into() }))
        .await
        .unwrap_err();
    assert_eq!(internal.code(), Code::PermissionDenied);

    let (kid, key) = server_key(&app).await;
    let stranger = SigningKey::from_bytes(&[7; 32]);
    let mut expired = claims_for(&me.id);
    expired.exp = expired.iat - 1;
    let mut wrong_audience = claims_for(&me.id);
    wrong_audience.aud = "another-shop".into();
    let mut wrong_issuer = claims_for(&me.id);
    wrong_issuer.iss = "someone-else".into();
    let mut promoted = claims_for(&me.id);
    promoted.role = Role::Admin;
    let alg_none = format!(
        "{}.{}.",
        B64.encode(format!(r#"{{"alg":"none","typ":"JWT","kid":"{kid}"}}"#)),
        B64.encode(serde_json::to_vec(&promoted).unwrap())
    );
    let (head, rest) = token.split_once('.').unwrap();
    let signature = rest.split_once('.').unwrap().1;
    let resigned_claims = format!("{head}.{}.{signature}", B64.encode(serde_json::to_vec(&promoted).unwrap()));

    let cases = [
        ("alg none", alg_none),
        ("claims edited after signing", resigned_claims),
        ("signed by another key", jwt::sign(&claims_for(&me.id), &kid, &stranger)),
        ("expired", jwt::sign(&expired, &kid, &key)),
        ("wrong audience", jwt::sign(&wrong_audience, &kid, &key)),
        ("wrong issuer", jwt::sign(&wrong_issuer, &kid, &key)),
        ("unknown kid", jwt::sign(&claims_for(&me.id), "no-such-key", &key)),
        ("garbage", "abc.def.ghi".to_owned()),
    ];
    for (what, forged) in cases {
        let status = client.get_me(authed(&forged, pb::GetMeRequest {})).await.expect_err(what);
        assert_eq!(status.code(), Code::Unauthenticated, "{what}: {status:?}");
    }
    let expired_status =
        client.get_me(authed(&jwt::sign(&expired, &kid, &key), pb::GetMeRequest {})).await.unwrap_err();
    assert_eq!(reason(&expired_status), "TOKEN_EXPIRED");

    // The same key and claims, untampered, are accepted: the refusals above were for cause.
    assert_eq!(app.me(&jwt::sign(&claims_for(&me.id), &kid, &key)).await.unwrap().id, me.id);
}

async fn refresh_rotates_and_reuse_revokes_the_family(db: TestDb) {
    let app = TestApp::spawn(db).await;
    app.register("ada@example.com").await;
    let first = app.login("ada@example.com", PASSWORD).await.unwrap();
    let unrelated = app.login("ada@example.com", PASSWORD).await.unwrap();
    let mut client = app.client();
    let refresh = |token: &str| pb::RefreshTokenRequest { refresh_token: token.to_owned() };

    let second = client.refresh_token(refresh(&first.refresh_token)).await.unwrap().into_inner();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(second.token_type, "Bearer");
    app.me(&second.access_token).await.unwrap();
    let third = client.refresh_token(refresh(&second.refresh_token)).await.unwrap().into_inner();

    // The first token was already rotated: presenting it again means it leaked.
    let reuse = client.refresh_token(refresh(&first.refresh_token)).await.unwrap_err();
    assert_eq!(reuse.code(), Code::Unauthenticated);
    // ... and the thief's or the owner's latest token dies with the family.
    let after = client.refresh_token(refresh(&third.refresh_token)).await.unwrap_err();
    assert_eq!(after.code(), Code::Unauthenticated);
    // Another login is another family and lives on.
    client.refresh_token(refresh(&unrelated.refresh_token)).await.unwrap();

    let unknown = client.refresh_token(refresh("made-up")).await.unwrap_err();
    assert_eq!(unknown.code(), Code::Unauthenticated);
    let empty = client.refresh_token(refresh("")).await.unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument);
}

async fn logout_ends_the_session(db: TestDb) {
    let app = TestApp::spawn(db).await;
    app.register("ada@example.com").await;
    let session = app.login("ada@example.com", PASSWORD).await.unwrap();
    let mut client = app.client();

    let anonymous =
        client.logout(pb::LogoutRequest { refresh_token: session.refresh_token.clone() }).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    // Someone else's token is not theirs to revoke.
    let mallory = app.customer("mallory@example.com").await;
    client.logout(authed(&mallory, pb::LogoutRequest { refresh_token: session.refresh_token.clone() })).await.unwrap();
    let still = client.refresh_token(pb::RefreshTokenRequest { refresh_token: session.refresh_token }).await.unwrap();

    let empty = client.logout(authed(&mallory, pb::LogoutRequest { refresh_token: String::new() })).await.unwrap_err();
    assert_eq!(bad_fields(&empty), ["refresh_token"]);

    let current = still.into_inner();
    client
        .logout(authed(&current.access_token, pb::LogoutRequest { refresh_token: current.refresh_token.clone() }))
        .await
        .unwrap();
    let refused =
        client.refresh_token(pb::RefreshTokenRequest { refresh_token: current.refresh_token }).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
}

async fn a_disabled_user_cannot_log_in_or_refresh(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin("boss@example.com").await;
    let user = app.register("troll@example.com").await;
    let session = app.login("troll@example.com", PASSWORD).await.unwrap();
    let mut client = app.client();
    let set = |status: pb::UserStatus| pb::SetUserStatusRequest { user_id: user.id.clone(), status: status.into() };

    let disabled = client.set_user_status(authed(&admin, set(pb::UserStatus::Disabled))).await.unwrap();
    assert_eq!(disabled.into_inner().user.unwrap().status(), pb::UserStatus::Disabled);

    let login = app.login("troll@example.com", PASSWORD).await.unwrap_err();
    assert_eq!((login.code(), reason(&login).as_str()), (Code::PermissionDenied, "ACCOUNT_DISABLED"));
    let refresh = client
        .refresh_token(pb::RefreshTokenRequest { refresh_token: session.refresh_token.clone() })
        .await
        .unwrap_err();
    assert_ne!(refresh.code(), Code::Ok);
    // Their still-unexpired access token no longer reaches their account either.
    assert_eq!(app.me(&session.access_token).await.unwrap_err().code(), Code::PermissionDenied);

    client.set_user_status(authed(&admin, set(pb::UserStatus::Active))).await.unwrap();
    app.login("troll@example.com", PASSWORD).await.unwrap();
    // Sessions from before the lock stay dead.
    let old = client.refresh_token(pb::RefreshTokenRequest { refresh_token: session.refresh_token }).await;
    assert_eq!(old.unwrap_err().code(), Code::Unauthenticated);
}

async fn keys_are_published_survive_a_restart_and_rotate(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let token = app.customer("ada@example.com").await;
    let jwks = app.client().get_jwks(pb::GetJwksRequest {}).await.unwrap().into_inner();
    assert_eq!(jwks.keys.len(), 1);
    let jwk = &jwks.keys[0];
    assert_eq!(
        (jwk.kty.as_str(), jwk.crv.as_str(), jwk.alg.as_str(), jwk.r#use.as_str()),
        ("OKP", "Ed25519", "EdDSA", "sig")
    );
    let header: serde_json::Value =
        serde_json::from_slice(&B64.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["kid"], jwk.kid.as_str());
    assert_eq!(header["alg"], "EdDSA");

    // A restart keeps everyone signed in.
    let db = app.stop().await;
    let app = TestApp::spawn(db).await;
    app.me(&token).await.expect("the old token after a restart");

    // Rotation: a new key signs, the old one still verifies its tokens.
    let database = app.database().await;
    let new_kid = svc_user::commands::keys::rotate(&database, &sealer()).await.unwrap();
    let db = app.stop().await;
    let app = TestApp::spawn(db).await;
    let jwks = app.client().get_jwks(pb::GetJwksRequest {}).await.unwrap().into_inner();
    let kids: Vec<_> = jwks.keys.iter().map(|k| k.kid.clone()).collect();
    assert_eq!(kids.len(), 2);
    assert!(kids.contains(&new_kid) && kids.contains(&jwk.kid));
    app.me(&token).await.expect("a token signed by the retired key");
    let fresh = app.login("ada@example.com", PASSWORD).await.unwrap().access_token;
    let header: serde_json::Value =
        serde_json::from_slice(&B64.decode(fresh.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["kid"], new_kid.as_str());
    app.me(&fresh).await.unwrap();
}
