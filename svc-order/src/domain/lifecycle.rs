//! The order's lifecycle: its states, the one table of moves between them, and what each
//! move carries. Every change of an order's status in this service is checked here first
//! ([`check`]) and then applied with a conditional update (`WHERE status = from`), so the
//! table is the only place that says what may happen.
//!
//! ```text
//! PENDING ──► AWAITING_PAYMENT ──► PAID ──► SHIPPED ──► DELIVERED
//!    │               │               │
//!    ├──► REJECTED   └───────────────┴──► CANCELLED ◄── (PENDING too)
//! ```

use chrono::{DateTime, Utc};

use OrderStatus::{AwaitingPayment, Cancelled, Delivered, Paid, Pending, Rejected, Shipped};

/// Where an order is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Placed; stock is being reserved.
    Pending,
    /// Every line reserved; waiting for the payment until a deadline.
    AwaitingPayment,
    /// Paid; to be shipped.
    Paid,
    /// With the carrier.
    Shipped,
    /// Delivered. Final.
    Delivered,
    /// Not enough stock. Final.
    Rejected,
    /// Cancelled by the customer, an admin, or the payment. Final.
    Cancelled,
}

/// Every legal move, and nothing else.
pub const TRANSITIONS: [(OrderStatus, OrderStatus); 8] = [
    (Pending, AwaitingPayment),
    (AwaitingPayment, Paid),
    (Paid, Shipped),
    (Shipped, Delivered),
    (Pending, Rejected),
    (Pending, Cancelled),
    (AwaitingPayment, Cancelled),
    (Paid, Cancelled),
];

impl OrderStatus {
    /// Every status.
    pub const ALL: [OrderStatus; 7] = [Pending, AwaitingPayment, Paid, Shipped, Delivered, Rejected, Cancelled];

    /// Whether the table has the move from `self` to `next`.
    pub fn can_become(self, next: OrderStatus) -> bool {
        TRANSITIONS.contains(&(self, next))
    }

    /// Whether the order is placed but neither paid nor closed: it holds (or is about to
    /// hold) stock that nobody has paid for. What `MART_ORDER_MAX_OPEN_UNPAID` counts.
    pub fn is_open_unpaid(self) -> bool {
        match self {
            Pending | AwaitingPayment => true,
            Paid | Shipped | Delivered | Rejected | Cancelled => false,
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
}

impl CancellationSource {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            CancellationSource::User => "USER",
            CancellationSource::Admin => "ADMIN",
            CancellationSource::PaymentExpired => "PAYMENT_EXPIRED",
            CancellationSource::PaymentFailed => "PAYMENT_FAILED",
        }
    }

    /// From storage.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::User, Self::Admin, Self::PaymentExpired, Self::PaymentFailed].into_iter().find(|s| s.as_str() == value)
    }
}

/// A line inventory could not reserve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShortLine {
    /// The product.
    pub product_id: String,
    /// Units asked for.
    pub requested: i32,
    /// Units there were.
    pub available: i32,
}

/// A move and what it carries.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Inventory reserved every line: now the payment is awaited until `payment_deadline`.
    StockReserved {
        /// After this the order is cancelled unpaid (stored, so it survives restarts).
        payment_deadline: DateTime<Utc>,
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
            Change::StockReserved { .. } => AwaitingPayment,
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
            Change::Rejected { short_lines } => {
                let lines: Vec<_> = short_lines
                    .iter()
                    .map(|l| format!("{} ({} of {} available)", l.product_id, l.available, l.requested))
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

/// Whether `change` may happen to an order that is `from`: the table, plus one guard — a
/// payment that failed or ran out ends only an order that is waiting for that payment (a
/// paid order is not cancelled by a stale payment failure).
pub fn check(from: OrderStatus, change: &Change) -> Result<(), IllegalTransition> {
    let to = change.target();
    let guarded = match change {
        Change::Cancelled {
            source: CancellationSource::PaymentExpired | CancellationSource::PaymentFailed, ..
        } => from == AwaitingPayment,
        _ => true,
    };
    if from.can_become(to) && guarded { Ok(()) } else { Err(IllegalTransition { from, to }) }
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
    use super::*;

    fn cancel(source: CancellationSource) -> Change {
        Change::Cancelled { source, reason: String::new() }
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
        for status in [Pending, AwaitingPayment, Paid, Shipped] {
            assert!(!status.is_final(), "{status}");
        }
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        let unpaid: Vec<_> = OrderStatus::ALL.into_iter().filter(|s| s.is_open_unpaid()).collect();
        assert_eq!(unpaid, [Pending, AwaitingPayment], "placed, and neither paid nor closed");
    }

    #[test]
    fn cancelling_is_allowed_until_shipped() {
        for from in [Pending, AwaitingPayment, Paid] {
            assert_eq!(check(from, &cancel(CancellationSource::User)), Ok(()));
        }
        for from in [Shipped, Delivered, Rejected, Cancelled] {
            assert_eq!(check(from, &cancel(CancellationSource::Admin)), Err(IllegalTransition { from, to: Cancelled }));
        }
    }

    #[test]
    fn payment_outcomes_only_touch_an_order_awaiting_payment() {
        assert!(check(AwaitingPayment, &cancel(CancellationSource::PaymentFailed)).is_ok());
        assert!(check(AwaitingPayment, &cancel(CancellationSource::PaymentExpired)).is_ok());
        assert!(check(Paid, &cancel(CancellationSource::PaymentFailed)).is_err());
        assert!(check(Pending, &cancel(CancellationSource::PaymentExpired)).is_err());
        let paid = Change::Paid { payment_id: "p".into() };
        assert!(check(AwaitingPayment, &paid).is_ok());
        assert!(check(Cancelled, &paid).is_err());
        assert!(check(Pending, &paid).is_err());
    }

    #[test]
    fn fulfilment_goes_one_step_at_a_time() {
        let ship = Change::Shipped { carrier: "DHL".into(), tracking_number: String::new() };
        assert!(check(Paid, &ship).is_ok());
        assert!(check(AwaitingPayment, &ship).is_err());
        assert!(check(Shipped, &Change::Delivered).is_ok());
        assert!(check(Paid, &Change::Delivered).is_err());
        let reserved = Change::StockReserved { payment_deadline: Utc::now() };
        assert!(check(Pending, &reserved).is_ok());
        assert!(check(Cancelled, &reserved).is_err());
        for source in [CancellationSource::User, CancellationSource::PaymentFailed] {
            assert_eq!(CancellationSource::parse(source.as_str()), Some(source));
        }
    }
}
