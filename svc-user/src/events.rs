//! What svc-user tells the rest of the shop: UserRegistered, UserUpdated, UserDeleted,
//! each written to the outbox in the transaction that made the change. svc-user reacts to
//! no other service's events.

use mart_platform::{events::envelope, outbox};
use mart_proto::events::{UserDeleted, UserRegistered, UserUpdated, envelope::Payload};
use sea_orm::{ConnectionTrait, DbErr};

use crate::store::users;

/// A new account.
pub async fn registered<C: ConnectionTrait>(txn: &C, user: &users::Model) -> Result<(), DbErr> {
    let payload = Payload::UserRegistered(UserRegistered {
        user_id: user.id.clone(),
        email: user.email.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        phone: user.phone.clone(),
    });
    outbox::append(txn, &envelope(&user.id, payload)).await
}

/// Contact data changed; carries the full current values.
pub async fn updated<C: ConnectionTrait>(txn: &C, user: &users::Model) -> Result<(), DbErr> {
    let payload = Payload::UserUpdated(UserUpdated {
        user_id: user.id.clone(),
        email: user.email.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        phone: user.phone.clone(),
    });
    outbox::append(txn, &envelope(&user.id, payload)).await
}

/// The owner closed the account.
pub async fn deleted<C: ConnectionTrait>(txn: &C, user_id: &str) -> Result<(), DbErr> {
    outbox::append(txn, &envelope(user_id, Payload::UserDeleted(UserDeleted { user_id: user_id.to_owned() }))).await
}
