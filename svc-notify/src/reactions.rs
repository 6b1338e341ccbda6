//! What svc-notify reacts to: the bus handler, decoding each event into domain values and
//! calling the [`commands`] that run in the handler's transaction.
//!
//! It consumes `mart.user.events` (keeping its own copy of each user's contact data, so
//! sending never needs svc-user) and the order and payment facts a customer wants to hear
//! about: each becomes an inbox entry plus queued email/SMS ([`commands::notify`]), in the
//! handler's transaction with the inbox row. The notification is keyed by the event id
//! besides, so a redelivered event changes nothing.

use std::sync::Arc;

use futures::future::BoxFuture;
use mart_platform::{
    bus::{DatabaseTransaction, Event, Handler, HandlerError},
    wake::Waker,
};
use mart_proto::{common::Money as PbMoney, events::envelope::Payload};

use crate::{
    commands::{self, Notice},
    domain::{
        Amount, Contact,
        templates::{Fact, Line, ShortLine},
    },
    provider::Channels,
};

/// The consumer group of svc-notify.
pub const GROUP: &str = mart_platform::events::consumers::NOTIFY.group;

/// The topics it reads.
pub const TOPICS: &[&str] = mart_platform::events::consumers::NOTIFY.topics;

/// Reacts to user, order and payment events.
pub struct Reactions {
    channels: Arc<Channels>,
    /// Nudged when messages were queued. The handler's transaction commits after it
    /// returns, so this only shortens the sender's wait; its poll finds the rows anyway.
    sender: Waker,
}

impl Reactions {
    /// Reactions queueing on `channels`, nudging `sender`.
    pub fn new(channels: Arc<Channels>, sender: Waker) -> Self {
        Self { channels, sender }
    }
}

impl Handler for Reactions {
    fn handle<'a>(&'a self, txn: &'a DatabaseTransaction, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let (user_id, fact) = match &event.envelope.payload {
                Some(Payload::UserRegistered(user)) => {
                    let contact = contact(&user.email, &user.first_name, &user.last_name, &user.phone);
                    commands::contact_known(txn, &user.user_id, &contact).await?;
                    (&user.user_id, Fact::Welcome { first_name: user.first_name.clone() })
                }
                Some(Payload::UserUpdated(user)) => {
                    let contact = contact(&user.email, &user.first_name, &user.last_name, &user.phone);
                    commands::contact_known(txn, &user.user_id, &contact).await?;
                    return Ok(());
                }
                Some(Payload::UserDeleted(user)) => {
                    commands::account_deleted(txn, &user.user_id).await?;
                    return Ok(());
                }
                Some(Payload::OrderPlaced(placed)) => {
                    let lines = placed
                        .lines
                        .iter()
                        .map(|line| Line {
                            name: line_name(line),
                            quantity: line.quantity,
                            line_total: money(&line.line_total),
                        })
                        .collect();
                    let fact =
                        Fact::OrderPlaced { order_id: placed.order_id.clone(), lines, total: money(&placed.total) };
                    (&placed.user_id, fact)
                }
                Some(Payload::OrderRejected(rejected)) => {
                    let short_lines = rejected.short_lines.iter().map(short_line).collect();
                    (&rejected.user_id, Fact::OrderRejected { order_id: rejected.order_id.clone(), short_lines })
                }
                Some(Payload::PaymentSucceeded(paid)) => (
                    &paid.user_id,
                    Fact::PaymentSucceeded { order_id: paid.order_id.clone(), amount: money(&paid.amount) },
                ),
                Some(Payload::OrderShipped(shipped)) => (
                    &shipped.user_id,
                    Fact::OrderShipped {
                        order_id: shipped.order_id.clone(),
                        carrier: shipped.carrier.clone(),
                        tracking_number: shipped.tracking_number.clone(),
                    },
                ),
                Some(Payload::OrderCancelled(cancelled)) => (
                    &cancelled.user_id,
                    Fact::OrderCancelled {
                        order_id: cancelled.order_id.clone(),
                        reason: cancelled.reason.clone(),
                        was_paid: cancelled.was_paid,
                    },
                ),
                Some(Payload::PaymentRefunded(refunded)) => (
                    &refunded.user_id,
                    Fact::PaymentRefunded {
                        order_id: refunded.order_id.clone(),
                        amount: money(&refunded.amount),
                        reason: refunded.reason.clone(),
                    },
                ),
                // The rest of these topics is nobody's news.
                _ => return Ok(()),
            };
            if user_id.is_empty() {
                tracing::warn!(event.id = %event.envelope.id, "an event without a user id: nobody to notify");
                return Ok(());
            }
            let notice =
                Notice { user_id, content: fact.render(), source_id: Some(&event.envelope.id), email: true, sms: true };
            if commands::notify(txn, &self.channels, notice).await?.is_some() {
                self.sender.wake();
            }
            Ok(())
        })
    }
}

fn contact(email: &str, first_name: &str, last_name: &str, phone: &Option<String>) -> Contact {
    Contact {
        email: email.trim().to_owned(),
        first_name: first_name.trim().to_owned(),
        last_name: last_name.trim().to_owned(),
        phone: phone.as_deref().map(str::trim).filter(|p| !p.is_empty()).map(ToOwned::to_owned),
    }
}

/// An amount of an event: a currency this shop does not know is shown as sent, not
/// refused (the customer still hears about their order).
fn money(value: &Option<PbMoney>) -> Option<Amount> {
    value.as_ref().map(|m| Amount::from_sent(m.amount_minor, &m.currency))
}

/// What an email calls an ordered line: the product's name (its SKU if it has none) and the
/// variant's option values, e.g. "Tee (Size: S, Colour: Red)".
fn line_name(line: &mart_proto::events::OrderLine) -> String {
    let name = if line.name.is_empty() { line.sku.clone() } else { line.name.clone() };
    if line.option_values.is_empty() {
        return name;
    }
    let options: Vec<String> = line.option_values.iter().map(|o| format!("{}: {}", o.name, o.value)).collect();
    format!("{name} ({})", options.join(", "))
}

/// A line the order could not get, as the event tells it.
fn short_line(line: &mart_proto::events::ShortLine) -> ShortLine {
    ShortLine { product_id: line.product_id.clone(), requested: line.requested, available: line.available }
}
