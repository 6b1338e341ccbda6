//! The rules of a payment, free of I/O: its states and the only moves between them, who
//! processes it, what an amount is, what a request may carry (parsed in one step), and the
//! idempotency keys that make every call to a provider safe to repeat.

use mart_platform::{
    error::{FieldViolation, Violations},
    fields,
    money::Money,
};

/// Where a payment is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Created; waiting for the customer to pay (or an admin to confirm).
    Pending,
    /// Money received.
    Succeeded,
    /// The provider declined, or the attempt failed for good.
    Failed,
    /// Abandoned before it succeeded: the order was cancelled.
    Cancelled,
    /// Money received, then given back in full.
    Refunded,
}

impl PaymentStatus {
    /// Every status, for round-trip checks.
    pub const ALL: [PaymentStatus; 5] = [
        PaymentStatus::Pending,
        PaymentStatus::Succeeded,
        PaymentStatus::Failed,
        PaymentStatus::Cancelled,
        PaymentStatus::Refunded,
    ];

    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Cancelled => "cancelled",
            PaymentStatus::Refunded => "refunded",
        }
    }

    /// From storage.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "pending" => PaymentStatus::Pending,
            "succeeded" => PaymentStatus::Succeeded,
            "failed" => PaymentStatus::Failed,
            "cancelled" => PaymentStatus::Cancelled,
            "refunded" => PaymentStatus::Refunded,
            _ => return None,
        })
    }

    /// Whether a payment may move from `self` to `to`. Money only moves forward: nothing
    /// returns to pending, and a success is never undone except by a refund. A failed or
    /// cancelled payment may still become refunded: money that arrives after the order
    /// stopped waiting for it is given back at once.
    pub fn may_become(self, to: PaymentStatus) -> bool {
        use PaymentStatus::*;
        matches!(
            (self, to),
            (Pending, Succeeded | Failed | Cancelled) | (Succeeded, Refunded) | (Failed | Cancelled, Refunded)
        )
    }

    /// The statuses a payment may reach `self` from.
    pub fn sources(self) -> Vec<PaymentStatus> {
        Self::ALL.into_iter().filter(|from| from.may_become(self)).collect()
    }
}

/// Who processes a payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    /// Paid outside the system and confirmed by an admin.
    Manual,
    /// Stripe: a PaymentIntent, confirmed by Stripe's webhook.
    Stripe,
}

impl ProviderKind {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Manual => "manual",
            ProviderKind::Stripe => "stripe",
        }
    }

    /// From storage.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "manual" => ProviderKind::Manual,
            "stripe" => ProviderKind::Stripe,
            _ => return None,
        })
    }
}

/// An order total as an event carries it, if it can be paid: an amount as the shop sends
/// it ([`Money::from_stored`]) and, the payment's own rule, positive. Why not otherwise.
pub fn amount_due(amount_minor: i64, currency: &str) -> Result<Money, String> {
    let amount = Money::from_stored(amount_minor, currency).map_err(|error| error.to_string())?;
    if amount.amount_minor <= 0 {
        return Err(format!("the amount {amount} is not positive"));
    }
    Ok(amount)
}

/// A new payment for an order that awaits one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPayment {
    /// The order it pays.
    pub order_id: String,
    /// The order's owner.
    pub user_id: String,
    /// The order total.
    pub amount: Money,
}

/// How a manual payment was made: optional, one line of at most 200 characters.
pub fn reference(value: &str) -> Result<Option<String>, FieldViolation> {
    fields::line("reference", value, false, 200).map(non_empty)
}

/// Why a payment is refunded: optional, at most 500 characters of text.
pub fn refund_reason(value: &str) -> Result<Option<String>, FieldViolation> {
    fields::paragraph("reason", value, false, 500).map(non_empty)
}

/// An admin's word that a manual payment was received (ConfirmManualPayment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManualConfirmation {
    /// The order paid for.
    pub order_id: String,
    /// How it was paid, if the admin says.
    pub reference: Option<String>,
}

impl ManualConfirmation {
    /// Parses the request fields; every bad one is named.
    pub fn parse(order_id: &str, reference: &str) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Violations::new();
        let order_id = violations.check(fields::id("order_id", order_id));
        let reference = violations.check(self::reference(reference));
        violations.finish()?;
        match (order_id, reference) {
            (Some(order_id), Some(reference)) => Ok(Self { order_id, reference }),
            // `finish` returned every violation; both are present here.
            _ => Err(vec![]),
        }
    }
}

