//! The order's lifecycle: its states, the one table of moves between them, and what each
//! move carries. Every change of an order's status in this service is checked here first
//! ([`check`]) and then applied with a conditional update (`WHERE status = from`), so the
//! table is the only place that says what may happen.
//!
//! ```text
//!                 ┌───── free, or paid early ────┐
//!                 │                              ▼
//! PENDING ──► RESERVED ──► AWAITING_PAYMENT ──► PAID ──► SHIPPED ──► DELIVERED
//!    │            │                │             │
//!    ├────────────┴────────────────┴─────────────┴──► CANCELLED
//!    └──► REJECTED
//! ```
//!
//! | from | to | by |
//! |---|---|---|
//! | PENDING | RESERVED | StockReserved: every line reserved; the payment deadline is stored and travels in OrderAwaitingPayment |
//! | PENDING | REJECTED | StockReservationFailed |
//! | RESERVED | AWAITING_PAYMENT | PaymentCreated: the payment exists, pay now (nothing is announced) |
//! | RESERVED, AWAITING_PAYMENT | PAID | PaymentSucceeded (from RESERVED too, to be lenient); a free order right after its reservation |
//! | PAID | SHIPPED | ShipOrder |
//! | SHIPPED | DELIVERED | DeliverOrder |
//! | PENDING, RESERVED, AWAITING_PAYMENT, PAID | CANCELLED | CancelOrder (customer or admin) |
//! | RESERVED, AWAITING_PAYMENT | CANCELLED | PaymentFailed (failed or expired), the deadline sweeper |
//! | PAID | CANCELLED | PaymentRefunded in full ([`CancellationSource::Refunded`]) |
//!
//! Refunds ([`Refund`]): a full refund before shipping cancels the order with source
//! REFUNDED, and its stock goes back (svc-inventory restocks a cancelled paid order); a
//! full refund after shipping, or a partial refund, is recorded only: the order's
//! `refunded` says how much went back, and it never moves.

use chrono::{DateTime, TimeDelta, Utc};
use mart_platform::money::Money;

use OrderStatus::{AwaitingPayment, Cancelled, Delivered, Paid, Pending, Rejected, Reserved, Shipped};

/// Where an order is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Placed; stock is being reserved.
    Pending,
    /// Every line reserved, the payment deadline running; svc-payment is opening the
    /// payment (a moment), so there is nothing to pay yet.
    Reserved,
    /// The payment exists: pay now, until the deadline.
    AwaitingPayment,
    /// Paid; to be shipped.
    Paid,
    /// With the carrier.
    Shipped,
    /// Delivered. Final.
    Delivered,
    /// Not enough stock. Final.
    Rejected,
    /// Cancelled by the customer, an admin, the payment or a full refund. Final.
    Cancelled,
}

/// Every legal move, and nothing else.
pub const TRANSITIONS: [(OrderStatus, OrderStatus); 11] = [
    (Pending, Reserved),
    (Reserved, AwaitingPayment),
    (Reserved, Paid),
    (AwaitingPayment, Paid),
    (Paid, Shipped),
    (Shipped, Delivered),
    (Pending, Rejected),
    (Pending, Cancelled),
    (Reserved, Cancelled),
    (AwaitingPayment, Cancelled),
    (Paid, Cancelled),
];

impl OrderStatus {
    /// Every status.
    pub const ALL: [OrderStatus; 8] =
        [Pending, Reserved, AwaitingPayment, Paid, Shipped, Delivered, Rejected, Cancelled];

    /// Whether the table has the move from `self` to `next`.
    pub fn can_become(self, next: OrderStatus) -> bool {
        TRANSITIONS.contains(&(self, next))
    }

    /// Whether the order is placed but neither paid nor closed: it holds (or is about to
    /// hold) stock that nobody has paid for. What `MART_ORDER_MAX_OPEN_UNPAID` counts.
    pub fn is_open_unpaid(self) -> bool {
        match self {
            Pending | Reserved | AwaitingPayment => true,
            Paid | Shipped | Delivered | Rejected | Cancelled => false,
        }
    }

