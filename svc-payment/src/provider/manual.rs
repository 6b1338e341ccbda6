//! The manual provider: money changes hands outside the system (cash, bank transfer, a
//! developer's machine) and an admin says so with ConfirmManualPayment. There is nobody to
//! call: opening, cancelling and refunding are bookkeeping only.

use futures::future::BoxFuture;

use super::{Checkout, Provider, ProviderError, RefundOrder, RemoteState};
use crate::domain::{NewPayment, ProviderKind};

/// The manual provider.
#[derive(Debug, Default)]
pub struct Manual;

impl Provider for Manual {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Manual
    }

    fn local(&self) -> bool {
        true
    }

    fn start<'a>(&'a self, _payment: &'a NewPayment) -> BoxFuture<'a, Result<Checkout, ProviderError>> {
        Box::pin(async { Ok(Checkout::default()) })
    }

    fn cancel<'a>(
        &'a self,
        _order_id: &'a str,
        _reference: Option<&'a str>,
    ) -> BoxFuture<'a, Result<RemoteState, ProviderError>> {
        Box::pin(async { Ok(RemoteState::Cancelled) })
    }

    fn refund<'a>(&'a self, _refund: RefundOrder<'a>) -> BoxFuture<'a, Result<Option<String>, ProviderError>> {
        // The admin gives the money back the way it came; the record is ours alone.
        Box::pin(async { Ok(None) })
    }

    fn state<'a>(&'a self, _reference: Option<&'a str>) -> BoxFuture<'a, Result<Option<RemoteState>, ProviderError>> {
        // Only the database knows: there is no remote state to ask.
        Box::pin(async { Ok(None) })
    }
}
