//! The prost <-> domain encoding of NotificationService: requests parsed into domain
//! values in one step (every bad field named), and stored notifications encoded.

use mart_platform::{
    bus::ops::BusStatus,
    error::{FieldViolation, Violations},
    fields,
    paging::{self, Fingerprint, PageTokens},
    wire::timestamp,
};
use mart_proto::notify as pb;
use serde::{Deserialize, Serialize};

use crate::{
    domain::{AdminMessage, Channel, Kind, MAX_BODY, MAX_SUBJECT},
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
    /// The query its tokens are bound to: whose inbox, and whether unread ones only.
    fingerprint: Fingerprint,
}

/// Where a page of an inbox ended: the last notification's id (UUIDv7, so in the inbox's
/// newest-first order).
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    id: String,
}

impl InboxPage {
    /// The page of `user_id`'s inbox that `request` asks for, its token read with `tokens`:
    /// a token issued for another inbox or another `unread_only` is a `page_token` violation.
    pub fn parse(request: &pb::ListNotificationsRequest, user_id: &str, tokens: &PageTokens) -> Result<Self, Error> {
        let fingerprint = paging::fingerprint("ListNotifications", &(user_id, request.unread_only));
        let mut violations = Violations::new();
        let limit = violations.check(paging::page_size(request.page_size)).unwrap_or(paging::DEFAULT_PAGE_SIZE);
        let cursor = violations.check(tokens.read::<Cursor>(&request.page_token, fingerprint));
        violations.finish().map_err(Error::Invalid)?;
        Ok(Self { unread_only: request.unread_only, before: cursor.flatten().map(|c| c.id), limit, fingerprint })
    }

    /// The token of the page after this one, which ended with `last`.
    pub fn next_page_token(&self, tokens: &PageTokens, last: &notifications::Model) -> String {
        tokens.issue(self.fingerprint, &Cursor { id: last.id.clone() })
    }
}

/// The notification MarkNotificationRead names.
pub fn notification_id(request: &pb::MarkNotificationReadRequest) -> Result<String, Error> {
    Ok(fields::id("notification_id", &request.notification_id)?)
}

impl TryFrom<pb::SendNotificationRequest> for AdminMessage {
    type Error = Error;

    fn try_from(request: pb::SendNotificationRequest) -> Result<Self, Error> {
        let mut violations = Violations::new();
        let user_id = violations.check(fields::id("user_id", &request.user_id));
        let subject = violations.check(fields::line("subject", &request.subject, true, MAX_SUBJECT));
        let body = violations.check(fields::paragraph("body", &request.body, true, MAX_BODY));
        let wanted = violations.check(channels(&request.channels));
        violations.finish().map_err(Error::Invalid)?;
        let (Some(user_id), Some(subject), Some(body), Some(channels)) = (user_id, subject, body, wanted) else {
            return Err(Error::Invalid(vec![]));
        };
        Ok(Self { user_id, subject, body, channels })
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

/// The bus report as GetEventsStatus answers it.
pub fn events_status(status: BusStatus) -> pb::GetEventsStatusResponse {
    let lag = status
        .lag
        .into_iter()
        .map(|(group, topic, waiting)| pb::ConsumerLag {
            group,
            topic,
            waiting: i64::try_from(waiting).unwrap_or(i64::MAX),
        })
        .collect();
    let mut dead_letters = Vec::new();
    let mut dead_letter_counts = std::collections::HashMap::new();
    for (topic, letters, count) in status.dead_letters {
        dead_letters.extend(letters.into_iter().map(|letter| pb::DeadLetter {
            topic: topic.clone(),
            partition: letter.partition,
            offset: letter.offset,
            event_id: letter.event_id,
            event_type: letter.event_type,
            group: letter.group,
            error: letter.error,
            attempts: letter.attempts,
        }));
        dead_letter_counts.insert(topic, i64::try_from(count).unwrap_or(i64::MAX));
    }
    pb::GetEventsStatusResponse { lag, dead_letters, dead_letter_counts }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields_of(request: pb::SendNotificationRequest) -> Vec<String> {
        match AdminMessage::try_from(request) {
            Err(Error::Invalid(violations)) => violations.into_iter().map(|v| v.field).collect(),
            other => panic!("expected a violation, got {other:?}"),
        }
    }

    #[test]
    fn admin_text_is_checked() {
        let good = pb::SendNotificationRequest {
            user_id: " u1 ".into(),
            subject: "  Hi ".into(),
            body: "Line 1\n\tLine 2".into(),
            channels: vec![],
        };
        let message = AdminMessage::try_from(good.clone()).unwrap();
        assert_eq!((message.user_id.as_str(), message.subject.as_str()), ("u1", "Hi"));
        assert_eq!(message.body, "Line 1\n\tLine 2");
        assert_eq!(message.channels, [Channel::Email], "email when none are named");

        let with = |subject: &str, body: &str| pb::SendNotificationRequest {
            subject: subject.into(),
            body: body.into(),
            ..good.clone()
        };
        assert_eq!(fields_of(with(" ", "x")), ["subject"]);
        assert_eq!(fields_of(with(&"x".repeat(MAX_SUBJECT + 1), "x")), ["subject"]);
        assert_eq!(fields_of(with("a\r\nBcc: x@y", "x")), ["subject"], "no header injection");
        assert_eq!(fields_of(with("Hi", "")), ["body"]);
        assert_eq!(fields_of(with("Hi", &"x".repeat(MAX_BODY + 1))), ["body"]);
        assert!(AdminMessage::try_from(with("Hi", &"x".repeat(MAX_BODY))).is_ok());
        let long_id = pb::SendNotificationRequest { user_id: "x".repeat(fields::MAX_ID + 1), ..good };
        assert_eq!(fields_of(long_id), ["user_id"]);
    }

    #[test]
    fn page_tokens_are_bound_to_the_inbox_and_its_filter() {
        let tokens = PageTokens::with_key([3; 32]);
        let request = |page_token: &str, unread_only: bool| pb::ListNotificationsRequest {
            page_size: 2,
            page_token: page_token.to_owned(),
            unread_only,
        };
        let first = InboxPage::parse(&request("", false), "ada", &tokens).unwrap();
        assert_eq!((first.before.as_deref(), first.limit), (None, 2));
        let last = notifications::Model {
            id: "0192-b".into(),
            user_id: "ada".into(),
            kind: Kind::Welcome.as_str().into(),
            subject: String::new(),
            body: String::new(),
            order_id: None,
            channels: String::new(),
            source_id: "0192-b".into(),
            read_at: None,
            created_at: chrono::Utc::now(),
        };
        let token = first.next_page_token(&tokens, &last);
        let next = InboxPage::parse(&request(&token, false), "ada", &tokens).unwrap();
        assert_eq!(next.before.as_deref(), Some("0192-b"));
        for (unread_only, user) in [(true, "ada"), (false, "bob")] {
            let refused = InboxPage::parse(&request(&token, unread_only), user, &tokens).unwrap_err();
            assert!(matches!(&refused, Error::Invalid(v) if v[0].field == "page_token"), "{refused:?}");
        }
    }
}
