//! What an admin does with accounts, and what nobody else can.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use mart_platform::{db_tests, test_util::TestDb};
use mart_proto::user as pb;
use tonic::Code;

use crate::support::{PASSWORD, TestApp, authed, bad_fields, reason};

db_tests!(
    admins_list_filter_and_page_through_users,
    a_list_users_page_token_is_bound_to_its_filter,
    an_admin_makes_another_admin,
    the_last_admin_cannot_be_demoted_and_admins_cannot_lock_themselves_out,
    bad_admin_requests_are_named,
);

async fn admins_list_filter_and_page_through_users(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin("root@example.com").await;
    for name in ["anna", "anton", "bert", "berta", "carl"] {
        app.register(&format!("{name}@example.com")).await;
    }
    let mut client = app.client();
    let list = |request: pb::ListUsersRequest| {
        let mut client = app.client();
        let admin = admin.clone();
        async move { client.list_users(authed(&admin, request)).await.unwrap().into_inner() }
    };

    // Page through every account, two at a time, in creation order.
    let mut emails = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = list(pb::ListUsersRequest { page_size: 2, page_token: token.clone(), ..Default::default() }).await;
        assert!(page.users.len() <= 2);
        emails.extend(page.users.into_iter().map(|u| u.email));
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(
        emails,
        [
            "root@example.com",
            "anna@example.com",
            "anton@example.com",
            "bert@example.com",
            "berta@example.com",
            "carl@example.com"
        ]
    );

    let bert = list(pb::ListUsersRequest { email_prefix: "BERT".into(), ..Default::default() }).await;
    assert_eq!(
        bert.users.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(),
        ["bert@example.com", "berta@example.com"]
    );
    // Wildcards in the prefix are literal.
    let none = list(pb::ListUsersRequest { email_prefix: "%".into(), ..Default::default() }).await;
    assert!(none.users.is_empty());

    let admins = list(pb::ListUsersRequest { role: pb::Role::Admin.into(), ..Default::default() }).await;
    assert_eq!(admins.users.len(), 1);
    assert_eq!(admins.users[0].email, "root@example.com");

    let anna = list(pb::ListUsersRequest { email_prefix: "anna".into(), ..Default::default() }).await.users.remove(0);
    let got = client.get_user(authed(&admin, pb::GetUserRequest { user_id: anna.id.clone() })).await.unwrap();
    assert_eq!(got.into_inner().user.unwrap(), anna);
    let missing = client.get_user(authed(&admin, pb::GetUserRequest { user_id: "nobody".into() })).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let disabled = list(pb::ListUsersRequest { status: pb::UserStatus::Disabled.into(), ..Default::default() }).await;
    assert!(disabled.users.is_empty());
}

async fn a_list_users_page_token_is_bound_to_its_filter(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin("root@example.com").await;
    for name in ["anna", "anton", "bert", "berta", "carl"] {
        app.register(&format!("{name}@example.com")).await;
    }
    let list = |request: pb::ListUsersRequest| {
        let mut client = app.client();
        let admin = admin.clone();
        async move { client.list_users(authed(&admin, request)).await.map(|r| r.into_inner()) }
    };
    let customers = |page_token: String| pb::ListUsersRequest {
        page_size: 2,
        page_token,
        role: pb::Role::User.into(),
        ..Default::default()
    };

    // With the filter unchanged, the pages walk every customer once.
    let first = list(customers(String::new())).await.unwrap();
    assert!(!first.next_page_token.is_empty());
    let mut emails: Vec<_> = first.users.iter().map(|u| u.email.clone()).collect();
    let mut token = first.next_page_token.clone();
    while !token.is_empty() {
        let page = list(customers(token)).await.unwrap();
        emails.extend(page.users.into_iter().map(|u| u.email));
        token = page.next_page_token;
    }
    assert_eq!(
        emails,
        ["anna@example.com", "anton@example.com", "bert@example.com", "berta@example.com", "carl@example.com"]
    );

    // The same token with another filter is refused, naming the token.
    let changed = [
        pb::ListUsersRequest { role: pb::Role::Admin.into(), ..customers(first.next_page_token.clone()) },
        pb::ListUsersRequest { role: pb::Role::Unspecified.into(), ..customers(first.next_page_token.clone()) },
        pb::ListUsersRequest { status: pb::UserStatus::Active.into(), ..customers(first.next_page_token.clone()) },
        pb::ListUsersRequest { email_prefix: "b".into(), ..customers(first.next_page_token.clone()) },
    ];
    for request in changed {
        let status = list(request.clone()).await.expect_err("a token of another query");
        assert_eq!(status.code(), Code::InvalidArgument, "{request:?}");
        assert_eq!(bad_fields(&status), ["page_token"], "{request:?}");
    }
    // A page size of its own is fine: it does not decide which users come, or in which order.
    let bigger = list(pb::ListUsersRequest { page_size: 10, ..customers(first.next_page_token.clone()) }).await;
    assert_eq!(bigger.unwrap().users.len(), 3);

    // Forged and garbled tokens are refused the same way: a client cannot make up a cursor.
    let mut garbled = first.next_page_token.clone().into_bytes();
    let middle = garbled.len() / 2;
    garbled[middle] = if garbled[middle] == b'A' { b'B' } else { b'A' };
    let anton = &first.users[1].id;
    for forged in [
        String::from_utf8(garbled).unwrap(),
        B64.encode(anton),
        B64.encode(format!("{{\"id\":\"{anton}\"}}")),
        "not a token".to_owned(),
    ] {
        let status = list(customers(forged.clone())).await.expect_err(&forged);
        assert_eq!(bad_fields(&status), ["page_token"], "{forged}");
    }
}

