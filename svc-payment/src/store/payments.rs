//! The `payments` table: one row per order (a unique order id), with its provider, the
//! provider's ids, the amount and the status.

use chrono::{DateTime, Utc};
use mart_platform::{
    db,
    money::{Money, MoneyError},
};
use sea_orm::{QueryOrder, QuerySelect, Set, entity::prelude::*, sea_query::Expr};

use crate::domain::{PaymentStatus, ProviderKind};

/// The payment of one order.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    /// Payment id (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The order it pays; unique: one payment per order, whatever retries happen.
    #[sea_orm(unique)]
    pub order_id: String,
    /// The order's owner: who may see it.
    pub user_id: String,
    /// `ProviderKind`.
    pub provider: String,
    /// `PaymentStatus`.
    pub status: String,
    /// The order total, minor units.
    pub amount_minor: i64,
    /// Its currency (ISO 4217, upper case).
    pub currency: String,
    /// The PaymentIntent id, or the reference an admin gave a manual payment.
    pub provider_reference: Option<String>,
    /// The PaymentIntent client secret, for the order's owner while the payment is pending.
    pub client_secret: Option<String>,
    /// Why it failed, was cancelled or refunded.
    pub status_reason: Option<String>,
    /// When an unpaid payment expires.
    pub expires_at: Option<DateTimeUtc>,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
    /// W3C trace context of the checkout that opened it: its later events continue that
    /// trace, however they arrive (a webhook, an admin, the expiry sweeper).
    pub traceparent: Option<String>,
    /// Minor units given back so far (succeeded refunds).
    pub refunded_minor: i64,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The status, as the domain knows it; `None` for a value outside it (a bug), which
    /// no transition matches either.
    pub fn status(&self) -> Option<PaymentStatus> {
        PaymentStatus::parse(&self.status)
    }

    /// The provider.
    pub fn provider(&self) -> Option<ProviderKind> {
        ProviderKind::parse(&self.provider)
    }

    /// The amount; an error for a currency the shop does not know (a bug).
    pub fn amount(&self) -> Result<Money, MoneyError> {
        Money::from_stored(self.amount_minor, &self.currency)
    }

    /// What was given back so far, in the payment's currency.
    pub fn refunded(&self) -> Result<Money, MoneyError> {
        Money::from_stored(self.refunded_minor, &self.currency)
    }

    /// `minor` units in the payment's currency, for a change or an event: a currency the
    /// shop does not know makes the row corrupt (a bug, never the caller's fault).
    pub fn money(&self, minor: i64) -> Result<Money, crate::error::Error> {
        Money::from_stored(minor, &self.currency)
            .map_err(|error| crate::error::Error::Corrupt(format!("payment {}: {error}", self.id)))
    }
}

/// A payment to create.
#[derive(Debug)]
pub struct NewRow<'a> {
    /// The order.
    pub order_id: &'a str,
    /// Its owner.
    pub user_id: &'a str,
    /// Who processes it.
    pub provider: ProviderKind,
    /// Opening (the provider is to be asked) or pending (it answered already).
    pub status: PaymentStatus,
    /// Amount, minor units.
    pub amount_minor: i64,
    /// Currency.
    pub currency: &'a str,
    /// The provider's id.
    pub provider_reference: Option<String>,
    /// For Stripe.js.
    pub client_secret: Option<String>,
    /// When it expires unpaid.
    pub expires_at: DateTime<Utc>,
}

/// Creates the payment of an order; `None` if the order has one already.
pub async fn create<C: ConnectionTrait>(db: &C, row: NewRow<'_>) -> Result<Option<Model>, DbErr> {
    let now = Utc::now();
    let model = ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        order_id: Set(row.order_id.to_owned()),
        user_id: Set(row.user_id.to_owned()),
        provider: Set(row.provider.as_str().to_owned()),
        status: Set(row.status.as_str().to_owned()),
        amount_minor: Set(row.amount_minor),
        currency: Set(row.currency.to_owned()),
        provider_reference: Set(row.provider_reference),
        client_secret: Set(row.client_secret),
        status_reason: Set(None),
        expires_at: Set(Some(row.expires_at)),
        created_at: Set(now),
        updated_at: Set(now),
        traceparent: Set(mart_platform::telemetry::current_trace_context().map(|(traceparent, _)| traceparent)),
        refunded_minor: Set(0),
    };
    if !db::insert_once(db, model, [Column::OrderId]).await? {
        return Ok(None);
    }
    by_order(db, row.order_id).await
}

