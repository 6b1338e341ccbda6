//! Register, log in, look after your own account.

use futures::future::join_all;
use mart_platform::{db_tests, test_util::TestDb};
use mart_proto::user as pb;
use sea_orm::ConnectionTrait;
use tonic::Code;

use crate::support::{PASSWORD, TestApp, authed, bad_fields, reason};

db_tests!(
    register_log_in_and_see_yourself,
    every_bad_registration_field_is_named,
    an_email_registers_once_whatever_its_case,
    concurrent_registrations_of_one_email_make_one_account,
    wrong_password_and_unknown_email_look_the_same,
    update_your_profile,
    change_your_password,
    delete_your_account,
    a_failed_registration_leaves_neither_user_nor_event,
);

async fn register_log_in_and_see_yourself(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let user = app
        .client()
        .register(pb::RegisterRequest {
            email: "  Ada@Example.COM ".into(),
            password: PASSWORD.into(),
            first_name: " Ada ".into(),
            last_name: "Lovelace".into(),
            phone: Some("+44 20 7946 0958".into()),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(user.email, "ada@example.com");
    assert_eq!(user.first_name, "Ada");
    assert_eq!(user.phone.as_deref(), Some("+442079460958"));
    assert_eq!(user.role(), pb::Role::User);
    assert_eq!(user.status(), pb::UserStatus::Active);
    assert!(uuid::Uuid::parse_str(&user.id).is_ok_and(|id| id.get_version_num() == 7));

    let tokens = app.login("ADA@example.com", PASSWORD).await.unwrap();
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(tokens.expires_in, 15 * 60);
    assert!(!tokens.refresh_token.is_empty());

    let me = app.me(&tokens.access_token).await.unwrap();
    assert_eq!(me, user);

    // The event went out with the account, in its transaction.
    assert_eq!(app.outbox_count("mart.events.v1.UserRegistered", &user.id).await, 1);
    // And the password is stored only as an argon2id hash.
    let db = app.database().await;
    let stored = db
        .query_one(sea_orm::Statement::from_string(db.get_database_backend(), "SELECT password_hash FROM users"))
        .await
        .unwrap()
        .unwrap()
        .try_get::<String>("", "password_hash")
        .unwrap();
    assert!(stored.starts_with("$argon2id$") && !stored.contains(PASSWORD));
}

async fn every_bad_registration_field_is_named(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let good = pb::RegisterRequest {
        email: "grace@example.com".into(),
        password: PASSWORD.into(),
        first_name: "Grace".into(),
        last_name: "Hopper".into(),
        phone: None,
    };
    let cases: Vec<(&str, pb::RegisterRequest)> = vec![
        ("email", pb::RegisterRequest { email: String::new(), ..good.clone() }),
        ("email", pb::RegisterRequest { email: "grace.example.com".into(), ..good.clone() }),
        ("email", pb::RegisterRequest { email: "grace@localhost".into(), ..good.clone() }),
        ("password", pb::RegisterRequest { password: "short".into(), ..good.clone() }),
        ("password", pb::RegisterRequest { password: "zzzzzzzzzzzz".into(), ..good.clone() }),
        ("password", pb::RegisterRequest { password: "Grace@Example.com".into(), ..good.clone() }),
        ("password", pb::RegisterRequest { password: "x".repeat(64) + &"y".repeat(65), ..good.clone() }),
        ("first_name", pb::RegisterRequest { first_name: "   ".into(), ..good.clone() }),
        ("first_name", pb::RegisterRequest { first_name: "G".repeat(101), ..good.clone() }),
        ("last_name", pb::RegisterRequest { last_name: String::new(), ..good.clone() }),
        ("phone", pb::RegisterRequest { phone: Some("0151 1234567".into()), ..good.clone() }),
        ("phone", pb::RegisterRequest { phone: Some("+1-555-CALL-NOW".into()), ..good.clone() }),
    ];
    for (field, request) in cases {
        let status = app.client().register(request).await.expect_err(field);
        assert_eq!(bad_fields(&status), [field], "{status:?}");
        assert!(status.message().contains(field), "{}", status.message());
    }
    // Several bad fields are all reported at once.
    let status = app
        .client()
        .register(pb::RegisterRequest { email: "nope".into(), password: "short".into(), ..good.clone() })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["password", "email"]);
    // Nothing was stored by any of it.
    assert_eq!(app.login("grace@example.com", PASSWORD).await.unwrap_err().code(), Code::Unauthenticated);
}

async fn an_email_registers_once_whatever_its_case(db: TestDb) {
    let app = TestApp::spawn(db).await;
    app.register("linus@example.com").await;
    let status = app
        .client()
        .register(pb::RegisterRequest {
            email: "Linus@EXAMPLE.com".into(),
            password: "another good password".into(),
            first_name: "L".into(),
            last_name: "T".into(),
            phone: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    // The original owner's password still opens the account.
    app.login("linus@example.com", PASSWORD).await.unwrap();
}

async fn concurrent_registrations_of_one_email_make_one_account(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let attempts = (0..8).map(|i| {
        let mut client = app.client();
        async move {
            client
                .register(pb::RegisterRequest {
                    email: if i % 2 == 0 { "race@example.com".into() } else { "RACE@example.com".into() },
                    password: PASSWORD.into(),
                    first_name: format!("Racer {i}"),
                    last_name: "X".into(),
                    phone: None,
                })
                .await
        }
    });
    let results = join_all(attempts).await;
    let created = results.iter().filter(|r| r.is_ok()).count();
    let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).map(|s| s.code()).collect();
    assert_eq!(created, 1, "{results:?}");
    assert!(refused.iter().all(|code| *code == Code::AlreadyExists), "{refused:?}");

    let winner = results.into_iter().find_map(Result::ok).unwrap().into_inner().user.unwrap();
    assert_eq!(app.outbox_count("mart.events.v1.UserRegistered", &winner.id).await, 1);
}

async fn wrong_password_and_unknown_email_look_the_same(db: TestDb) {
    let app = TestApp::spawn(db).await;
    app.register("known@example.com").await;
    let wrong = app.login("known@example.com", "not the password").await.unwrap_err();
    let unknown = app.login("unknown@example.com", "not the password").await.unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated);
    assert_eq!((wrong.code(), wrong.message()), (unknown.code(), unknown.message()));
    assert_eq!(reason(&wrong), reason(&unknown));
    // A malformed request is a different matter: it says which field.
    assert_eq!(bad_fields(&app.login("known@example.com", "").await.unwrap_err()), ["password"]);
}

async fn update_your_profile(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let token = app.customer("ada@example.com").await;
    app.register("taken@example.com").await;
    let mut client = app.client();

    let user = client
        .update_me(authed(
            &token,
            pb::UpdateMeRequest {
                first_name: Some("  Augusta Ada ".into()),
                phone: Some("+4915112345678".into()),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!((user.first_name.as_str(), user.last_name.as_str()), ("Augusta Ada", "Lovelace"));
    assert_eq!(user.phone.as_deref(), Some("+4915112345678"));
    assert_eq!(app.outbox_count("mart.events.v1.UserUpdated", &user.id).await, 1);

    // An empty phone clears it.
    let user = client
        .update_me(authed(&token, pb::UpdateMeRequest { phone: Some(String::new()), ..Default::default() }))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(user.phone, None);

    for (request, field) in [
        (pb::UpdateMeRequest { last_name: Some(" ".into()), ..Default::default() }, "last_name"),
        (pb::UpdateMeRequest { phone: Some("12345".into()), ..Default::default() }, "phone"),
        (pb::UpdateMeRequest { email: Some("not-an-email".into()), ..Default::default() }, "email"),
        (pb::UpdateMeRequest { email: Some("new@example.com".into()), ..Default::default() }, "current_password"),
        (
            pb::UpdateMeRequest {
                email: Some("new@example.com".into()),
                current_password: Some("wrong password!".into()),
                ..Default::default()
            },
            "current_password",
        ),
    ] {
        let status = client.update_me(authed(&token, request)).await.unwrap_err();
        assert_eq!(bad_fields(&status), [field]);
    }

    let taken = client
        .update_me(authed(
            &token,
            pb::UpdateMeRequest {
                email: Some("TAKEN@example.com".into()),
                current_password: Some(PASSWORD.into()),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);

    let user = client
        .update_me(authed(
            &token,
            pb::UpdateMeRequest {
                email: Some("Countess@Example.com".into()),
                current_password: Some(PASSWORD.into()),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(user.email, "countess@example.com");
    app.login("countess@example.com", PASSWORD).await.unwrap();
    assert_eq!(app.login("ada@example.com", PASSWORD).await.unwrap_err().code(), Code::Unauthenticated);
}

async fn change_your_password(db: TestDb) {
    let app = TestApp::spawn(db).await;
    app.register("ada@example.com").await;
    let session = app.login("ada@example.com", PASSWORD).await.unwrap();
    let other_session = app.login("ada@example.com", PASSWORD).await.unwrap();
    let mut client = app.client();

    let wrong = client
        .change_password(authed(
            &session.access_token,
            pb::ChangePasswordRequest {
                current_password: "not my password".into(),
                new_password: "a new secret phrase".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&wrong), ["current_password"]);
    let weak = client
        .change_password(authed(
            &session.access_token,
            pb::ChangePasswordRequest { current_password: PASSWORD.into(), new_password: "1111111111".into() },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&weak), ["new_password"]);

    let fresh = client
        .change_password(authed(
            &session.access_token,
            pb::ChangePasswordRequest { current_password: PASSWORD.into(), new_password: "a new secret phrase".into() },
        ))
        .await
        .unwrap()
        .into_inner();

    // Every earlier session is over; the pair handed back works.
    for old in [&session.refresh_token, &other_session.refresh_token] {
        let status = client.refresh_token(pb::RefreshTokenRequest { refresh_token: old.clone() }).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
    }
    client.refresh_token(pb::RefreshTokenRequest { refresh_token: fresh.refresh_token }).await.unwrap();
    app.me(&fresh.access_token).await.unwrap();
    assert_eq!(app.login("ada@example.com", PASSWORD).await.unwrap_err().code(), Code::Unauthenticated);
    app.login("ada@example.com", "a new secret phrase").await.unwrap();
}

async fn delete_your_account(db: TestDb) {
    let app = TestApp::spawn(db).await;
    app.register("leaving@example.com").await;
    let session = app.login("leaving@example.com", PASSWORD).await.unwrap();
    let me = app.me(&session.access_token).await.unwrap();

    app.client().delete_me(authed(&session.access_token, pb::DeleteMeRequest {})).await.unwrap();

    assert_eq!(app.outbox_count("mart.events.v1.UserDeleted", &me.id).await, 1);
    assert_eq!(app.login("leaving@example.com", PASSWORD).await.unwrap_err().code(), Code::Unauthenticated);
    let refresh =
        app.client().refresh_token(pb::RefreshTokenRequest { refresh_token: session.refresh_token }).await.unwrap_err();
    assert_eq!(refresh.code(), Code::Unauthenticated);
    assert_eq!(app.me(&session.access_token).await.unwrap_err().code(), Code::NotFound);
    // The address stays reserved: nobody can take over the closed account's email.
    let again = app
        .client()
        .register(pb::RegisterRequest {
            email: "leaving@example.com".into(),
            password: PASSWORD.into(),
            first_name: "New".into(),
            last_name: "Person".into(),
            phone: None,
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists);
}

async fn a_failed_registration_leaves_neither_user_nor_event(db: TestDb) {
    let app = TestApp::spawn(db).await;
    // Make the outbox write fail, after the user row was inserted in the same transaction.
    let db = app.database().await;
    db.execute_unprepared("DROP TABLE outbox").await.unwrap();

    let status = app
        .client()
        .register(pb::RegisterRequest {
            email: "ghost@example.com".into(),
            password: PASSWORD.into(),
            first_name: "Ghost".into(),
            last_name: "User".into(),
            phone: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert!(!status.message().contains("outbox"), "internal detail leaked: {}", status.message());

    let users = db
        .query_one(sea_orm::Statement::from_string(db.get_database_backend(), "SELECT COUNT(*) AS n FROM users"))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(users, 0, "the user was committed without its event");
}
