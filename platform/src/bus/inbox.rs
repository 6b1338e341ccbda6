//! The inbox: which events a consumer group has handled, in the service's own database.
//! The row is written in the handler's transaction, so "handled" and "recorded" are one.

use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, sea_query::OnConflict};
use sea_orm_migration::prelude::*;

/// Records that `group` handled `event_id`; `false` if it already had (a redelivery).
pub async fn record<C: ConnectionTrait>(db: &C, group: &str, event_id: &str) -> Result<bool, DbErr> {
    let row = entity::ActiveModel {
        consumer_group: Set(group.to_owned()),
        event_id: Set(event_id.to_owned()),
        handled_at: Set(Utc::now()),
    };
    let inserted = entity::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([entity::Column::ConsumerGroup, entity::Column::EventId]).do_nothing().to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

/// Forgets what was handled longer than `retention` ago: no redelivery comes that late
/// (the outbox keeps sent rows, and so can re-send, only `MART_OUTBOX_RETENTION`). How
/// many rows went.
pub async fn prune<C: ConnectionTrait>(db: &C, retention: std::time::Duration) -> Result<u64, DbErr> {
    let cutoff = crate::db::cutoff(retention);
    let pruned = entity::Entity::delete_many().filter(entity::Column::HandledAt.lt(cutoff)).exec(db).await?;
    Ok(pruned.rows_affected)
}

/// The `inbox` row.
pub mod entity {
    use sea_orm::entity::prelude::*;

    /// One handled event.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "inbox")]
    pub struct Model {
        /// The consumer group that handled it.
        #[sea_orm(primary_key, auto_increment = false)]
        pub consumer_group: String,
        /// The envelope id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        /// When.
        pub handled_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Creates the `inbox` table. Services that consume events list it in their migrator.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m00000000_000001_platform_inbox"
    }
}

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use entity::Column;
        manager
            .create_table(
                Table::create()
                    .table(entity::Entity)
                    .if_not_exists()
                    .col(ColumnDef::new(Column::ConsumerGroup).string().not_null())
                    .col(ColumnDef::new(Column::EventId).string().not_null())
                    .col(ColumnDef::new(Column::HandledAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(Column::ConsumerGroup).col(Column::EventId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(entity::Entity).to_owned()).await
    }
}
