//! svc-notify's schema, in order. Runs at start-up and from `svc-notify migrate`.

use mart_platform::{db::AddTraceparent, schema::Migrations};
use sea_orm_migration::prelude::*;

use crate::store::deliveries;

mod m20261210_000001_notify;

/// Every migration of svc-notify.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        // svc-notify announces nothing, but it has an outbox: `db::begin_write` takes
        // SQLite's write lock with it. The inbox deduplicates consumed events.
        Migrations::outbox()
            .paging()
            .inbox()
            .then(m20261210_000001_notify::Migration)
            // The trace context of the story that created each row (see `AddTraceparent`).
            .then(AddTraceparent::new(
                "m20261211_000001_delivery_trace",
                deliveries::Entity,
                deliveries::Column::Traceparent,
            ))
            .into()
    }
}
