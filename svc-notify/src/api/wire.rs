//! The prost <-> domain encoding of NotificationService: requests parsed into domain
//! values in one step (every bad field named), and stored notifications encoded.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use mart_platform::{
    error::{FieldViolation, Violations},
    paging,
    wire::timestamp,
};
use mart_proto::notify as pb;

use crate::{
    domain::{self, AdminMessage, Channel, Kind},
    error::Error,
    store::notifications,
};

// === requests ===

/// One page of a user's inbox, as ListNotifications asks for it.
#[derive(Debug)]
pub struct InboxPage {
    /// Unread notifications only.
    pub unread_only: bool,
    /// The last id of the previous page; `None` for the first page.
    pub before: Option<String>,
    /// Page size.
    pub limit: u64,
}

impl TryFrom<&pb::ListNotificationsRequest> for InboxPage {
    type Error = Error;

    fn try_from(request: &pb::ListNotificationsRequest) -> Result<Self, Error> {
        let mut violations = Violations::new();
        let limit = violations.check(paging::page_size(request.page_size)).unwrap_or(paging::DEFAULT_PAGE_SIZE);
        let before = violations.check(page_token(&request.page_token));
        violations.finish().map_err(Error::Invalid)?;
        Ok(Self { unread_only: request.unread_only, before: before.flatten(), limit })
    }
}

/// The token of the page after the one ending with `last_id`.
pub fn next_page_token(last_id: &str) -> String {
    B64.encode(last_id)
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

/// The notification MarkNotificationRead names: required.
pub fn notification_id(request: &pb::MarkNotificationReadRequest) -> Result<&str, Error> {
    let id = request.notification_id.trim();
    if id.is_empty() {
        return Err(FieldViolation::new("notification_id", "required").into());
    }
    Ok(id)
}

impl TryFrom<pb::SendNotificationRequest> for AdminMessage {
    type Error = Error;

    fn try_from(request: pb::SendNotificationRequest) -> Result<Self, Error> {
        let mut violations = Violations::new();
        let user_id = request.user_id.trim();
        if user_id.is_empty() {
            violations.add("user_id", "required");
        }
        let subject = violations.check(domain::subject(&request.subject));
        let body = violations.check(domain::body(&request.body));
        let wanted = violations.check(channels(&request.channels));
        violations.finish().map_err(Error::Invalid)?;
        let (Some(subject), Some(body), Some(channels)) = (subject, body, wanted) else {
            return Err(Error::Invalid(vec![]));
        };
        Ok(Self { user_id: user_id.to_owned(), subject, body, channels })
    }
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

// === responses ===

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

/// A stored notification as the API shows it: the inbox is always among its channels.
pub fn to_proto(row: &notifications::Model) -> pb::Notification {
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
