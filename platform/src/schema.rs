//! The tables platform keeps in every service's database, listed once: a service's
//! migrator starts from [`Migrations::outbox`], adds what it uses, then its own.
//!
//! ```ignore
//! fn migrations() -> Vec<Box<dyn MigrationTrait>> {
//!     Migrations::outbox().paging().inbox().then(m20261124_000001_stock::Migration).into()
//! }
//! ```
//!
//! The order is part of the schema's history (sea-orm records migrations by name, so a
//! database migrated earlier sees the same list): the outbox, the page-token key, the
//! inbox, then the service's own.

use sea_orm_migration::MigrationTrait;

/// A service's migrations, in order.
pub struct Migrations(Vec<Box<dyn MigrationTrait>>);

impl Migrations {
    /// The `outbox` table, which every service has: it carries the events, and
    /// `db::begin_write` takes SQLite's write lock with it even where nothing is announced.
    pub fn outbox() -> Self {
        Self(vec![Box::new(crate::outbox::Migration)])
    }

    /// The `page_token_key` table, for a service with a paged list.
    pub fn paging(self) -> Self {
        self.then(crate::paging::Migration)
    }

    /// The `inbox` table, for a service that consumes events.
    pub fn inbox(self) -> Self {
        self.then(crate::bus::inbox::Migration)
    }

    /// Then `migration`, the service's own.
    pub fn then(mut self, migration: impl MigrationTrait + 'static) -> Self {
        self.0.push(Box::new(migration));
        self
    }
}

impl From<Migrations> for Vec<Box<dyn MigrationTrait>> {
    fn from(migrations: Migrations) -> Self {
        migrations.0
    }
}

#[cfg(test)]
mod tests {
    use sea_orm_migration::MigrationName;

    use super::*;

    #[test]
    fn platform_tables_come_first_in_their_order() {
        let all: Vec<_> = Migrations::outbox().paging().inbox().into();
        let names: Vec<_> = all.iter().map(|m| m.name().to_owned()).collect();
        let expected: Vec<String> =
            [crate::outbox::Migration.name(), crate::paging::Migration.name(), crate::bus::inbox::Migration.name()]
                .map(str::to_owned)
                .into();
        assert_eq!(names, expected);
    }
}
