//! svc-user's schema, in order. Runs at start-up and from `svc-user migrate`.

use mart_platform::schema::Migrations;
use sea_orm_migration::prelude::*;

mod m20261124_000001_accounts;
mod m20261203_000001_revoked_sessions;

/// Every migration of svc-user.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        Migrations::outbox()
            .paging()
            .then(m20261124_000001_accounts::Migration)
            .then(m20261203_000001_revoked_sessions::Migration)
            .into()
    }
}