    /// Whether the order's stock is reserved and its payment deadline is running: what a
    /// payment's failure or expiry may cancel, and what shows a `payment_due_by`.
    pub fn waits_for_payment(self) -> bool {
        match self {
            Reserved | AwaitingPayment => true,
            Pending | Paid | Shipped | Delivered | Rejected | Cancelled => false,
        }
    }

    /// Whether nothing can follow.
    pub fn is_final(self) -> bool {
        !TRANSITIONS.iter().any(|(from, _)| *from == self)
    }

    /// As stored (and in messages).
    pub fn as_str(self) -> &'static str {
        match self {
            Pending => "PENDING",
            Reserved => "RESERVED",
            AwaitingPayment => "AWAITING_PAYMENT",
            Paid => "PAID",
            Shipped => "SHIPPED",
            Delivered => "DELIVERED",
            Rejected => "REJECTED",
            Cancelled => "CANCELLED",
        }
    }

    /// From storage.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == value)
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who or what cancelled an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancellationSource {
    /// The customer.
    User,
    /// An admin.
    Admin,
    /// The payment deadline passed.
    PaymentExpired,
    /// The payment failed for good.
    PaymentFailed,
    /// The payment was refunded in full before the order shipped.
    Refunded,
}

impl CancellationSource {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            CancellationSource::User => "USER",
            CancellationSource::Admin => "ADMIN",
            CancellationSource::PaymentExpired => "PAYMENT_EXPIRED",
            CancellationSource::PaymentFailed => "PAYMENT_FAILED",
            CancellationSource::Refunded => "REFUNDED",
        }
    }

    /// From storage.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::User, Self::Admin, Self::PaymentExpired, Self::PaymentFailed, Self::Refunded]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// A line inventory could not reserve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShortLine {
    /// The product.
    pub product_id: String,
    /// The variant short of stock (for a single-variant product, the product's id).
    pub variant_id: String,
    /// Units asked for.
    pub requested: i32,
    /// Units there were.
    pub available: i32,
}

/// A move and what it carries.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Inventory reserved every line: now the payment is opened, and must come in by
    /// `payment_deadline`.
    StockReserved {
        /// After this the order is cancelled unpaid (stored, so it survives restarts, and
        /// announced, so svc-payment expires the payment at the same instant).
        payment_deadline: DateTime<Utc>,
    },
    /// svc-payment opened the payment: it can be paid now.
    PaymentOpened {
        /// svc-payment's id of it.
        payment_id: String,
    },
    /// Inventory could not reserve these lines.
    Rejected {
        /// The short lines.
        short_lines: Vec<ShortLine>,
    },
    /// The payment succeeded.
    Paid {
        /// svc-payment's id of it.
        payment_id: String,
    },
    /// Cancelled.
    Cancelled {
        /// By whom or what.
        source: CancellationSource,
        /// Why, free text.
        reason: String,
    },
    /// Handed to the carrier.
    Shipped {
        /// Carrier name.
        carrier: String,
        /// Tracking number; may be empty.
        tracking_number: String,
    },
    /// Delivered.
    Delivered,
}

impl Change {
    /// The status it leads to.
    pub fn target(&self) -> OrderStatus {
        match self {
            Change::StockReserved { .. } => Reserved,
            Change::PaymentOpened { .. } => AwaitingPayment,
            Change::Rejected { .. } => Rejected,
            Change::Paid { .. } => Paid,
            Change::Cancelled { .. } => Cancelled,
            Change::Shipped { .. } => Shipped,
            Change::Delivered => Delivered,
        }
    }

    /// A line for the order's history.
    pub fn describe(&self) -> String {
        match self {
            Change::StockReserved { payment_deadline } => {
                format!("stock reserved; payment due by {}", payment_deadline.to_rfc3339())
            }
            Change::PaymentOpened { payment_id } => format!("payment {payment_id} opened"),
            Change::Rejected { short_lines } => {
                let lines: Vec<_> = short_lines
                    .iter()
                    .map(|l| format!("{} ({} of {} available)", l.variant_id, l.available, l.requested))
                    .collect();
                format!("not enough stock: {}", lines.join(", "))
            }
            Change::Paid { payment_id } => format!("payment {payment_id} succeeded"),
            Change::Cancelled { source, reason } if reason.is_empty() => format!("cancelled ({})", source.as_str()),
            Change::Cancelled { source, reason } => format!("cancelled ({}): {reason}", source.as_str()),
            Change::Shipped { carrier, tracking_number } => format!("shipped with {carrier} {tracking_number}"),
            Change::Delivered => "delivered".to_owned(),
        }
    }
}

