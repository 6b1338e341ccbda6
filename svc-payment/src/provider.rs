//! Who takes the money: the [`Provider`] trait and its two implementations, [`manual`]
//! (an admin confirms) and [`stripe`] (PaymentIntents through async-stripe, and the
//! webhooks Stripe sends back, [`stripe::webhook`]).
//!
//! Every call is safe to repeat: the Stripe provider sends an idempotency key derived from
//! the order id or the refund id ([`crate::domain::keys`]), so a retry gets the object the
//! first attempt made. A remote provider is never called inside a database transaction:
//! the change that needs a call queues it ([`crate::store::calls`]), and the call is made
//! after the commit, its answer recorded in a transaction of its own
//! ([`crate::commands::calls`]). A [`Provider::local`] one (manual) answers at once
//! without I/O, so its calls are made in the change's own transaction.

use std::sync::Arc;

use futures::future::BoxFuture;
use mart_platform::money::Money;

use crate::{
    config::Settings,
    domain::{NewPayment, ProviderKind},
};

pub mod manual;
pub mod stripe;

/// What the customer needs to pay a new payment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checkout {
    /// The provider's id of the payment (a PaymentIntent id).
    pub reference: Option<String>,
    /// The PaymentIntent client secret for Stripe.js.
    pub client_secret: Option<String>,
}

/// Where a payment stands at the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteState {
    /// Not paid yet (the customer may still pay, or retry after a decline).
    Open,
    /// Paid.
    Succeeded,
    /// Cancelled: it can no longer be paid.
    Cancelled,
}

/// A refund to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundOrder<'a> {
    /// The order paid for.
    pub order_id: &'a str,
    /// The refund (its idempotency key).
    pub refund_id: &'a str,
    /// The provider's id of the payment.
    pub reference: Option<&'a str>,
    /// How much.
    pub amount: &'a Money,
    /// Why, free text.
    pub reason: Option<&'a str>,
}

/// Why a provider call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider did not answer, or answered with a server error: retry.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request.
    #[error("payment provider refused ({code}): {message}")]
    Rejected {
        /// Its error code, e.g. `charge_already_refunded`.
        code: String,
        /// Its explanation.
        message: String,
    },
    /// The payment belongs to a provider that is not configured here.
    #[error("the {0} provider is not configured")]
    NotConfigured(&'static str),
}

/// A payment provider.
pub trait Provider: Send + Sync + 'static {
    /// Which one it is.
    fn kind(&self) -> ProviderKind;

    /// Whether it answers without I/O (nothing to wait for, nothing that can be down): its
    /// calls are made in the transaction of the change that needs them.
    fn local(&self) -> bool {
        false
    }

    /// Opens the payment of a new order.
    fn start<'a>(&'a self, payment: &'a NewPayment) -> BoxFuture<'a, Result<Checkout, ProviderError>>;

    /// Stops an unpaid payment from being paid; where it stands afterwards (it may have
    /// been paid in the meantime: then it is `Succeeded`, and the caller refunds).
    fn cancel<'a>(
        &'a self,
        order_id: &'a str,
        reference: Option<&'a str>,
    ) -> BoxFuture<'a, Result<RemoteState, ProviderError>>;

    /// Refunds (part of) a paid payment; the provider's refund id, if it has one.
    fn refund<'a>(&'a self, refund: RefundOrder<'a>) -> BoxFuture<'a, Result<Option<String>, ProviderError>>;

    /// Where the payment stands now, asked afresh (when an event may be stale).
    fn state<'a>(&'a self, reference: Option<&'a str>) -> BoxFuture<'a, Result<Option<RemoteState>, ProviderError>>;
}

/// The providers of this instance: the one new payments use, and each one existing
/// payments may need (a payment stays with the provider that opened it).
#[derive(Clone)]
pub struct Providers {
    current: ProviderKind,
    manual: Arc<manual::Manual>,
    stripe: Option<Arc<stripe::Stripe>>,
}

impl Providers {
    /// The providers `settings` set up: Stripe when a secret key is given.
    pub fn from_config(settings: &Settings) -> Result<Self, ProviderError> {
        let stripe = match &settings.stripe_secret_key {
            Some(key) => Some(Arc::new(stripe::Stripe::new(key, settings.stripe_api_base.as_deref())?)),
            None => None,
        };
        let current = settings.provider;
        if current == ProviderKind::Stripe && stripe.is_none() {
            return Err(ProviderError::NotConfigured("stripe"));
        }
        Ok(Self { current, manual: Arc::new(manual::Manual), stripe })
    }

    /// The provider new payments use.
    pub fn current(&self) -> Result<&dyn Provider, ProviderError> {
        self.get(self.current)
    }

    /// The provider `kind`, if configured.
    pub fn get(&self, kind: ProviderKind) -> Result<&dyn Provider, ProviderError> {
        match kind {
            ProviderKind::Manual => Ok(self.manual.as_ref()),
            ProviderKind::Stripe => match &self.stripe {
                Some(stripe) => Ok(stripe.as_ref()),
                None => Err(ProviderError::NotConfigured("stripe")),
            },
        }
    }
}
