//! The NotificationService gRPC API. Access levels come from the contract (the platform's
//! access layer); the inbox RPCs act on the caller's own notifications only, and another
//! user's notification is NOT_FOUND, exactly like one that does not exist.

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use mart_platform::{
    auth,
    db::begin_write,
    error::{FieldViolation, Violations},
    paging,
    wire::timestamp,
};
use mart_proto::notify::{self as pb, notification_service_server::NotificationService};
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use crate::{
    delivery::{self, Channels, Notice, SenderWaker},
    domain::{self, Channel, Kind, templates::Fact},
    error::Error,
    store::{contacts, notifications},
};

/// The NotificationService implementation.
pub struct NotificationApi {
    db: DatabaseConnection,
    channels: Arc<Channels>,
    /// Nudged after every commit that queued messages.
    sender: SenderWaker,
}

impl NotificationApi {
    /// The API over `db`, queueing on `channels` and waking `sender`.
    pub fn new(db: DatabaseConnection, channels: Arc<Channels>, sender: SenderWaker) -> Self {
        Self { db, channels, sender }
    }
}

fn reply<T>(result: Result<T, Error>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl NotificationService for NotificationApi {
    async fn list_notifications(
        &self,
        request: Request<pb::ListNotificationsRequest>,
    ) -> Result<Response<pb::ListNotificationsResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                let mut violations = Violations::new();
                let limit = violations.check(paging::page_size(request.page_size)).unwrap_or(paging::DEFAULT_PAGE_SIZE);
                let before = violations.check(page_token(&request.page_token));
                violations.finish().map_err(Error::Invalid)?;

                let mut rows = notifications::list(
                    &self.db,
                    &me.user_id,
                    request.unread_only,
                    before.flatten().as_deref(),
                    limit + 1,
                )
                .await?;
                let next_page_token = if rows.len() as u64 > limit {
                    rows.truncate(limit as usize);
                    rows.last().map(|row| B64.encode(&row.id)).unwrap_or_default()
                } else {
                    String::new()
                };
                let unread = notifications::unread_count(&self.db, &me.user_id).await?;
                Ok(pb::ListNotificationsResponse {
                    notifications: rows.iter().map(to_proto).collect(),
                    next_page_token,
                    unread_count: i32::try_from(unread).unwrap_or(i32::MAX),
                })
            }
            .await,
        )
    }

    async fn mark_notification_read(
        &self,
        request: Request<pb::MarkNotificationReadRequest>,
    ) -> Result<Response<pb::MarkNotificationReadResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                let id = request.notification_id.trim();
                if id.is_empty() {
                    return Err(FieldViolation::new("notification_id", "required").into());
                }
                let row =
                    notifications::mark_read(&self.db, &me.user_id, id).await?.ok_or(Error::NotificationNotFound)?;
                Ok(pb::MarkNotificationReadResponse { notification: Some(to_proto(&row)) })
            }
            .await,
        )
    }

    async fn send_notification(
        &self,
        request: Request<pb::SendNotificationRequest>,
    ) -> Result<Response<pb::SendNotificationResponse>, Status> {
        let request = request.into_inner();
        reply(
            async {
                let mut violations = Violations::new();
                let user_id = request.user_id.trim();
                if user_id.is_empty() {
                    violations.add("user_id", "required");
                }
                let subject = violations.check(domain::subject(&request.subject));
                let body = violations.check(domain::body(&request.body));
                let wanted = violations.check(channels(&request.channels));
                violations.finish().map_err(Error::Invalid)?;
                let (Some(subject), Some(body), Some(wanted)) = (subject, body, wanted) else {
                    return Err(Error::Invalid(vec![]));
                };

                let known = contacts::find(&self.db, user_id).await?;
                if known.is_none_or(|row| row.deleted) {
                    return Err(Error::UserNotFound);
                }
                let notice = Notice {
                    user_id,
                    content: Fact::AdminMessage { subject, body }.render(),
                    source_id: None,
                    email: wanted.contains(&Channel::Email),
                    sms: wanted.contains(&Channel::Sms),
                };
                let txn = begin_write(&self.db).await?;
                // Deleted between the look-up and now: as unknown as before.
                let row = delivery::notify(&txn, &self.channels, notice).await?.ok_or(Error::UserNotFound)?;
                txn.commit().await?;
                self.sender.wake();
                Ok(pb::SendNotificationResponse { notification: Some(to_proto(&row)) })
            }
            .await,
        )
    }
}

/// The id a page token stands for; `None` for the first page.
fn page_token(token: &str) -> Result<Option<String>, FieldViolation> {
    if token.is_empty() {
        return Ok(None);
    }
    B64.decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .map(Some)
        .ok_or_else(|| FieldViolation::new("page_token", "not a token from a previous page"))
}

/// The channels an admin asked for besides the inbox: email when none are named.
fn channels(requested: &[i32]) -> Result<Vec<Channel>, FieldViolation> {
    if requested.is_empty() {
        return Ok(vec![Channel::Email]);
    }
    let mut wanted = Vec::new();
    for (index, value) in requested.iter().enumerate() {
        match pb::NotificationChannel::try_from(*value) {
            Ok(pb::NotificationChannel::Inbox) => {}
            Ok(pb::NotificationChannel::Email) => wanted.push(Channel::Email),
            Ok(pb::NotificationChannel::Sms) => wanted.push(Channel::Sms),
            Ok(pb::NotificationChannel::Unspecified) | Err(_) => {
                return Err(FieldViolation::new(format!("channels[{index}]"), "not a channel: INBOX, EMAIL or SMS"));
            }
        }
    }
    Ok(wanted)
}

fn kind_to_proto(kind: Option<Kind>) -> pb::NotificationKind {
    match kind {
        Some(Kind::Welcome) => pb::NotificationKind::Welcome,
        Some(Kind::OrderPlaced) => pb::NotificationKind::OrderPlaced,
        Some(Kind::OrderRejected) => pb::NotificationKind::OrderRejected,
        Some(Kind::PaymentSucceeded) => pb::NotificationKind::PaymentSucceeded,
        Some(Kind::OrderShipped) => pb::NotificationKind::OrderShipped,
        Some(Kind::OrderCancelled) => pb::NotificationKind::OrderCancelled,
        Some(Kind::PaymentRefunded) => pb::NotificationKind::PaymentRefunded,
        Some(Kind::AdminMessage) => pb::NotificationKind::AdminMessage,
        None => pb::NotificationKind::Unspecified,
    }
}

fn to_proto(row: &notifications::Model) -> pb::Notification {
    let channels = std::iter::once(pb::NotificationChannel::Inbox)
        .chain(row.channels().into_iter().map(|channel| match channel {
            Channel::Email => pb::NotificationChannel::Email,
            Channel::Sms => pb::NotificationChannel::Sms,
        }))
        .map(i32::from)
        .collect();
    pb::Notification {
        id: row.id.clone(),
        user_id: row.user_id.clone(),
        kind: kind_to_proto(row.kind()).into(),
        channels,
        subject: row.subject.clone(),
        body: row.body.clone(),
        order_id: row.order_id.clone().unwrap_or_default(),
        read: row.read_at.is_some(),
        read_at: row.read_at.as_ref().map(timestamp),
        created_at: Some(timestamp(&row.created_at)),
    }
}
