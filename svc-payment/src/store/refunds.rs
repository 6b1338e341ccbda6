//! The `refunds` table: at most one refund per payment (its primary key), the provider's
//! refund id beside it. The second of two racing refunds fails here even if everything
//! before it let it through.

use chrono::Utc;
use sea_orm::{Set, entity::prelude::*};

/// The refund of one payment.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    /// The payment refunded.
    #[sea_orm(primary_key, auto_increment = false)]
    pub payment_id: String,
    /// The provider's refund id (`re_…`); none for manual payments.
    pub provider_refund_id: Option<String>,
    /// Minor units given back: all of it.
    pub amount_minor: i64,
    /// Currency.
    pub currency: String,
    /// Why.
    pub reason: Option<String>,
    /// When.
    pub created_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records the refund of a payment.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    payment_id: &str,
    provider_refund_id: Option<String>,
    amount_minor: i64,
    currency: &str,
    reason: Option<&str>,
) -> Result<(), DbErr> {
    ActiveModel {
        payment_id: Set(payment_id.to_owned()),
        provider_refund_id: Set(provider_refund_id),
        amount_minor: Set(amount_minor),
        currency: Set(currency.to_owned()),
        reason: Set(reason.map(str::to_owned)),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .map(drop)
}

/// The refund of `payment_id`, if any.
pub async fn of<C: ConnectionTrait>(db: &C, payment_id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(payment_id.to_owned()).one(db).await
}
