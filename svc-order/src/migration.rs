//! svc-order's schema, in order. Runs at start-up and from `svc-order migrate`.

use sea_orm_migration::prelude::*;

mod m20261201_000001_orders;

/// Every migration of svc-order.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(mart_platform::outbox::Migration),
            Box::new(mart_platform::paging::Migration),
            Box::new(mart_platform::bus::inbox::Migration),
            Box::new(m20261201_000001_orders::Migration),
        ]
    }
}
