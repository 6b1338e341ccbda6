//! The NotificationService gRPC API. Access levels come from the contract (the platform's
//! access layer); the inbox RPCs act on the caller's own notifications only, and another
//! user's notification is NOT_FOUND, exactly like one that does not exist.
//!
//! Each RPC parses its request in one step ([`wire`]), calls a command ([`crate::commands`])
//! or a read (a [`crate::store`] query), and encodes the answer.

use std::sync::Arc;

use mart_platform::auth;
use mart_proto::notify::{self as pb, notification_service_server::NotificationService};
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use crate::{
    commands::{self, SenderWaker},
    domain::AdminMessage,
    error::Error,
    provider::Channels,
    store::notifications,
};

pub mod wire;

use wire::{InboxPage, to_proto};

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
                let page = InboxPage::try_from(&request)?;

                let mut rows = notifications::list(
                    &self.db,
                    &me.user_id,
                    page.unread_only,
                    page.before.as_deref(),
                    page.limit + 1,
                )
                .await?;
                let next_page_token = if rows.len() as u64 > page.limit {
                    rows.truncate(page.limit as usize);
                    rows.last().map(|row| wire::next_page_token(&row.id)).unwrap_or_default()
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
                let id = wire::notification_id(&request)?;
                let row = commands::mark_read(&self.db, &me.user_id, id).await?;
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
                let message = AdminMessage::try_from(request)?;
                let row = commands::send_admin_message(&self.db, &self.channels, &self.sender, message).await?;
                Ok(pb::SendNotificationResponse { notification: Some(to_proto(&row)) })
            }
            .await,
        )
    }
}