async fn an_admin_makes_another_admin(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let root = app.admin("root@example.com").await;
    let helper = app.register("helper@example.com").await;
    let helper_token = app.login("helper@example.com", PASSWORD).await.unwrap().access_token;
    let mut client = app.client();

    // A customer cannot promote themselves.
    let selfie = client
        .set_user_role(authed(
            &helper_token,
            pb::SetUserRoleRequest { user_id: helper.id.clone(), role: pb::Role::Admin.into() },
        ))
        .await
        .unwrap_err();
    assert_eq!(selfie.code(), Code::PermissionDenied);

    let promoted = client
        .set_user_role(authed(
            &root,
            pb::SetUserRoleRequest { user_id: helper.id.clone(), role: pb::Role::Admin.into() },
        ))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(promoted.role(), pb::Role::Admin);
    // The new role is in the next token.
    let new_token = app.login("helper@example.com", PASSWORD).await.unwrap().access_token;
    client.list_users(authed(&new_token, pb::ListUsersRequest::default())).await.unwrap();
}

async fn the_last_admin_cannot_be_demoted_and_admins_cannot_lock_themselves_out(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let root = app.admin("root@example.com").await;
    let me = app.me(&root).await.unwrap();
    let mut client = app.client();

    let demote = client
        .set_user_role(authed(&root, pb::SetUserRoleRequest { user_id: me.id.clone(), role: pb::Role::User.into() }))
        .await
        .unwrap_err();
    assert_eq!((demote.code(), reason(&demote).as_str()), (Code::FailedPrecondition, "LAST_ADMIN"));
    let lock = client
        .set_user_status(authed(
            &root,
            pb::SetUserStatusRequest { user_id: me.id.clone(), status: pb::UserStatus::Disabled.into() },
        ))
        .await
        .unwrap_err();
    assert_eq!(lock.code(), Code::FailedPrecondition);
    let leave = client.delete_me(authed(&root, pb::DeleteMeRequest {})).await.unwrap_err();
    assert_eq!(leave.code(), Code::FailedPrecondition);
    // All refused, nothing changed.
    let still = app.me(&root).await.unwrap();
    assert_eq!((still.role(), still.status()), (pb::Role::Admin, pb::UserStatus::Active));
}

async fn bad_admin_requests_are_named(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let root = app.admin("root@example.com").await;
    let user = app.register("someone@example.com").await;
    let mut client = app.client();

    let status = client
        .set_user_role(authed(&root, pb::SetUserRoleRequest { user_id: user.id.clone(), role: 0 }))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["role"]);
    let status = client
        .set_user_status(authed(
            &root,
            pb::SetUserStatusRequest { user_id: user.id.clone(), status: pb::UserStatus::Deleted.into() },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["status"]);
    for user_id in [String::new(), "x".repeat(65), "a\u{0}b".to_owned()] {
        let status = client.get_user(authed(&root, pb::GetUserRequest { user_id })).await.unwrap_err();
        assert_eq!(bad_fields(&status), ["user_id"]);
    }
    let status = client
        .list_users(authed(
            &root,
            pb::ListUsersRequest { page_size: -1, page_token: "%%%".into(), role: 9, ..Default::default() },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["page_size", "page_token", "role"]);
    let status = client
        .set_user_role(authed(&root, pb::SetUserRoleRequest { user_id: "nobody".into(), role: pb::Role::Admin.into() }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}
