//! svc-notify's schema, in order. Runs at start-up and from `svc-notify migrate`.

use sea_orm_migration::prelude::*;

mod m20261210_000001_notify;
mod m20261211_000001_delivery_trace;

/// Every migration of svc-notify.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        // svc-notify announces nothing, but the outbox table is what `db::begin_write` takes
        // SQLite's write lock with; the inbox deduplicates consumed events.
        vec![
            Box::new(mart_platform::outbox::Migration),
            Box::new(mart_platform::bus::inbox::Migration),
            Box::new(m20261210_000001_notify::Migration),
            Box::new(m20261211_000001_delivery_trace::Migration),
        ]
    }
}
