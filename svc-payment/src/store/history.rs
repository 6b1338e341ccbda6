//! The `payment_history` table: every status a payment went through, why, and on whose
//! word (an admin, a Stripe event, an order event). Support reads it when a customer asks
//! where their money is.

use chrono::Utc;
use sea_orm::{QueryOrder, Set, entity::prelude::*};

use crate::domain::PaymentStatus;

/// One step of a payment.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_history")]
pub struct Model {
    /// Step id (UUIDv7, so ids sort by time).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The payment.
    pub payment_id: String,
    /// The status before; `None` for the creation.
    pub from_status: Option<String>,
    /// The status after.
    pub to_status: String,
    /// Why, free text.
    pub reason: Option<String>,
    /// Who or what said so: `admin:<id>`, `stripe:<event id>`, `event:<event id>`.
    pub actor: String,
    /// When.
    pub created_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records that payment `payment_id` went from `from` to `to`.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    payment_id: &str,
    from: Option<PaymentStatus>,
    to: PaymentStatus,
    reason: Option<&str>,
    actor: &str,
) -> Result<(), DbErr> {
    ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        payment_id: Set(payment_id.to_owned()),
        from_status: Set(from.map(|s| s.as_str().to_owned())),
        to_status: Set(to.as_str().to_owned()),
        reason: Set(reason.map(str::to_owned)),
        actor: Set(actor.to_owned()),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .map(drop)
}

/// The steps of `payment_id`, oldest first.
pub async fn of<C: ConnectionTrait>(db: &C, payment_id: &str) -> Result<Vec<Model>, DbErr> {
    Entity::find().filter(Column::PaymentId.eq(payment_id)).order_by_asc(Column::Id).all(db).await
}
