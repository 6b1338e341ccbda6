//! The rules of carts and orders, free of I/O: no prost, no sea-orm.
//!
//! - [`lifecycle`]: the order's states, the one table of moves between them, when an unpaid
//!   order expires, and what a refund does to an order;
//! - [`cart`]: quantities, which variant an AddCartItem names, and how a cart is priced
//!   from the catalog;
//! - [`checkout`]: what PlaceOrder takes from a request and snapshots from the cart, and
//!   the caps on open unpaid orders;
//! - [`sales`]: the range, currency and size of a sales report, its every day, and how best
//!   sellers rank.
//!
//! Amounts are platform's [`Money`](mart_platform::money::Money), checked in every sum and
//! product; request fields are parsed with platform's [`fields`](mart_platform::fields).

pub mod cart;
pub mod checkout;
pub mod lifecycle;
pub mod sales;

pub use cart::{CartItem, CatalogEntry, CatalogLookup, Choice, OptionValue, PricedCart, PricedLine, Quantity};
pub use checkout::{ClientAddress, IdempotencyKey, OrderLine, PlaceOrder, ShippingAddress, TooManyUnpaid, UnpaidCaps};
pub use lifecycle::{Actor, CancellationSource, Change, IllegalTransition, OrderStatus, Refund, RefundLine, ShortLine};