/// The payment of `order_id`.
pub async fn by_order<C: ConnectionTrait>(db: &C, order_id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find().filter(Column::OrderId.eq(order_id)).one(db).await
}

/// The Stripe payment whose PaymentIntent is `intent_id`.
pub async fn by_intent<C: ConnectionTrait>(db: &C, intent_id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::Provider.eq(ProviderKind::Stripe.as_str()))
        .filter(Column::ProviderReference.eq(intent_id))
        .one(db)
        .await
}

/// Records what the provider answered to opening payment `id`: its reference and the
/// client secret.
pub async fn set_checkout<C: ConnectionTrait>(
    db: &C,
    id: &str,
    reference: Option<&str>,
    client_secret: Option<&str>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::ProviderReference, Expr::value(reference.map(str::to_owned)))
        .col_expr(Column::ClientSecret, Expr::value(client_secret.map(str::to_owned)))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await
        .map(drop)
}

/// Adds `amount_minor` to what payment `id` gave back.
pub async fn add_refunded<C: ConnectionTrait>(db: &C, id: &str, amount_minor: i64) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::RefundedMinor, Expr::col(Column::RefundedMinor).add(amount_minor))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await
        .map(drop)
}

/// The orders (at most `limit`, oldest deadline first) whose payments are still pending
/// after their deadline passed at `now`.
pub async fn overdue<C: ConnectionTrait>(db: &C, now: DateTime<Utc>, limit: u64) -> Result<Vec<String>, DbErr> {
    Ok(Entity::find()
        .filter(Column::Status.eq(PaymentStatus::Pending.as_str()))
        .filter(Column::ExpiresAt.lt(now))
        .order_by_asc(Column::ExpiresAt)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|payment| payment.order_id)
        .collect())
}

/// Takes the write lock of `order_id`'s payment for the rest of the transaction, then reads
/// it: nothing can change it between the read and the caller's decision. `None` when the
/// order has no payment.
pub async fn lock<C: ConnectionTrait>(db: &C, order_id: &str) -> Result<Option<Model>, DbErr> {
    if !db::lock_row::<Entity, _>(db, Column::OrderId, order_id).await? {
        return Ok(None);
    }
    by_order(db, order_id).await
}

/// What a transition writes besides the status.
#[derive(Debug, Default)]
pub struct Change<'a> {
    /// `status_reason`.
    pub reason: Option<&'a str>,
    /// A new `provider_reference` (a manual payment's).
    pub reference: Option<&'a str>,
}

/// Moves payment `id` to `to` if it is in one of the statuses `to` may be reached from;
/// whether it did. Leaving opening or pending for anything but pending forgets the client
/// secret and the expiry: they mean nothing any more.
pub async fn transition<C: ConnectionTrait>(
    db: &C,
    id: &str,
    to: PaymentStatus,
    change: Change<'_>,
) -> Result<bool, DbErr> {
    let from: Vec<&str> = to.sources().into_iter().map(PaymentStatus::as_str).collect();
    let mut update = Entity::update_many()
        .col_expr(Column::Status, Expr::value(to.as_str()))
        .col_expr(Column::StatusReason, Expr::value(change.reason.map(str::to_owned)))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()));
    if to != PaymentStatus::Pending {
        update = update
            .col_expr(Column::ClientSecret, Expr::value(Option::<String>::None))
            .col_expr(Column::ExpiresAt, Expr::value(Option::<DateTime<Utc>>::None));
    }
    if let Some(reference) = change.reference {
        update = update.col_expr(Column::ProviderReference, Expr::value(reference));
    }
    let result = update.filter(Column::Id.eq(id)).filter(Column::Status.is_in(from)).exec(db).await?;
    Ok(result.rows_affected == 1)
}
