//! The Stripe provider, through async-stripe: a PaymentIntent per order (amount in minor
//! units, the order id in its metadata), cancelled when the order is, refunded through the
//! Refunds API. Each call carries an idempotency key derived from the order id, so a retry
//! returns what the first attempt created. `STRIPE_API_BASE` points it elsewhere (tests
//! point it at the fake Stripe, `stripe_fake`). What Stripe says back comes by webhook:
//! [`webhook`] checks its signature and reads it.

use std::{collections::HashMap, str::FromStr, time::Duration};

use futures::future::BoxFuture;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_core::{
    PaymentIntentStatus,
    payment_intent::{
        CancelPaymentIntent, CancelPaymentIntentCancellationReason, CreatePaymentIntent,
        CreatePaymentIntentAutomaticPaymentMethods, RetrievePaymentIntent,
    },
    refund::{CreateRefund, CreateRefundReason},
};

use super::{Checkout, Provider, ProviderError, RefundOrder, RemoteState};
use crate::domain::{NewPayment, ProviderKind, keys};

pub mod webhook;

/// How long one call to Stripe may take before it counts as unavailable (and is retried
/// later, with the same idempotency key). No database lock is held meanwhile.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The Stripe provider.
pub struct Stripe {
    client: Client,
}

impl Stripe {
    /// A client with `secret_key`, talking to `api_base` (Stripe's own when `None`).
    pub fn new(secret_key: &str, api_base: Option<&str>) -> Result<Self, ProviderError> {
        let mut builder = ClientBuilder::new(secret_key).timeout(CALL_TIMEOUT);
        if let Some(base) = api_base {
            // The SDK appends `v1/…` to the base as written: it must end in a slash.
            let base = if base.ends_with('/') { base.to_owned() } else { format!("{base}/") };
            builder = builder.url(base);
        }
        let client = builder.build().map_err(|e| ProviderError::Unavailable(format!("stripe client: {e}")))?;
        Ok(Self { client })
    }

    async fn retrieve(&self, intent_id: &str) -> Result<RemoteState, ProviderError> {
        let intent = RetrievePaymentIntent::new(intent_id).send(&self.client).await.map_err(error)?;
        Ok(remote_state(&intent.status))
    }
}

fn strategy(key: String) -> Result<RequestStrategy, ProviderError> {
    IdempotencyKey::new(key)
        .map(RequestStrategy::Idempotent)
        .map_err(|e| ProviderError::Rejected { code: "idempotency_key".into(), message: e.to_string() })
}

fn remote_state(status: &PaymentIntentStatus) -> RemoteState {
    match status {
        PaymentIntentStatus::Succeeded => RemoteState::Succeeded,
        PaymentIntentStatus::Canceled => RemoteState::Cancelled,
        // Processing, requires_* and statuses of the future: not paid (yet).
        _ => RemoteState::Open,
    }
}

fn error(error: StripeError) -> ProviderError {
    match error {
        StripeError::Stripe(details, status) if status < 500 && status != 429 && status != 409 => {
            ProviderError::Rejected {
                code: details.code.as_ref().map(|c| c.as_str().to_owned()).unwrap_or_else(|| status.to_string()),
                message: details.message.clone().unwrap_or_default(),
            }
        }
        other => ProviderError::Unavailable(other.to_string()),
    }
}

impl Provider for Stripe {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Stripe
    }

    fn start<'a>(&'a self, payment: &'a NewPayment) -> BoxFuture<'a, Result<Checkout, ProviderError>> {
        Box::pin(async move {
            // Stripe's currency codes are lower case; unknown ones are Stripe's to refuse.
            let currency = stripe_types::Currency::from_str(&payment.amount.currency.code().to_ascii_lowercase())
                .unwrap_or_else(|never| match never {});
            let metadata = HashMap::from([
                ("order_id".to_owned(), payment.order_id.clone()),
                ("user_id".to_owned(), payment.user_id.clone()),
            ]);
            let intent = CreatePaymentIntent::new(payment.amount.amount_minor, currency)
                .metadata(metadata)
                .description(format!("Online Mart order {}", payment.order_id))
                .automatic_payment_methods(CreatePaymentIntentAutomaticPaymentMethods::new(true))
                .customize()
                .request_strategy(strategy(keys::intent(&payment.order_id))?)
                .send(&self.client)
                .await
                .map_err(error)?;
            Ok(Checkout { reference: Some(intent.id.to_string()), client_secret: intent.client_secret })
        })
    }

    fn cancel<'a>(
        &'a self,
        order_id: &'a str,
        reference: Option<&'a str>,
    ) -> BoxFuture<'a, Result<RemoteState, ProviderError>> {
        Box::pin(async move {
            let Some(intent_id) = reference else { return Ok(RemoteState::Cancelled) };
            let cancelled = CancelPaymentIntent::new(intent_id)
                .cancellation_reason(CancelPaymentIntentCancellationReason::Abandoned)
                .customize()
                .request_strategy(strategy(keys::cancel(order_id))?)
                .send(&self.client)
                .await;
            match cancelled {
                Ok(intent) => Ok(remote_state(&intent.status)),
                // Stripe refuses to cancel an intent that already succeeded (or was
                // cancelled): ask where it stands, so a payment that beat the cancel is
                // refunded rather than lost.
                Err(e @ StripeError::Stripe(_, 400)) => {
                    let state = self.retrieve(intent_id).await?;
                    if state == RemoteState::Open { Err(error(e)) } else { Ok(state) }
                }
                Err(other) => Err(error(other)),
            }
        })
    }

    fn refund<'a>(&'a self, refund: RefundOrder<'a>) -> BoxFuture<'a, Result<Option<String>, ProviderError>> {
        Box::pin(async move {
            let Some(intent_id) = refund.reference else {
                return Err(ProviderError::Rejected {
                    code: "no_payment_intent".into(),
                    message: "the payment has no PaymentIntent to refund".into(),
                });
            };
            let mut metadata = HashMap::from([
                ("order_id".to_owned(), refund.order_id.to_owned()),
                ("refund_id".to_owned(), refund.refund_id.to_owned()),
            ]);
            if let Some(reason) = refund.reason {
                metadata.insert("reason".to_owned(), reason.to_owned());
            }
            let created = CreateRefund::new()
                .payment_intent(intent_id)
                .amount(refund.amount.amount_minor)
                .reason(CreateRefundReason::RequestedByCustomer)
                .metadata(metadata)
                .customize()
                .request_strategy(strategy(keys::refund(refund.refund_id))?)
                .send(&self.client)
                .await
                .map_err(error)?;
            Ok(Some(created.id.to_string()))
        })
    }

    fn state<'a>(&'a self, reference: Option<&'a str>) -> BoxFuture<'a, Result<Option<RemoteState>, ProviderError>> {
        Box::pin(async move {
            match reference {
                Some(intent_id) => self.retrieve(intent_id).await.map(Some),
                None => Ok(None),
            }
        })
    }
}
