//! svc-payment's schema, in order. Runs at start-up and from `svc-payment migrate`.

use mart_platform::{db::AddTraceparent, schema::Migrations};
use sea_orm_migration::prelude::*;

use crate::store::payments;

mod m20261125_000001_payments;
mod m20261204_000001_closed_orders;
mod m20261206_000001_refunds_and_calls;

/// Every migration of svc-payment.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        Migrations::outbox()
            .inbox()
            .then(m20261125_000001_payments::Migration)
            // The trace context of the story that created each row (see `AddTraceparent`).
            .then(AddTraceparent::new(
                "m20261126_000001_payment_trace",
                payments::Entity,
                payments::Column::Traceparent,
            ))
            .then(m20261204_000001_closed_orders::Migration)
            .then(m20261206_000001_refunds_and_calls::Migration)
            .into()
    }
}
