//! svc-inventory's schema, in order. Runs at start-up and from `svc-inventory migrate`.
//! [`BEFORE_VARIANTS`] counts the migrations of a database made before stock was kept per
//! variant (the upgrade test builds one).

use mart_platform::schema::Migrations;
use sea_orm_migration::prelude::*;

mod m20261124_000001_stock;
mod m20261215_000001_variants;

/// How many of [`Migrator`]'s migrations existed before stock was kept per variant: the
/// platform's three and the first stock tables.
pub const BEFORE_VARIANTS: u32 = 4;

/// Every migration of svc-inventory.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        Migrations::outbox()
            .paging()
            .inbox()
            .then(m20261124_000001_stock::Migration)
            .then(m20261215_000001_variants::Migration)
            .into()
    }
}