/// A move the table (or a guard) does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("an order that is {from} cannot become {to}")]
pub struct IllegalTransition {
    /// Where the order is.
    pub from: OrderStatus,
    /// Where the change would take it.
    pub to: OrderStatus,
}

/// Whether `change` may happen to an order that is `from`: the table, plus two guards — a
/// payment that failed or ran out ends only an order that is waiting for that payment
/// (RESERVED or AWAITING_PAYMENT: a paid order is not cancelled by a stale payment
/// failure), and a refund in full cancels only a PAID order (one that was shipped keeps
/// its status; the refund is recorded on it).
pub fn check(from: OrderStatus, change: &Change) -> Result<(), IllegalTransition> {
    let to = change.target();
    let guarded = match change {
        Change::Cancelled {
            source: CancellationSource::PaymentExpired | CancellationSource::PaymentFailed, ..
        } => from.waits_for_payment(),
        Change::Cancelled { source: CancellationSource::Refunded, .. } => from == Paid,
        _ => true,
    };
    if from.can_become(to) && guarded { Ok(()) } else { Err(IllegalTransition { from, to }) }
}

/// When svc-order's own deadline sweep cancels an order that is `status` with the payment
/// deadline `deadline`: a RESERVED order at the deadline (no payment was opened, so none
/// can come in); an AWAITING_PAYMENT order only `grace` after it, because svc-payment
/// expires the payment itself at the deadline (closing it at the provider first, so it
/// cannot be paid afterwards) and its PaymentFailed cancels the order — the sweep is the
/// backstop for when svc-payment is down. Never for any other status.
pub fn expires_at(status: OrderStatus, deadline: DateTime<Utc>, grace: TimeDelta) -> Option<DateTime<Utc>> {
    match status {
        Reserved => Some(deadline),
        AwaitingPayment => Some(deadline.checked_add_signed(grace).unwrap_or(DateTime::<Utc>::MAX_UTC)),
        Pending | Paid | Shipped | Delivered | Rejected | Cancelled => None,
    }
}

/// Money svc-payment gave back from an order's payment, as its PaymentRefunded tells it,
/// its amounts already found to be in the order's currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    /// svc-payment's id of the refund.
    pub refund_id: String,
    /// The payment it gives back from.
    pub payment_id: String,
    /// How much this refund gave back.
    pub amount: Money,
    /// All given back from the payment so far, this refund included: what the order's
    /// `refunded` becomes, unless it already says more (refunds may be told twice, or a
    /// later one before an earlier one).
    pub refunded_total: Money,
    /// Everything captured has now been given back.
    pub full: bool,
    /// The order lines it is for; empty when not said.
    pub lines: Vec<RefundLine>,
    /// Why, free text; may be empty.
    pub reason: String,
}

/// Units of one order line a refund is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundLine {
    /// The product.
    pub product_id: String,
    /// Units.
    pub quantity: i32,
}

impl Refund {
    /// What the refund does to an order that is `status`: a refund in full of an order that
    /// is PAID (not shipped) cancels it with source REFUNDED, so its stock goes back; any
    /// other refund — a partial one, or one after shipping — moves nothing and is only
    /// recorded.
    pub fn change(&self, status: OrderStatus) -> Option<Change> {
        (self.full && status == Paid).then(|| Change::Cancelled {
            source: CancellationSource::Refunded,
            reason: if self.reason.is_empty() { "refunded in full".to_owned() } else { self.reason.clone() },
        })
    }

