//! What svc-payment tells the shop: PaymentCreated, PaymentSucceeded, PaymentFailed and
//! PaymentRefunded (one per refund, partial or full; keyed by order id), built from the payment row and appended to the
//! outbox in the transaction of the change (the commands call these).

use mart_platform::{events::envelope, money::Money, outbox};
use mart_proto::{
    common,
    events::{
        PaymentCreated, PaymentFailed, PaymentProvider, PaymentRefunded, PaymentSucceeded, RefundLine,
        envelope::Payload,
    },
};
use sea_orm::ConnectionTrait;

use crate::{
    domain::ProviderKind,
    error::Error,
    store::{payments::Model, refunds},
};

/// Announces a new payment.
pub async fn created<C: ConnectionTrait>(db: &C, payment: &Model) -> Result<(), Error> {
    let payload = PaymentCreated {
        payment_id: payment.id.clone(),
        order_id: payment.order_id.clone(),
        user_id: payment.user_id.clone(),
        amount: Some(amount(payment)?),
        provider: provider(payment).into(),
    };
    publish(db, payment, Payload::PaymentCreated(payload)).await
}

/// Announces that the money arrived.
pub async fn succeeded<C: ConnectionTrait>(db: &C, payment: &Model) -> Result<(), Error> {
    let payload = PaymentSucceeded {
        payment_id: payment.id.clone(),
        order_id: payment.order_id.clone(),
        user_id: payment.user_id.clone(),
        amount: Some(amount(payment)?),
        provider: provider(payment).into(),
    };
    publish(db, payment, Payload::PaymentSucceeded(payload)).await
}

/// Announces that the payment failed for good.
pub async fn failed<C: ConnectionTrait>(db: &C, payment: &Model, reason: &str, expired: bool) -> Result<(), Error> {
    let payload = PaymentFailed {
        payment_id: payment.id.clone(),
        order_id: payment.order_id.clone(),
        user_id: payment.user_id.clone(),
        amount: Some(amount(payment)?),
        provider: provider(payment).into(),
        reason: reason.to_owned(),
        expired,
    };
    publish(db, payment, Payload::PaymentFailed(payload)).await
}

/// Announces that `refund`'s money went back; `payment` as it is after it (what it gave
/// back in all, its status).
pub async fn refunded<C: ConnectionTrait>(db: &C, payment: &Model, refund: &refunds::Model) -> Result<(), Error> {
    let money = |minor: i64| payment.money(minor).map(Money::to_wire);
    let payload = PaymentRefunded {
        payment_id: payment.id.clone(),
        order_id: payment.order_id.clone(),
        user_id: payment.user_id.clone(),
        amount: Some(money(refund.amount_minor)?),
        provider: provider(payment).into(),
        reason: refund.reason.clone().unwrap_or_default(),
        refund_id: refund.id.clone(),
        full: payment.refunded_minor >= payment.amount_minor,
        refunded_total: Some(money(payment.refunded_minor)?),
        lines: refund
            .lines()
            .into_iter()
            .map(|line| RefundLine { product_id: line.product_id, quantity: line.quantity })
            .collect(),
    };
    publish(db, payment, Payload::PaymentRefunded(payload)).await
}

/// Every event of a payment continues the trace of the checkout that opened it (linked
/// to whatever moved the payment now), so one checkout is one trace to the end.
async fn publish<C: ConnectionTrait>(db: &C, payment: &Model, payload: Payload) -> Result<(), Error> {
    Ok(outbox::append_continuing(db, &envelope(&payment.order_id, payload), payment.traceparent.as_deref()).await?)
}

fn amount(payment: &Model) -> Result<common::Money, Error> {
    payment.money(payment.amount_minor).map(Money::to_wire)
}

fn provider(payment: &Model) -> PaymentProvider {
    match payment.provider() {
        Some(ProviderKind::Manual) => PaymentProvider::Manual,
        Some(ProviderKind::Stripe) => PaymentProvider::Stripe,
        None => PaymentProvider::Unspecified,
    }
}
