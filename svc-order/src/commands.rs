//! Every state change of svc-order, each in one transaction: cart changes
//! (`commands/cart.rs`), PlaceOrder (`commands/checkout.rs`), and every move of an order
//! through its lifecycle ([`lifecycle`]): cancelling, shipping and delivering for the API,
//! the moves the event reactions make, and the payment deadline's cancellation for the
//! sweeper.
//!
//! The API, [`crate::reactions`] and [`crate::loops`] all change state through here. A
//! command opens `db::begin_write`, calls the store, appends its events
//! ([`crate::events`]) and commits, then wakes the relay — and, for a move of an order,
//! its watchers ([`crate::watch`]). What runs inside a transaction
//! someone else opened (the bus gives the event handler one, with the inbox row) is a free
//! function taking the `&DatabaseTransaction`, next to the command that wraps it.

use mart_platform::wake::Waker;
use sea_orm::DatabaseConnection;

use crate::{
    domain::UnpaidCaps,
    peers::{AddressBook, Catalog},
    watch::OrderChanges,
};

mod cart;
mod checkout;
pub mod lifecycle;

pub use lifecycle::{Cause, Moved};

/// What the commands need: the database, the relay to wake, and the peers a command asks
/// before it writes.
#[derive(Clone)]
pub struct Commands {
    /// svc-order's database.
    db: DatabaseConnection,
    /// Nudged after every commit that wrote events.
    relay: Waker,
    /// Current names and prices.
    catalog: Catalog,
    /// Shipping addresses.
    address_book: AddressBook,
    /// `MART_ORDER_MAX_QUANTITY`.
    max_quantity: u32,
    /// `MART_ORDER_MAX_OPEN_UNPAID` and `…_PER_ADDRESS`: what PlaceOrder counts.
    caps: UnpaidCaps,
    /// Told of every order a command moved, after the commit: its WatchOrder streams.
    changes: OrderChanges,
}

impl Commands {
    /// The commands over `db`, asking `catalog` and `address_book`, waking `relay` after
    /// writing events; a cart line holds at most `max_quantity` units, and PlaceOrder keeps
    /// the open unpaid orders within `caps`; the watchers of an order moved hear of it
    /// through `changes`.
    pub fn new(
        db: DatabaseConnection,
        relay: Waker,
        catalog: Catalog,
        address_book: AddressBook,
        max_quantity: u32,
        caps: UnpaidCaps,
        changes: OrderChanges,
    ) -> Self {
        Self { db, relay, catalog, address_book, max_quantity, caps, changes }
    }
}
