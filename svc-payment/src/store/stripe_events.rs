//! The `stripe_events` table: the id of every Stripe webhook event acted on, written in
//! the transaction of its effect. Stripe delivers at least once; a second delivery finds
//! its id here and changes nothing.

use chrono::Utc;
use mart_platform::db;
use sea_orm::{Set, entity::prelude::*};

/// A processed Stripe event.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stripe_events")]
pub struct Model {
    /// `evt_…`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: String,
    /// Its type, e.g. `payment_intent.succeeded`.
    pub event_type: String,
    /// When it was processed.
    pub processed_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Claims `event_id` for this transaction; false if it was processed before. Concurrent
/// deliveries of one event queue on the key, and only the first commits.
pub async fn claim<C: ConnectionTrait>(db: &C, event_id: &str, event_type: &str) -> Result<bool, DbErr> {
    let row = ActiveModel {
        event_id: Set(event_id.to_owned()),
        event_type: Set(event_type.to_owned()),
        processed_at: Set(Utc::now()),
    };
    db::insert_once(db, row, [Column::EventId]).await
}

/// Forgets events processed longer than `retention` ago (Stripe stops redelivering an
/// event after three days); how many went.
pub async fn prune<C: ConnectionTrait>(db: &C, retention: std::time::Duration) -> Result<u64, DbErr> {
    let cutoff = db::cutoff(retention);
    Ok(Entity::delete_many().filter(Column::ProcessedAt.lt(cutoff)).exec(db).await?.rows_affected)
}
