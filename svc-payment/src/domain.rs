//! The rules of a payment, free of I/O: its states and the only moves between them, who
//! processes it, what an amount is, what a request may carry (parsed in one step), and the
//! idempotency keys that make every call to a provider safe to repeat.

use mart_platform::{
    error::{FieldViolation, Violations},
    fields,
    money::Money,
};

/// Where a payment is in its lifecycle.
///
/// ```text
/// OPENING ──► PENDING ──► SUCCEEDED ──► REFUNDED
///    │           ├──► FAILED ────┐          ▲
///    │           └──► CANCELLED ─┴──────────┘ (money that came too late goes back)
///    └──► FAILED | CANCELLED
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Recorded; the provider is being asked to open it (not payable yet).
    Opening,
    /// Created; waiting for the customer to pay (or an admin to confirm).
    Pending,
    /// Money received.
    Succeeded,
    /// The provider declined, or the attempt failed for good.
    Failed,
    /// Abandoned before it succeeded: the order was cancelled.
    Cancelled,
    /// Money received, then given back in full (partial refunds leave it succeeded).
    Refunded,
}

impl PaymentStatus {
    /// Every status, for round-trip checks.
    pub const ALL: [PaymentStatus; 6] = [
        PaymentStatus::Opening,
        PaymentStatus::Pending,
        PaymentStatus::Succeeded,
        PaymentStatus::Failed,
        PaymentStatus::Cancelled,
        PaymentStatus::Refunded,
    ];

    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Opening => "opening",
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
            "opening" => PaymentStatus::Opening,
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
            (Opening, Pending | Failed | Cancelled)
                | (Pending, Succeeded | Failed | Cancelled)
                | (Succeeded, Refunded)
                | (Failed | Cancelled, Refunded)
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

/// Units of one order line a refund is for.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RefundLine {
    /// The product (as in the order's line).
    pub product_id: String,
    /// Units; 1 to [`MAX_LINE_UNITS`].
    pub quantity: i32,
}

/// The most units of one line a refund may name.
pub const MAX_LINE_UNITS: i32 = 10_000;

/// The most lines a refund may name.
pub const MAX_REFUND_LINES: usize = 100;

/// An admin's refund of a succeeded payment (RefundPayment): all that is left, or part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminRefund {
    /// The order whose payment is given back.
    pub order_id: String,
    /// Why, if the admin says.
    pub reason: Option<String>,
    /// How much; `None`: all that is left.
    pub amount: Option<Money>,
    /// The lines it is for; may be empty.
    pub lines: Vec<RefundLine>,
}

impl AdminRefund {
    /// Parses the request fields; every bad one is named. The amount is checked against
    /// the payment (its currency, what is left) by the command, under the payment's lock.
    pub fn parse(
        order_id: &str,
        reason: &str,
        amount: Option<&mart_proto::common::Money>,
        lines: &[(String, i32)],
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Violations::new();
        let order_id = violations.check(fields::id("order_id", order_id));
        let reason = violations.check(refund_reason(reason));
        let amount = match amount {
            None => None,
            Some(money) => match Money::parse("amount", money.amount_minor, &money.currency) {
                Ok(money) if money.amount_minor > 0 => Some(money),
                Ok(_) => {
                    violations.add("amount", "must be positive (leave it out to refund all that is left)");
                    None
                }
                Err(bad) => {
                    for violation in bad {
                        violations.add(violation.field, violation.description);
                    }
                    None
                }
            },
        };
        if lines.len() > MAX_REFUND_LINES {
            violations.add("lines", format!("at most {MAX_REFUND_LINES} lines"));
        }
        let mut parsed: Vec<RefundLine> = Vec::with_capacity(lines.len().min(MAX_REFUND_LINES));
        for (i, (product_id, quantity)) in lines.iter().take(MAX_REFUND_LINES).enumerate() {
            let product_id = violations.check(fields::id(&format!("lines[{i}].product_id"), product_id));
            if !(1..=MAX_LINE_UNITS).contains(quantity) {
                violations.add(format!("lines[{i}].quantity"), format!("from 1 to {MAX_LINE_UNITS}"));
            }
            if let Some(product_id) = product_id {
                if parsed.iter().any(|line| line.product_id == product_id) {
                    violations.add(format!("lines[{i}].product_id"), "named twice");
                }
                parsed.push(RefundLine { product_id, quantity: *quantity });
            }
        }
        violations.finish()?;
        match (order_id, reason) {
            (Some(order_id), Some(reason)) => Ok(Self { order_id, reason, amount, lines: parsed }),
            // `finish` returned every violation; both are present here.
            _ => Err(vec![]),
        }
    }
}

/// Where a refund is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundStatus {
    /// Recorded; the provider is being asked (again, while it is unavailable).
    Pending,
    /// The money went back.
    Succeeded,
    /// The provider refused it for good, or stayed unavailable past the retry window.
    Failed,
}

impl RefundStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Pending => "pending",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Failed => "failed",
        }
    }

    /// From storage.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Pending, Self::Succeeded, Self::Failed].into_iter().find(|status| status.as_str() == value)
    }
}

/// What may still be refunded of `captured`, given the refunds `counted` so far (pending
/// and succeeded ones: a pending refund's money is promised), and whether `asked` fits;
/// `None` for all that is left.
pub fn refundable(captured: i64, counted: i64, asked: Option<i64>) -> Result<i64, i64> {
    let left = (captured - counted).max(0);
    match asked {
        _ if left == 0 => Err(0),
        None => Ok(left),
        Some(amount) if amount <= left => Ok(amount),
        Some(_) => Err(left),
    }
}

