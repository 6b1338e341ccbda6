//! Accounts: how they come to be, change and close. The email's unique index decides races
//! between two registrations or two email changes; the last-admin check runs after the
//! write in the same transaction, so two admins demoting each other cannot both succeed.

use mart_platform::{
    db::{self, is_unique_violation},
    wake::Waker,
};
use sea_orm::DatabaseConnection;

use super::tokens::{TokenIssuer, TokenPair};
use crate::{
    config::BootstrapAdmin,
    domain::{NewAccount, PasswordChange, Phone, ProfileChanges, Role, Status},
    error::Error,
    events, passwords,
    store::{
        refresh_tokens,
        users::{self, Change},
    },
};

/// Creates an account with `role`: the one way accounts come to be (Register, the first
/// admin, `svc-user admin create`). The email's unique index decides races.
pub async fn register(
    db: &DatabaseConnection,
    relay: &Waker,
    account: NewAccount,
    role: Role,
) -> Result<users::Model, Error> {
    let hash = passwords::hash(account.password).await?;
    let now = chrono::Utc::now();
    let txn = db::begin_write(db).await?;
    let user = users::insert(
        &txn,
        users::NewUser {
            email: account.email.as_str().to_owned(),
            password_hash: hash,
            first_name: account.first_name.into_inner(),
            last_name: account.last_name.into_inner(),
            phone: account.phone.map(Phone::into_inner),
            role,
            now,
        },
    )
    .await
    .map_err(email_taken_or)?;
    events::registered(&txn, &user).await?;
    txn.commit().await?;
    relay.wake();
    Ok(user)
}

/// Creates an admin account: what `svc-user admin create` and `mart admin create` run.
/// Fails with [`Error::EmailTaken`] if the email has an account already. The
/// UserRegistered event waits in the outbox for the running service's relay.
pub async fn create_admin(db: &DatabaseConnection, email: &str, password: &str) -> Result<users::Model, Error> {
    create_admin_and_wake(db, &Waker::new(), email, password).await
}

/// Creates the configured first admin when the shop has no active admin yet. An email that
/// belongs to a non-admin account is left as it is, with a warning.
pub async fn bootstrap_admin(db: &DatabaseConnection, relay: &Waker, admin: &BootstrapAdmin) -> Result<(), Error> {
    if users::count_active_admins(db).await? > 0 {
        return Ok(());
    }
    match create_admin_and_wake(db, relay, &admin.email, &admin.password).await {
        Ok(user) => {
            tracing::info!(email = %user.email, "created the bootstrap admin");
            Ok(())
        }
        Err(Error::EmailTaken) => {
            tracing::warn!(
                email = %admin.email,
                "MART_BOOTSTRAP_ADMIN_EMAIL belongs to an existing non-admin account; not promoting it"
            );
            Ok(())
        }
        Err(error) => Err(error),
    }
}

async fn create_admin_and_wake(
    db: &DatabaseConnection,
    relay: &Waker,
    email: &str,
    password: &str,
) -> Result<users::Model, Error> {
    let account = NewAccount::parse(email, password, "Shop", "Admin", None).map_err(Error::Invalid)?;
    register(db, relay, account, Role::Admin).await
}

/// The owner's profile change on the active account `user`; the account after. A new email
/// needs the current password. Nothing to change: `user` as it is, and no UserUpdated.
pub async fn update_profile(
    db: &DatabaseConnection,
    relay: &Waker,
    user: users::Model,
    changes: ProfileChanges,
) -> Result<users::Model, Error> {
    let email = changes.email.filter(|email| email.as_str() != user.email);
    if email.is_some() {
        let current = changes.current_password.unwrap_or_default();
        if current.is_empty() {
            return Err(Error::invalid("current_password", "required to change the email address"));
        }
        if !passwords::verify(current, Some(user.password_hash.clone())).await? {
            return Err(Error::invalid("current_password", "does not match"));
        }
    }

    let change = Change {
        first_name: changes.first_name.map(|name| name.into_inner()),
        last_name: changes.last_name.map(|name| name.into_inner()),
        phone: changes.phone.map(|phone| phone.map(Phone::into_inner)),
        email: email.map(|email| email.as_str().to_owned()),
        ..Change::default()
    };
    if change.is_empty() {
        return Ok(user);
    }

    let txn = db::begin_write(db).await?;
    let user = users::update(&txn, user, change).await.map_err(email_taken_or)?;
    events::updated(&txn, &user).await?;
    txn.commit().await?;
    relay.wake();
    Ok(user)
}

