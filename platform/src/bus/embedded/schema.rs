//! The embedded log's tables, and their migration.

use sea_orm_migration::prelude::*;

/// `event_log`: every record ever appended.
pub mod log {
    use sea_orm::entity::prelude::*;

    /// One record.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "event_log")]
    pub struct Model {
        /// Global append order; a record's offset.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The topic.
        pub topic: String,
        /// Hash of the key modulo the partition count.
        pub partition: i32,
        /// The aggregate id.
        pub key: String,
        /// The encoded envelope.
        pub payload: Vec<u8>,
        /// Headers as a JSON array of `[name, value]` pairs.
        pub headers: String,
        /// When it was appended.
        pub appended_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `event_offsets`: where each group reads next.
pub mod offsets {
    use sea_orm::entity::prelude::*;

    /// A group's position in one partition.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "event_offsets")]
    pub struct Model {
        /// The consumer group.
        #[sea_orm(primary_key, auto_increment = false)]
        pub group_name: String,
        /// The topic.
        #[sea_orm(primary_key, auto_increment = false)]
        pub topic: String,
        /// The partition.
        #[sea_orm(primary_key, auto_increment = false)]
        pub partition: i32,
        /// The offset to read next.
        pub next_offset: i64,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `event_members`: the live consumers of each group.
pub mod members {
    use sea_orm::entity::prelude::*;

    /// One consumer.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "event_members")]
    pub struct Model {
        /// Its group.
        #[sea_orm(primary_key, auto_increment = false)]
        pub group_name: String,
        /// Its id, fresh per start.
        #[sea_orm(primary_key, auto_increment = false)]
        pub member_id: String,
        /// Its last sign of life.
        pub heartbeat_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `event_leases`: which member processes which partition.
pub mod leases {
    use sea_orm::entity::prelude::*;

    /// A member's claim on one partition.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "event_leases")]
    pub struct Model {
        /// The group.
        #[sea_orm(primary_key, auto_increment = false)]
        pub group_name: String,
        /// The topic.
        #[sea_orm(primary_key, auto_increment = false)]
        pub topic: String,
        /// The partition.
        #[sea_orm(primary_key, auto_increment = false)]
        pub partition: i32,
        /// Who holds it.
        pub member_id: String,
        /// When it lapses unless renewed.
        pub expires_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The log's migrations (its own database, apart from any service's).
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateLog)]
    }
}

struct CreateLog;

impl MigrationName for CreateLog {
    fn name(&self) -> &str {
        "m20261124_000001_event_log"
    }
}

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for CreateLog {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use log::Column as L;
        manager
            .create_table(
                Table::create()
                    .table(log::Entity)
                    .if_not_exists()
                    .col(ColumnDef::new(L::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(L::Topic).string().not_null())
                    .col(ColumnDef::new(L::Partition).integer().not_null())
                    .col(ColumnDef::new(L::Key).string().not_null())
                    .col(ColumnDef::new(L::Payload).blob().not_null())
                    .col(ColumnDef::new(L::Headers).text().not_null())
                    .col(ColumnDef::new(L::AppendedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("event_log_partition")
                    .table(log::Entity)
                    .col(L::Topic)
                    .col(L::Partition)
                    .col(L::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;

        use offsets::Column as O;
        manager
            .create_table(
                Table::create()
                    .table(offsets::Entity)
                    .if_not_exists()
                    .col(ColumnDef::new(O::GroupName).string().not_null())
                    .col(ColumnDef::new(O::Topic).string().not_null())
                    .col(ColumnDef::new(O::Partition).integer().not_null())
                    .col(ColumnDef::new(O::NextOffset).big_integer().not_null())
                    .primary_key(Index::create().col(O::GroupName).col(O::Topic).col(O::Partition))
                    .to_owned(),
            )
            .await?;

        use members::Column as M;
        manager
            .create_table(
                Table::create()
                    .table(members::Entity)
                    .if_not_exists()
                    .col(ColumnDef::new(M::GroupName).string().not_null())
                    .col(ColumnDef::new(M::MemberId).string().not_null())
                    .col(ColumnDef::new(M::HeartbeatAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(M::GroupName).col(M::MemberId))
                    .to_owned(),
            )
            .await?;

        use leases::Column as E;
        manager
            .create_table(
                Table::create()
                    .table(leases::Entity)
                    .if_not_exists()
                    .col(ColumnDef::new(E::GroupName).string().not_null())
                    .col(ColumnDef::new(E::Topic).string().not_null())
                    .col(ColumnDef::new(E::Partition).integer().not_null())
                    .col(ColumnDef::new(E::MemberId).string().not_null())
                    .col(ColumnDef::new(E::ExpiresAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(E::GroupName).col(E::Topic).col(E::Partition))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            leases::Entity.into_table_ref(),
            members::Entity.into_table_ref(),
            offsets::Entity.into_table_ref(),
            log::Entity.into_table_ref(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