/// A call to the payment provider that a change needs, made outside any database
/// transaction: the change records it (queued in `provider_calls`), a worker makes it
/// and records the answer in a transaction of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// Open the payment (a PaymentIntent).
    Open,
    /// Stop the payment from being paid: its order was cancelled.
    Cancel,
    /// An attempt to pay failed (`reason`): ask where it stands, cancel it unless paid.
    Settle {
        /// The decline code.
        reason: String,
    },
    /// Give refund `refund_id`'s money back.
    Refund {
        /// The `payment_refunds` row.
        refund_id: String,
    },
}

impl Call {
    /// As stored (`kind`, `detail`).
    pub fn to_stored(&self) -> (&'static str, Option<&str>) {
        match self {
            Call::Open => ("open", None),
            Call::Cancel => ("cancel", None),
            Call::Settle { reason } => ("settle", Some(reason)),
            Call::Refund { refund_id } => ("refund", Some(refund_id)),
        }
    }

    /// From storage.
    pub fn from_stored(kind: &str, detail: Option<&str>) -> Option<Self> {
        Some(match (kind, detail) {
            ("open", _) => Call::Open,
            ("cancel", _) => Call::Cancel,
            ("settle", reason) => Call::Settle { reason: reason.unwrap_or("payment_failed").to_owned() },
            ("refund", Some(refund_id)) => Call::Refund { refund_id: refund_id.to_owned() },
            _ => return None,
        })
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

    /// Making refund `refund_id` (one of the order's refunds): each refund once, ever.
    pub fn refund(refund_id: &str) -> String {
        format!("mart-refund-{refund_id}")
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
        assert!(Opening.may_become(Pending) && Opening.may_become(Cancelled) && Opening.may_become(Failed));
        assert!(!Opening.may_become(Succeeded), "nobody can pay a payment still opening");
        assert!(!Succeeded.may_become(Failed), "a stale failure cannot undo a success");
        assert!(!Refunded.may_become(Refunded), "never two refunds");
        assert!(!Cancelled.may_become(Succeeded));
        for status in PaymentStatus::ALL {
            assert!(!status.may_become(Opening), "nothing opens twice");
        }
        assert_eq!(Pending.sources(), [Opening], "only an opening payment becomes payable");
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
        assert_eq!(AdminRefund::parse("o1", "", None, &[]).unwrap().reason, None);
        let bad: Vec<_> =
            AdminRefund::parse("", &"x".repeat(501), None, &[]).unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(bad, ["order_id", "reason"]);
        // The shop's one id rule: at most 64 characters, no control characters.
        assert!(AdminRefund::parse(&"o".repeat(64), "", None, &[]).is_ok());
        assert!(AdminRefund::parse(&"o".repeat(65), "", None, &[]).is_err());
    }

    #[test]
    fn partial_refunds_name_their_amount_and_lines() {
        let cup = mart_proto::common::Money { amount_minor: 450, currency: "EUR".into() };
        let refund = AdminRefund::parse("o1", "broken cup", Some(&cup), &[("p1".into(), 1)]).unwrap();
        assert_eq!(refund.amount, Some(Money::new(450, mart_platform::money::Currency::EUR)));
        assert_eq!(refund.lines, [RefundLine { product_id: "p1".into(), quantity: 1 }]);
        let zero = mart_proto::common::Money { amount_minor: 0, currency: "EUR".into() };
        let nowhere = mart_proto::common::Money { amount_minor: 5, currency: "XXY".into() };
        let lines = [("p1".to_owned(), 0), ("p1".to_owned(), 2), (String::new(), 1)];
        let bad: Vec<_> =
            AdminRefund::parse("o1", "", Some(&zero), &lines).unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(bad, ["amount", "lines[0].quantity", "lines[1].product_id", "lines[2].product_id"]);
        let bad = AdminRefund::parse("o1", "", Some(&nowhere), &[]).unwrap_err();
        assert!(bad[0].field.starts_with("amount"), "{bad:?}");
        let many: Vec<_> = (0..=MAX_REFUND_LINES).map(|i| (format!("p{i}"), 1)).collect();
        assert_eq!(AdminRefund::parse("o1", "", None, &many).unwrap_err()[0].field, "lines");
    }

    #[test]
    fn refunds_never_exceed_what_was_captured() {
        assert_eq!(refundable(1000, 0, None), Ok(1000), "all of it");
        assert_eq!(refundable(1000, 300, None), Ok(700), "all that is left");
        assert_eq!(refundable(1000, 300, Some(700)), Ok(700));
        assert_eq!(refundable(1000, 300, Some(701)), Err(700), "says what is left");
        assert_eq!(refundable(1000, 1000, None), Err(0), "nothing left");
        assert_eq!(refundable(1000, 1000, Some(1)), Err(0));
    }

    #[test]
    fn calls_round_trip() {
        for call in [
            Call::Open,
            Call::Cancel,
            Call::Settle { reason: "card_declined".into() },
            Call::Refund { refund_id: "r1".into() },
        ] {
            let (kind, detail) = call.to_stored();
            assert_eq!(Call::from_stored(kind, detail), Some(call));
        }
        assert_eq!(Call::from_stored("refund", None), None, "a refund call names its refund");
        assert_eq!(Call::from_stored("capture", None), None);
        assert!(ManualConfirmation::parse("o\u{0}1", "").is_err());
    }
}
