//! The `notifications` table: the in-app inbox. One row per fact per user: the source (the
//! event id, or the row's own id for an admin's message) is unique, so a redelivered event
//! cannot write a second entry.

use chrono::Utc;
use mart_platform::db;
use sea_orm::{QueryOrder, QuerySelect, entity::prelude::*};

use crate::domain::{Channel, Kind, templates::Content};

/// One inbox entry.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    /// UUIDv7: newest first is highest first.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The recipient.
    pub user_id: String,
    /// `Kind`.
    pub kind: String,
    /// One line.
    pub subject: String,
    /// Plain text.
    pub body: String,
    /// The order it concerns.
    pub order_id: Option<String>,
    /// Channels besides the inbox it went out on, comma-separated (`email,sms`).
    pub channels: String,
    /// What caused it: an event id, or the id itself. Unique.
    pub source_id: String,
    /// When the recipient marked it read.
    pub read_at: Option<DateTimeUtc>,
    /// When it was created.
    pub created_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// What it is about (`None` only if a future version stored a kind this one lacks).
    pub fn kind(&self) -> Option<Kind> {
        Kind::parse(&self.kind)
    }

    /// The channels besides the inbox.
    pub fn channels(&self) -> Vec<Channel> {
        self.channels.split(',').filter_map(Channel::parse).collect()
    }
}

/// Stores a notification for `user_id`, caused by `source_id`, going out on `channels`
/// besides the inbox. `None` when `source_id` already has one (a redelivery).
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    id: &str,
    user_id: &str,
    content: &Content,
    channels: &[Channel],
    source_id: &str,
) -> Result<Option<Model>, DbErr> {
    let model = Model {
        id: id.to_owned(),
        user_id: user_id.to_owned(),
        kind: content.kind.as_str().to_owned(),
        subject: content.subject.clone(),
        body: content.text.clone(),
        order_id: content.order_id.clone(),
        channels: channels.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","),
        source_id: source_id.to_owned(),
        read_at: None,
        created_at: Utc::now(),
    };
    let inserted = db::insert_once(db, ActiveModel::from(model.clone()), [Column::SourceId]).await?;
    Ok(inserted.then_some(model))
}

/// Up to `limit` of `user_id`'s notifications, newest first, older than `before` if given,
/// unread ones only if asked.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    unread_only: bool,
    before: Option<&str>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find().filter(Column::UserId.eq(user_id));
    if unread_only {
        query = query.filter(Column::ReadAt.is_null());
    }
    if let Some(before) = before {
        query = query.filter(Column::Id.lt(before));
    }
    query.order_by_desc(Column::Id).limit(limit).all(db).await
}

/// How many of `user_id`'s notifications are unread.
pub async fn unread_count<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<u64, DbErr> {
    Entity::find().filter(Column::UserId.eq(user_id)).filter(Column::ReadAt.is_null()).count(db).await
}

/// Marks `user_id`'s notification `id` read, keeping the first `read_at`; the row, or
/// `None` when the user has no such notification.
pub async fn mark_read<C: ConnectionTrait>(db: &C, user_id: &str, id: &str) -> Result<Option<Model>, DbErr> {
    Entity::update_many()
        .col_expr(Column::ReadAt, Expr::value(Utc::now()))
        .filter(Column::Id.eq(id))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::ReadAt.is_null())
        .exec(db)
        .await?;
    Entity::find_by_id(id.to_owned()).filter(Column::UserId.eq(user_id)).one(db).await
}

/// The notifications caused by `source_id` (at most one).
pub async fn by_source<C: ConnectionTrait>(db: &C, source_id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find().filter(Column::SourceId.eq(source_id)).one(db).await
}