/// Sets a new password on the active account `user` once the current one matches. Every
/// session that knew the old password ends; the caller's gets a fresh pair.
pub async fn change_password(
    db: &DatabaseConnection,
    issuer: &TokenIssuer,
    user: users::Model,
    change: PasswordChange,
) -> Result<TokenPair, Error> {
    if !passwords::verify(change.current, Some(user.password_hash.clone())).await? {
        return Err(Error::invalid("current_password", "does not match"));
    }
    let hash = passwords::hash(change.new).await?;

    let txn = db::begin_write(db).await?;
    let user = users::update(&txn, user, Change { password_hash: Some(hash), ..Change::default() }).await?;
    refresh_tokens::revoke_all(&txn, &user.id).await?;
    let tokens = issuer.issue(&txn, &user, None).await?;
    txn.commit().await?;
    Ok(tokens)
}

/// The owner closes the active account `user`: it can no longer sign in, its sessions end,
/// its email stays reserved, and UserDeleted goes out. The last active admin cannot.
pub async fn delete_account(db: &DatabaseConnection, relay: &Waker, user: users::Model) -> Result<(), Error> {
    let txn = db::begin_write(db).await?;
    let was_admin = user.role == Role::Admin.as_str();
    users::lock_active_admins(&txn).await?;
    let user = users::update(&txn, user, Change { status: Some(Status::Deleted), ..Change::default() }).await?;
    if was_admin && users::count_active_admins(&txn).await? == 0 {
        return Err(Error::LastAdmin);
    }
    refresh_tokens::revoke_all(&txn, &user.id).await?;
    events::deleted(&txn, &user.id).await?;
    txn.commit().await?;
    relay.wake();
    Ok(())
}

/// An admin gives `user` the role `role`; the account after. The shop keeps at least one
/// active admin.
pub async fn set_role(db: &DatabaseConnection, user: users::Model, role: Role) -> Result<users::Model, Error> {
    if user.account_status()? == Status::Deleted {
        return Err(Error::AccountDeleted);
    }
    if user.role == role.as_str() {
        return Ok(user);
    }
    let txn = db::begin_write(db).await?;
    users::lock_active_admins(&txn).await?;
    let user = users::update(&txn, user, Change { role: Some(role), ..Change::default() }).await?;
    if role == Role::User && users::count_active_admins(&txn).await? == 0 {
        return Err(Error::LastAdmin);
    }
    // Tokens carry the role: end the sessions that were issued under the old one.
    refresh_tokens::revoke_all(&txn, &user.id).await?;
    txn.commit().await?;
    Ok(user)
}

/// The admin `actor_id` enables or disables `user`; the account after. Disabling ends its
/// sessions; admins cannot change their own status, a closed account stays closed, and the
/// shop keeps at least one active admin.
pub async fn set_status(
    db: &DatabaseConnection,
    actor_id: &str,
    user: users::Model,
    status: Status,
) -> Result<users::Model, Error> {
    if user.id == actor_id {
        return Err(Error::OwnStatus);
    }
    if user.account_status()? == Status::Deleted {
        return Err(Error::AccountDeleted);
    }
    let txn = db::begin_write(db).await?;
    let was_admin = user.role == Role::Admin.as_str();
    users::lock_active_admins(&txn).await?;
    let user = users::update(&txn, user, Change { status: Some(status), ..Change::default() }).await?;
    if status == Status::Disabled && was_admin && users::count_active_admins(&txn).await? == 0 {
        return Err(Error::LastAdmin);
    }
    if status == Status::Disabled {
        refresh_tokens::revoke_all(&txn, &user.id).await?;
    }
    txn.commit().await?;
    Ok(user)
}

fn email_taken_or(error: sea_orm::DbErr) -> Error {
    if is_unique_violation(&error) { Error::EmailTaken } else { Error::Database(error) }
}
