//! svc-inventory's schema, in order. Runs at start-up and from `svc-inventory migrate`.

use mart_platform::schema::Migrations;
use sea_orm_migration::prelude::*;

mod m20261124_000001_stock;

/// Every migration of svc-inventory.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        Migrations::outbox().paging().inbox().then(m20261124_000001_stock::Migration).into()
    }
}
