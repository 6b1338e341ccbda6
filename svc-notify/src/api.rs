//! The NotificationService gRPC API. Access levels come from the contract (the platform's
//! access layer); the inbox RPCs act on the caller's own notifications only, and another
//! user's notification is NOT_FOUND, exactly like one that does not exist.
//!
//! Each RPC parses its request in one step ([`wire`]), calls a command ([`crate::commands`])
//! or a read (a [`crate::store`] query), and encodes the answer.

use std::sync::Arc;

use mart_platform::{
    auth,
    bus::EventBus,
    error::{FieldViolation, reply},
    paging::{self, PageTokens},
    wake::Waker,
};
use mart_proto::notify::{self as pb, notification_service_server::NotificationService};
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use crate::{commands, domain::AdminMessage, error::Error, provider::Channels, store::notifications};

pub mod wire;

use wire::{InboxPage, to_proto};

/// The NotificationService implementation.
pub struct NotificationApi {
    db: DatabaseConnection,
    channels: Arc<Channels>,
    /// Nudged after every commit that queued messages.
    sender: Waker,
    /// Signs the inbox's page tokens.
    tokens: PageTokens,
    /// The shop's event bus, which GetEventsStatus reports on (all of it: it is shared).
    bus: EventBus,
}

impl NotificationApi {
    /// The API over `db`, queueing on `channels` and waking `sender`, paging with `tokens`,
    /// reporting on `bus`.
    pub fn new(
        db: DatabaseConnection,
        channels: Arc<Channels>,
        sender: Waker,
        tokens: PageTokens,
        bus: EventBus,
    ) -> Self {
        Self { db, channels, sender, tokens, bus }
    }
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
                let page = InboxPage::parse(&request, &me.user_id, &self.tokens)?;
                let rows = notifications::list(
                    &self.db,
                    &me.user_id,
                    page.unread_only,
                    page.before.as_deref(),
                    page.limit + 1,
                )
                .await?;
                let (rows, next_page_token) =
                    paging::split(rows, page.limit, |last| page.next_page_token(&self.tokens, last));
                let unread = notifications::unread_count(&self.db, &me.user_id).await?;
                Ok::<_, Error>(pb::ListNotificationsResponse {
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
                let id = wire::notification_id(&request)?;
                let row = commands::mark_read(&self.db, &me.user_id, &id).await?;
                Ok::<_, Error>(pb::MarkNotificationReadResponse { notification: Some(to_proto(&row)) })
            }
            .await,
        )
    }

    async fn get_events_status(
        &self,
        request: Request<pb::GetEventsStatusRequest>,
    ) -> Result<Response<pb::GetEventsStatusResponse>, Status> {
        let limit = request.into_inner().dead_letter_limit;
        reply(
            async {
                let listed = match limit {
                    0 => 20,
                    1..=100 => limit as usize,
                    _ => return Err(FieldViolation::new("dead_letter_limit", "must be from 1 to 100").into()),
                };
                let status = self.bus.status(listed).await.map_err(|error| Error::Bus(error.to_string()))?;
                Ok::<_, Error>(wire::events_status(status))
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
                let message = AdminMessage::try_from(request)?;
                let row = commands::send_admin_message(&self.db, &self.channels, &self.sender, message).await?;
                Ok::<_, Error>(pb::SendNotificationResponse { notification: Some(to_proto(&row)) })
            }
            .await,
        )
    }
}
