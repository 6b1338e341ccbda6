//! svc-notify's schema, in order. Runs at start-up and from `svc-notify migrate`.

use mart_platform::db::AddTraceparent;
use sea_orm_migration::prelude::*;

use crate::store::deliveries;

mod m20261210_000001_notify;

/// Every migration of svc-notify.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        // svc-notify announces nothing, but the outbox table is what `db::begin_write` takes
        // SQLite's write lock with; the inbox deduplicates consumed events.
        vec![
            Box::new(mart_platform::outbox::Migration),
            Box::new(mart_platform::paging::Migration),
            Box::new(mart_platform::bus::inbox::Migration),
            Box::new(m20261210_000001_notify::Migration),
            // The trace context of the story that created each row (see `AddTraceparent`).
            Box::new(AddTraceparent::new(
                "m20261211_000001_delivery_trace",
                deliveries::Entity,
                deliveries::Column::Traceparent,
            )),
        ]
    }
}
