//! svc-product's schema, in order. Runs at start-up and from `svc-product migrate`.

use mart_platform::schema::Migrations;
use sea_orm_migration::prelude::*;

mod m20261201_000001_catalog;
mod m20261215_000001_variants;

/// Every migration of svc-product.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        Migrations::outbox()
            .paging()
            .then(m20261201_000001_catalog::Migration)
            .inbox()
            .then(m20261215_000001_variants::Migration)
            .into()
    }
}
