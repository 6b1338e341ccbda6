//! The NotificationService gRPC API. Access levels come from the contract (the platform's
//! access layer); the inbox RPCs act on the caller's own notifications only, and another
//! user's notification is NOT_FOUND, exactly like one that does not exist.
//!
//! Each RPC parses its request in one step ([`wire`]), calls a command ([`crate::commands`])
//! or a read (a [`crate::store`] query), and encodes the answer.

use std::sync::Arc;

use mart_platform::{
    auth,
    error::reply,
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
}

impl NotificationApi {
    /// The API over `db`, queueing on `channels` and waking `sender`, paging with `tokens`.
    pub fn new(db: DatabaseConnection, channels: Arc<Channels>, sender: Waker, tokens: PageTokens) -> Self {
        Self { db, channels, sender, tokens }
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
