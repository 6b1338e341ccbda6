//! Every state change of svc-notify, each in one transaction: called by the API
//! ([`crate::api`]), the event reactions ([`crate::reactions`]) and the sender
//! ([`crate::loops`]) alike.
//!
//! [`notify`] writes an inbox entry and, in the same transaction, one row per outgoing
//! message (email when SMTP is configured, SMS when the user has a phone) into the delivery
//! queue; the sender drains that queue and records each attempt ([`claim_delivery`],
//! [`finish_delivery`]). Work that runs inside the bus handler's transaction takes that
//! transaction (`&DatabaseTransaction`); the others open their own with `begin_write` and
//! wake the sender after the commit. svc-notify publishes no events, so nothing here
//! appends to the outbox.

use chrono::{DateTime, Utc};
use mart_platform::{db::begin_write, wake::Waker};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr};

use crate::{
    domain::{
        AdminMessage, Channel, Contact, DeliveryStatus,
        templates::{Content, Fact},
    },
    error::Error,
    provider::Channels,
    store::{
        contacts,
        deliveries::{self, NewDelivery, Outcome},
        notifications,
    },
};

// === notify ===

/// What to tell whom, and on which channels besides the inbox.
#[derive(Debug)]
pub struct Notice<'a> {
    /// The recipient.
    pub user_id: &'a str,
    /// The words.
    pub content: Content,
    /// What caused it (an event id): one notification per source.
    pub source_id: Option<&'a str>,
    /// Email it (when SMTP is configured).
    pub email: bool,
    /// Text it (when the user has a phone number).
    pub sms: bool,
}

/// Writes `notice` into the inbox and queues its outgoing messages, in `txn` (the bus
/// handler's, or [`send_admin_message`]'s). `None` when its source was notified already (a
/// redelivered event) or the account is deleted.
pub async fn notify(
    txn: &DatabaseTransaction,
    channels: &Channels,
    notice: Notice<'_>,
) -> Result<Option<notifications::Model>, DbErr> {
    let known = contacts::find(txn, notice.user_id).await?;
    if known.as_ref().is_some_and(|row| row.deleted) {
        return Ok(None);
    }
    let contact = known.as_ref().and_then(contacts::Model::contact);
    let mut wanted = Vec::new();
    if notice.email && channels.email() {
        wanted.push(Channel::Email);
    } else if notice.email {
        // The embedded default (no SMTP_URL): inbox and log only.
        tracing::info!(user_id = notice.user_id, subject = %notice.content.subject, "not emailed: SMTP_URL is not set");
    }
    // The phone is only known from the contact: an SMS is not held back for a late one.
    if notice.sms && contact.as_ref().is_some_and(|c| c.phone.is_some()) {
        wanted.push(Channel::Sms);
    }
    let id = uuid::Uuid::now_v7().to_string();
    let source_id = notice.source_id.unwrap_or(&id);
    let Some(notification) =
        notifications::insert(txn, &id, notice.user_id, &notice.content, &wanted, source_id).await?
    else {
        return Ok(None);
    };
    // Without a contact yet (its UserRegistered is still on the way) the email waits for it.
    let status = if contact.is_some() { DeliveryStatus::Pending } else { DeliveryStatus::Waiting };
    for channel in wanted {
        deliveries::enqueue(
            txn,
            NewDelivery {
                notification_id: &notification.id,
                user_id: notice.user_id,
                channel,
                source_id,
                subject: &notice.content.subject,
                body_text: &notice.content.text,
                body_html: notice.content.html.as_str(),
                status,
            },
        )
        .await?;
    }
    Ok(Some(notification))
}

/// Sends an admin's `message`: into the user's inbox, and out on the channels it names.
/// `UserNotFound` for a user the user events never announced, or deleted.
pub async fn send_admin_message(
    db: &DatabaseConnection,
    channels: &Channels,
    sender: &Waker,
    message: AdminMessage,
) -> Result<notifications::Model, Error> {
    let AdminMessage { user_id, subject, body, channels: wanted } = message;
    let known = contacts::find(db, &user_id).await?;
    if known.is_none_or(|row| row.deleted) {
        return Err(Error::UserNotFound);
    }
    let notice = Notice {
        user_id: &user_id,
        content: Fact::AdminMessage { subject, body }.render(),
        source_id: None,
        email: wanted.contains(&Channel::Email),
        sms: wanted.contains(&Channel::Sms),
    };
    let txn = begin_write(db).await?;
    // Deleted between the look-up and now: as unknown as before.
    let row = notify(&txn, channels, notice).await?.ok_or(Error::UserNotFound)?;
    txn.commit().await?;
    sender.wake();
    Ok(row)
}

// === the inbox ===

/// Marks `user_id`'s notification `id` read (the first time counts); the notification.
/// Another user's notification is `NotificationNotFound`, as one that does not exist.
pub async fn mark_read(db: &DatabaseConnection, user_id: &str, id: &str) -> Result<notifications::Model, Error> {
    let txn = begin_write(db).await?;
    let row = notifications::mark_read(&txn, user_id, id).await?.ok_or(Error::NotificationNotFound)?;
    txn.commit().await?;
    Ok(row)
}

// === contacts ===

/// Stores a user's contact (registered or changed) and releases the messages that waited
/// for it, in `txn`.
pub async fn contact_known(txn: &DatabaseTransaction, user_id: &str, contact: &Contact) -> Result<(), DbErr> {
    contacts::upsert(txn, user_id, contact).await?;
    deliveries::contact_arrived(txn, user_id).await?;
    Ok(())
}

/// Forgets a deleted account's contact and cancels its unsent messages, in `txn`.
pub async fn account_deleted(txn: &DatabaseTransaction, user_id: &str) -> Result<(), DbErr> {
    contacts::delete(txn, user_id).await?;
    deliveries::cancel_for_user(txn, user_id, "the account was deleted").await?;
    Ok(())
}

// === the delivery queue ===

/// Takes delivery `id` for one attempt until `lease_until`, if it is still due at `now`;
/// whether this caller got it (of two replicas racing for it, one does).
pub async fn claim_delivery(
    db: &DatabaseConnection,
    id: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let txn = begin_write(db).await?;
    let claimed = deliveries::claim(&txn, id, now, lease_until).await?;
    txn.commit().await?;
    Ok(claimed)
}

/// Records `outcome` of the attempt on `claimed` (the row as claimed): sent, failed (to be
/// retried or for good), cancelled, or waiting for its contact.
pub async fn finish_delivery(
    db: &DatabaseConnection,
    claimed: &deliveries::Model,
    outcome: Outcome,
) -> Result<(), DbErr> {
    let txn = begin_write(db).await?;
    deliveries::finish(&txn, claimed, outcome).await?;
    txn.commit().await?;
    Ok(())
}
