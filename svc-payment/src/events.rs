//! What svc-payment reacts to and what it tells the shop.
//!
//! It consumes `mart.order.events` in the consumer group `payment`: OrderAwaitingPayment
//! opens the order's payment, OrderCancelled cancels a pending one or refunds a succeeded
//! one. It publishes PaymentCreated, PaymentSucceeded, PaymentFailed and PaymentRefunded
//! (keyed by order id) through its outbox, in the transaction of the change. The handler
//! runs in the transaction that records the event in the inbox, and every move is keyed by
//! order id besides: the same event twice, or a second event about the same order, changes
//! nothing.

use std::time::Duration;

use futures::future::BoxFuture;
use mart_platform::{
    bus::{DatabaseTransaction, Event, Handler, HandlerError},
    events::envelope,
    outbox,
};
use mart_proto::{
    common::Money,
    events::{PaymentCreated, PaymentFailed, PaymentProvider, PaymentRefunded, PaymentSucceeded, envelope::Payload},
};
use sea_orm::ConnectionTrait;

use crate::{
    domain::{self, NewPayment, ProviderKind},
    error::Error,
    payments,
    provider::Providers,
    store::payments::Model,
};

/// The consumer group of svc-payment.
pub const GROUP: &str = "payment";

/// The topics it reads.
pub const TOPICS: [&str; 1] = ["mart.order.events"];

/// Reacts to order events.
pub struct Reactions {
    /// Who takes the money.
    pub providers: Providers,
    /// How long a new payment may stay unpaid.
    pub payment_timeout: Duration,
}

impl Handler for Reactions {
    fn handle<'a>(&'a self, txn: &'a DatabaseTransaction, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let actor = format!("event:{}", event.envelope.id);
            match &event.envelope.payload {
                Some(Payload::OrderAwaitingPayment(awaiting)) => {
                    let total = awaiting.total.clone().unwrap_or_default();
                    // A total nobody can pay is a bug upstream: retrying will not help, the
                    // dead-letter topic is where a human will look.
                    let amount = domain::Money::parse(total.amount_minor, &total.currency)
                        .map_err(|why| HandlerError(format!("order {}: {why}", awaiting.order_id)))?;
                    let new =
                        NewPayment { order_id: awaiting.order_id.clone(), user_id: awaiting.user_id.clone(), amount };
                    payments::open(txn, &self.providers, &new, self.payment_timeout, &actor).await?;
                }
                Some(Payload::OrderCancelled(cancelled)) => {
                    payments::order_cancelled(txn, &self.providers, &cancelled.order_id, &cancelled.reason, &actor)
                        .await?;
                }
                // Everything else on the topic is none of payment's business.
                _ => {}
            }
            Ok(())
        })
    }
}

/// Announces a new payment.
pub async fn created<C: ConnectionTrait>(db: &C, payment: &Model) -> Result<(), Error> {
    let payload = PaymentCreated {
        payment_id: payment.id.clone(),
        order_id: payment.order_id.clone(),
        user_id: payment.user_id.clone(),
        amount: Some(amount(payment)),
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
        amount: Some(amount(payment)),
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
        amount: Some(amount(payment)),
        provider: provider(payment).into(),
        reason: reason.to_owned(),
        expired,
    };
    publish(db, payment, Payload::PaymentFailed(payload)).await
}

/// Announces that the money went back.
pub async fn refunded<C: ConnectionTrait>(db: &C, payment: &Model, reason: Option<&str>) -> Result<(), Error> {
    let payload = PaymentRefunded {
        payment_id: payment.id.clone(),
        order_id: payment.order_id.clone(),
        user_id: payment.user_id.clone(),
        amount: Some(amount(payment)),
        provider: provider(payment).into(),
        reason: reason.unwrap_or_default().to_owned(),
    };
    publish(db, payment, Payload::PaymentRefunded(payload)).await
}

/// Every event of a payment continues the trace of the checkout that opened it (linked
/// to whatever moved the payment now), so one checkout is one trace to the end.
async fn publish<C: ConnectionTrait>(db: &C, payment: &Model, payload: Payload) -> Result<(), Error> {
    Ok(outbox::append_continuing(db, &envelope(&payment.order_id, payload), payment.traceparent.as_deref()).await?)
}

fn amount(payment: &Model) -> Money {
    Money { amount_minor: payment.amount_minor, currency: payment.currency.clone() }
}

fn provider(payment: &Model) -> PaymentProvider {
    match payment.provider() {
        Some(ProviderKind::Manual) => PaymentProvider::Manual,
        Some(ProviderKind::Stripe) => PaymentProvider::Stripe,
        None => PaymentProvider::Unspecified,
    }
}
