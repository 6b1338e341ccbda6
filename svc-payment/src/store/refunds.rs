//! The `payment_refunds` table: every refund of a payment, partial or full, from the moment
//! it is asked for (pending) to its outcome. What may still be refunded is counted here
//! under the payment's lock, so concurrent refunds never add up to more than was captured.

use chrono::Utc;
use sea_orm::{QueryOrder, Set, entity::prelude::*, sea_query::Expr};

use super::payments;
use crate::domain::{RefundLine, RefundStatus};

/// One refund.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_refunds")]
pub struct Model {
    /// Refund id (UUIDv7); also its provider idempotency key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The payment refunded.
    pub payment_id: String,
    /// Its order.
    pub order_id: String,
    /// Minor units given back.
    pub amount_minor: i64,
    /// Currency (the payment's).
    pub currency: String,
    /// `RefundStatus`.
    pub status: String,
    /// Why.
    pub reason: Option<String>,
    /// The order lines it is for: a JSON array of `RefundLine`.
    pub lines: String,
    /// The provider's refund id (`re_…`); none for manual payments.
    pub provider_refund_id: Option<String>,
    /// Who asked: `admin:<id>`, `event:<id>` (the order's cancellation), `stripe:<evt>`.
    pub requested_by: String,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// When it was asked for.
    pub created_at: DateTimeUtc,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The status; `None` for a value outside the domain (a bug).
    pub fn status(&self) -> Option<RefundStatus> {
        RefundStatus::parse(&self.status)
    }

    /// The lines; none if the stored JSON does not read (a bug, never fatal).
    pub fn lines(&self) -> Vec<RefundLine> {
        serde_json::from_str(&self.lines).unwrap_or_default()
    }
}

/// A refund to record, pending until the provider answers.
#[derive(Debug)]
pub struct NewRefund<'a> {
    /// The payment it gives back from (its id, order and currency).
    pub payment: &'a payments::Model,
    /// How much.
    pub amount_minor: i64,
    /// Why.
    pub reason: Option<&'a str>,
    /// Lines.
    pub lines: &'a [RefundLine],
    /// Who asked.
    pub requested_by: &'a str,
}

/// Records a pending refund; the row.
pub async fn create<C: ConnectionTrait>(db: &C, refund: NewRefund<'_>) -> Result<Model, DbErr> {
    let now = Utc::now();
    ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        payment_id: Set(refund.payment.id.clone()),
        order_id: Set(refund.payment.order_id.clone()),
        amount_minor: Set(refund.amount_minor),
        currency: Set(refund.payment.currency.clone()),
        status: Set(RefundStatus::Pending.as_str().to_owned()),
        reason: Set(refund.reason.map(str::to_owned)),
        lines: Set(serde_json::to_string(refund.lines).unwrap_or_else(|_| "[]".to_owned())),
        provider_refund_id: Set(None),
        requested_by: Set(refund.requested_by.to_owned()),
        failure_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

/// Refund `id`.
pub async fn find<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id.to_owned()).one(db).await
}

/// Every refund of `payment_id`, oldest first.
pub async fn of<C: ConnectionTrait>(db: &C, payment_id: &str) -> Result<Vec<Model>, DbErr> {
    Entity::find().filter(Column::PaymentId.eq(payment_id)).order_by_asc(Column::Id).all(db).await
}

/// What the refunds of `payment_id` in `statuses` add up to, minor units.
pub async fn total<C: ConnectionTrait>(db: &C, payment_id: &str, statuses: &[RefundStatus]) -> Result<i64, DbErr> {
    let refunds = of(db, payment_id).await?;
    Ok(refunds.iter().filter(|r| r.status().is_some_and(|s| statuses.contains(&s))).map(|r| r.amount_minor).sum())
}

/// Settles pending refund `id` as `to` (succeeded with the provider's id, or failed with
/// why); whether it was still pending.
pub async fn settle<C: ConnectionTrait>(
    db: &C,
    id: &str,
    to: RefundStatus,
    provider_refund_id: Option<&str>,
    failure_reason: Option<&str>,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(to.as_str()))
        .col_expr(Column::ProviderRefundId, Expr::value(provider_refund_id.map(str::to_owned)))
        .col_expr(Column::FailureReason, Expr::value(failure_reason.map(str::to_owned)))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(RefundStatus::Pending.as_str()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
