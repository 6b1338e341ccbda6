//! Domain events: building the one envelope every event travels in, and which topic each
//! belongs to. The outbox ([`crate::outbox`]) stores envelopes; the bus carries them.

use mart_proto::events::{Envelope, envelope::Payload};

/// The bus topic of a payload: one topic per publishing service (API.md's events table).
/// Exhaustive, so a new event cannot be added without deciding where it goes.
pub fn topic_of(payload: &Payload) -> &'static str {
    match payload {
        Payload::UserRegistered(_) | Payload::UserUpdated(_) | Payload::UserDeleted(_) => "mart.user.events",
        Payload::ProductCreated(_)
        | Payload::ProductUpdated(_)
        | Payload::ProductArchived(_)
        | Payload::VariantAdded(_)
        | Payload::VariantArchived(_) => "mart.product.events",
        Payload::OrderPlaced(_)
        | Payload::OrderAwaitingPayment(_)
        | Payload::OrderPaid(_)
        | Payload::OrderRejected(_)
        | Payload::OrderCancelled(_)
        | Payload::OrderShipped(_)
        | Payload::OrderDelivered(_) => "mart.order.events",
        Payload::StockReserved(_)
        | Payload::StockReservationFailed(_)
        | Payload::StockReleased(_)
        | Payload::StockCommitted(_)
        | Payload::StockAdjusted(_) => "mart.inventory.events",
        Payload::PaymentCreated(_)
        | Payload::PaymentSucceeded(_)
        | Payload::PaymentFailed(_)
        | Payload::PaymentRefunded(_) => "mart.payment.events",
    }
}

/// A consumer group of the shop and the topics it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Consumer {
    /// The group.
    pub group: &'static str,
    /// What it reads.
    pub topics: &'static [&'static str],
}

/// The consumer groups of the shop, one per service that reacts to events: what each
/// service's reactions subscribe with, and what reports over the whole bus (the admin
/// console's events page) list.
pub mod consumers {
    use super::Consumer;

    /// svc-product: stock announcements keep its in-stock read model.
    pub const PRODUCT: Consumer = Consumer { group: "product", topics: &["mart.inventory.events"] };
    /// svc-inventory: new products open stock; orders reserve, commit and release it.
    pub const INVENTORY: Consumer =
        Consumer { group: "inventory", topics: &["mart.product.events", "mart.order.events"] };
    /// svc-order: reservations and payments move orders.
    pub const ORDER: Consumer = Consumer { group: "order", topics: &["mart.inventory.events", "mart.payment.events"] };
    /// svc-payment: orders open, cancel and refund payments.
    pub const PAYMENT: Consumer = Consumer { group: "payment", topics: &["mart.order.events"] };
    /// svc-notify: what customers are told.
    pub const NOTIFY: Consumer =
        Consumer { group: "notify", topics: &["mart.user.events", "mart.order.events", "mart.payment.events"] };
}

/// Every consumer group of the shop.
pub const CONSUMERS: [Consumer; 5] =
    [consumers::PRODUCT, consumers::INVENTORY, consumers::ORDER, consumers::PAYMENT, consumers::NOTIFY];

/// Every topic, for creating them (and their `.dlq`) on the bus.
pub const TOPICS: [&str; 5] =
    ["mart.user.events", "mart.product.events", "mart.order.events", "mart.inventory.events", "mart.payment.events"];

/// The full message name of a payload, the envelope's `type`.
pub fn type_of(payload: &Payload) -> &'static str {
    match payload {
        Payload::UserRegistered(_) => "mart.events.v1.UserRegistered",
        Payload::UserUpdated(_) => "mart.events.v1.UserUpdated",
        Payload::UserDeleted(_) => "mart.events.v1.UserDeleted",
        Payload::ProductCreated(_) => "mart.events.v1.ProductCreated",
        Payload::ProductUpdated(_) => "mart.events.v1.ProductUpdated",
        Payload::ProductArchived(_) => "mart.events.v1.ProductArchived",
        Payload::VariantAdded(_) => "mart.events.v1.VariantAdded",
        Payload::VariantArchived(_) => "mart.events.v1.VariantArchived",
        Payload::OrderPlaced(_) => "mart.events.v1.OrderPlaced",
        Payload::OrderAwaitingPayment(_) => "mart.events.v1.OrderAwaitingPayment",
        Payload::OrderPaid(_) => "mart.events.v1.OrderPaid",
        Payload::OrderRejected(_) => "mart.events.v1.OrderRejected",
        Payload::OrderCancelled(_) => "mart.events.v1.OrderCancelled",
        Payload::OrderShipped(_) => "mart.events.v1.OrderShipped",
        Payload::OrderDelivered(_) => "mart.events.v1.OrderDelivered",
        Payload::StockReserved(_) => "mart.events.v1.StockReserved",
        Payload::StockReservationFailed(_) => "mart.events.v1.StockReservationFailed",
        Payload::StockReleased(_) => "mart.events.v1.StockReleased",
        Payload::StockCommitted(_) => "mart.events.v1.StockCommitted",
        Payload::StockAdjusted(_) => "mart.events.v1.StockAdjusted",
        Payload::PaymentCreated(_) => "mart.events.v1.PaymentCreated",
        Payload::PaymentSucceeded(_) => "mart.events.v1.PaymentSucceeded",
        Payload::PaymentFailed(_) => "mart.events.v1.PaymentFailed",
        Payload::PaymentRefunded(_) => "mart.events.v1.PaymentRefunded",
    }
}

/// A new envelope around `payload`, about the aggregate `aggregate_id` (its key on the bus).
pub fn envelope(aggregate_id: impl Into<String>, payload: Payload) -> Envelope {
    let now = std::time::SystemTime::now();
    Envelope {
        id: uuid::Uuid::now_v7().to_string(),
        r#type: type_of(&payload).to_owned(),
        aggregate_id: aggregate_id.into(),
        occurred_at: Some(now.into()),
        payload: Some(payload),
    }
}

#[cfg(test)]
mod tests {
    use mart_proto::events::UserDeleted;

    use super::*;

    #[test]
    fn types_are_real_message_names() {
        let pool = mart_proto::contract::pool();
        let env = envelope("u1", Payload::UserDeleted(UserDeleted { user_id: "u1".into() }));
        assert!(pool.get_message_by_name(&env.r#type).is_some(), "{}", env.r#type);
        assert_eq!(topic_of(env.payload.as_ref().unwrap()), "mart.user.events");
        assert!(TOPICS.contains(&"mart.user.events"));
    }
}