    /// A line for the order's history: how much, why, and for which lines.
    pub fn describe(&self) -> String {
        let extent = if self.full { "in full" } else { "in part" };
        let reason = if self.reason.is_empty() { "no reason given" } else { &self.reason };
        let lines: Vec<_> =
            self.lines.iter().map(|line| format!("{} × product {}", line.quantity, line.product_id)).collect();
        let lines = if lines.is_empty() { String::new() } else { format!("; for {}", lines.join(", ")) };
        format!(
            "refund {} of {} from payment {} ({extent}, {} in all): {reason}{lines}",
            self.refund_id, self.amount, self.payment_id, self.refunded_total
        )
    }
}

/// Who made a change, for the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The customer.
    Customer(String),
    /// An admin.
    Admin(String),
    /// svc-inventory, through its events.
    Inventory,
    /// svc-payment, through its events.
    Payment,
    /// The payment deadline sweeper.
    PaymentDeadline,
}

impl Actor {
    /// As stored in the history.
    pub fn describe(&self) -> String {
        match self {
            Actor::Customer(id) => format!("user:{id}"),
            Actor::Admin(id) => format!("admin:{id}"),
            Actor::Inventory => "svc-inventory".to_owned(),
            Actor::Payment => "svc-payment".to_owned(),
            Actor::PaymentDeadline => "payment-deadline".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use mart_platform::money::Currency;

    use super::*;

    fn cancel(source: CancellationSource) -> Change {
        Change::Cancelled { source, reason: String::new() }
    }

    fn refund(full: bool, reason: &str) -> Refund {
        Refund {
            refund_id: "r1".into(),
            payment_id: "pay-1".into(),
            amount: Money::new(500, Currency::EUR),
            refunded_total: Money::new(1299, Currency::EUR),
            full,
            lines: vec![RefundLine { product_id: "p1".into(), quantity: 1 }],
            reason: reason.into(),
        }
    }

    #[test]
    fn the_table_is_the_lifecycle() {
        let legal: Vec<_> = OrderStatus::ALL
            .into_iter()
            .flat_map(|from| OrderStatus::ALL.into_iter().map(move |to| (from, to)))
            .filter(|(from, to)| from.can_become(*to))
            .collect();
        assert_eq!(legal.len(), TRANSITIONS.len());
        for status in [Delivered, Rejected, Cancelled] {
            assert!(status.is_final(), "{status}");
        }
        for status in [Pending, Reserved, AwaitingPayment, Paid, Shipped] {
            assert!(!status.is_final(), "{status}");
        }
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        let unpaid: Vec<_> = OrderStatus::ALL.into_iter().filter(|s| s.is_open_unpaid()).collect();
        assert_eq!(unpaid, [Pending, Reserved, AwaitingPayment], "placed, and neither paid nor closed");
        let waiting: Vec<_> = OrderStatus::ALL.into_iter().filter(|s| s.waits_for_payment()).collect();
        assert_eq!(waiting, [Reserved, AwaitingPayment], "reserved, and neither paid nor closed");
    }

    #[test]
    fn a_reserved_order_awaits_payment_once_its_payment_is_opened() {
        let reserved = Change::StockReserved { payment_deadline: Utc::now() };
        assert_eq!(reserved.target(), Reserved);
        assert!(check(Pending, &reserved).is_ok());
        assert!(check(Reserved, &reserved).is_err(), "reserved once");
        let opened = Change::PaymentOpened { payment_id: "pay-1".into() };
        assert_eq!(opened.target(), AwaitingPayment);
        assert!(check(Reserved, &opened).is_ok());
        for from in [Pending, AwaitingPayment, Paid, Shipped, Delivered, Rejected, Cancelled] {
            assert_eq!(check(from, &opened), Err(IllegalTransition { from, to: AwaitingPayment }), "{from}");
        }
        assert_eq!(opened.describe(), "payment pay-1 opened");
    }

    #[test]
    fn cancelling_is_allowed_until_shipped() {
        for from in [Pending, Reserved, AwaitingPayment, Paid] {
            assert_eq!(check(from, &cancel(CancellationSource::User)), Ok(()));
            assert_eq!(check(from, &cancel(CancellationSource::Admin)), Ok(()));
        }
        for from in [Shipped, Delivered, Rejected, Cancelled] {
            assert_eq!(check(from, &cancel(CancellationSource::Admin)), Err(IllegalTransition { from, to: Cancelled }));
        }
    }

    #[test]
    fn payment_outcomes_only_touch_an_order_waiting_for_its_payment() {
        for from in [Reserved, AwaitingPayment] {
            assert!(check(from, &cancel(CancellationSource::PaymentFailed)).is_ok(), "{from}");
            assert!(check(from, &cancel(CancellationSource::PaymentExpired)).is_ok(), "{from}");
        }
        assert!(check(Paid, &cancel(CancellationSource::PaymentFailed)).is_err());
        assert!(check(Pending, &cancel(CancellationSource::PaymentExpired)).is_err());
        let paid = Change::Paid { payment_id: "p".into() };
        assert!(check(AwaitingPayment, &paid).is_ok());
        assert!(check(Reserved, &paid).is_ok(), "a free order, or a payment told before its opening");
        assert!(check(Cancelled, &paid).is_err());
        assert!(check(Pending, &paid).is_err());
    }

    #[test]
    fn a_refund_in_full_cancels_only_a_paid_order() {
        let refunded = cancel(CancellationSource::Refunded);
        assert!(check(Paid, &refunded).is_ok());
        for from in [Pending, Reserved, AwaitingPayment, Shipped, Delivered, Rejected, Cancelled] {
            assert!(check(from, &refunded).is_err(), "{from}");
        }
        let full = refund(true, "");
        let expected = Change::Cancelled { source: CancellationSource::Refunded, reason: "refunded in full".into() };
        assert_eq!(full.change(Paid), Some(expected));
        let why = Change::Cancelled { source: CancellationSource::Refunded, reason: "damaged".into() };
        assert_eq!(refund(true, "damaged").change(Paid), Some(why));
        for status in [Shipped, Delivered, Cancelled, AwaitingPayment] {
            assert_eq!(full.change(status), None, "recorded only when {status}");
        }
        assert_eq!(refund(false, "").change(Paid), None, "a partial refund never moves the order");
        assert_eq!(
            refund(false, "one cup broke").describe(),
            "refund r1 of 5.00 EUR from payment pay-1 (in part, 12.99 EUR in all): one cup broke; for 1 × product p1"
        );
        let mut plain = refund(true, "");
        plain.lines.clear();
        assert_eq!(
            plain.describe(),
            "refund r1 of 5.00 EUR from payment pay-1 (in full, 12.99 EUR in all): no reason given"
        );
        assert_eq!(CancellationSource::parse("REFUNDED"), Some(CancellationSource::Refunded));
    }

    #[test]
    fn the_sweep_cancels_a_reserved_order_at_the_deadline_and_an_awaiting_one_after_the_grace() {
        let deadline = Utc::now();
        let grace = TimeDelta::seconds(60);
        assert_eq!(expires_at(Reserved, deadline, grace), Some(deadline));
        assert_eq!(expires_at(AwaitingPayment, deadline, grace), Some(deadline + grace));
        assert_eq!(expires_at(AwaitingPayment, DateTime::<Utc>::MAX_UTC, grace), Some(DateTime::<Utc>::MAX_UTC));
        for status in [Pending, Paid, Shipped, Delivered, Rejected, Cancelled] {
            assert_eq!(expires_at(status, deadline, grace), None, "{status}");
        }
    }

    #[test]
    fn fulfilment_goes_one_step_at_a_time() {
        let ship = Change::Shipped { carrier: "DHL".into(), tracking_number: String::new() };
        assert!(check(Paid, &ship).is_ok());
        assert!(check(AwaitingPayment, &ship).is_err());
        assert!(check(Reserved, &ship).is_err());
        assert!(check(Shipped, &Change::Delivered).is_ok());
        assert!(check(Paid, &Change::Delivered).is_err());
        let reserved = Change::StockReserved { payment_deadline: Utc::now() };
        assert!(check(Pending, &reserved).is_ok());
        assert!(check(Cancelled, &reserved).is_err());
        for source in [CancellationSource::User, CancellationSource::PaymentFailed, CancellationSource::Refunded] {
            assert_eq!(CancellationSource::parse(source.as_str()), Some(source));
        }
    }
}