/// An admin's full refund of a succeeded payment (RefundPayment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminRefund {
    /// The order whose payment is given back.
    pub order_id: String,
    /// Why, if the admin says.
    pub reason: Option<String>,
}

impl AdminRefund {
    /// Parses the request fields; every bad one is named.
    pub fn parse(order_id: &str, reason: &str) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Violations::new();
        let order_id = violations.check(fields::id("order_id", order_id));
        let reason = violations.check(refund_reason(reason));
        violations.finish()?;
        match (order_id, reason) {
            (Some(order_id), Some(reason)) => Ok(Self { order_id, reason }),
            // `finish` returned every violation; both are present here.
            _ => Err(vec![]),
        }
    }
}

/// An optional field left empty is absent.
fn non_empty(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

/// The provider idempotency keys of one order. Derived from the order id alone, so any
/// retry — a redelivered event, a repeated admin call, a second replica — asks the provider
/// for the very object the first attempt created, never for a second one.
pub mod keys {
    /// Creating the order's PaymentIntent.
    pub fn intent(order_id: &str) -> String {
        format!("mart-order-{order_id}-intent")
    }

    /// Cancelling it.
    pub fn cancel(order_id: &str) -> String {
        format!("mart-order-{order_id}-cancel")
    }

    /// Refunding it: one refund per order, ever.
    pub fn refund(order_id: &str) -> String {
        format!("mart-order-{order_id}-refund")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_providers_round_trip() {
        for status in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(status.as_str()), Some(status));
        }
        for kind in [ProviderKind::Manual, ProviderKind::Stripe] {
            assert_eq!(ProviderKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(PaymentStatus::parse("paid"), None);
    }

    #[test]
    fn money_only_moves_forward() {
        use PaymentStatus::*;
        assert!(Pending.may_become(Succeeded));
        assert!(Succeeded.may_become(Refunded));
        assert!(Cancelled.may_become(Refunded), "a late success is given back");
        assert!(!Succeeded.may_become(Failed), "a stale failure cannot undo a success");
        assert!(!Refunded.may_become(Refunded), "never two refunds");
        assert!(!Cancelled.may_become(Succeeded));
        for status in PaymentStatus::ALL {
            assert!(!status.may_become(Pending));
        }
        assert_eq!(Refunded.sources(), [Succeeded, Failed, Cancelled]);
    }

    #[test]
    fn amounts_are_positive_in_a_real_currency() {
        assert_eq!(amount_due(1999, "USD").unwrap(), Money::new(1999, mart_platform::money::Currency::USD));
        assert!(amount_due(0, "USD").is_err());
        assert!(amount_due(-5, "USD").is_err());
        assert!(amount_due(100, "usd").is_err());
        assert!(amount_due(100, "ABC").is_err(), "not a currency");
        assert!(amount_due(100, "").is_err());
    }

    #[test]
    fn request_fields() {
        assert_eq!(reference("  ").unwrap(), None);
        assert_eq!(reference(&"x".repeat(201)).unwrap_err().field, "reference");
        assert_eq!(reference("wire\t42").unwrap_err().field, "reference", "one line");
        assert_eq!(refund_reason("damaged").unwrap().as_deref(), Some("damaged"));
        assert_eq!(refund_reason("damaged\nin transit").unwrap().as_deref(), Some("damaged\nin transit"));
        assert_eq!(keys::intent("o1"), "mart-order-o1-intent");
    }

    #[test]
    fn admin_requests_name_every_bad_field() {
        let confirmation = ManualConfirmation::parse(" o1 ", " wire 42 ").unwrap();
        assert_eq!(confirmation, ManualConfirmation { order_id: "o1".into(), reference: Some("wire 42".into()) });
        let bad: Vec<_> =
            ManualConfirmation::parse("", &"x".repeat(201)).unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(bad, ["order_id", "reference"]);
        assert_eq!(AdminRefund::parse("o1", "").unwrap().reason, None);
        let bad: Vec<_> = AdminRefund::parse("", &"x".repeat(501)).unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(bad, ["order_id", "reason"]);
        // The shop's one id rule: at most 64 characters, no control characters.
        assert!(AdminRefund::parse(&"o".repeat(64), "").is_ok());
        assert!(AdminRefund::parse(&"o".repeat(65), "").is_err());
        assert!(ManualConfirmation::parse("o\u{0}1", "").is_err());
    }
}
