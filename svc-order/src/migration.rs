//! svc-order's schema, in order. Runs at start-up and from `svc-order migrate`.

use mart_platform::schema::Migrations;
use sea_orm_migration::prelude::*;

mod m20261201_000001_orders;
mod m20261204_000001_unpaid_caps;
mod m20261210_000001_refunded;
mod m20261217_000001_variants;
mod m20261220_000001_sales;

/// Every migration of svc-order.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        Migrations::outbox()
            .paging()
            .inbox()
            .then(m20261201_000001_orders::Migration)
            .then(m20261204_000001_unpaid_caps::Migration)
            .then(m20261210_000001_refunded::Migration)
            .then(m20261217_000001_variants::Migration)
            .then(m20261220_000001_sales::Migration)
            .into()
    }
}
