//! svc-order over real gRPC on free ports, on SQLite and on PostgreSQL, in a shop of real
//! neighbours: svc-user (accounts, addresses, the signing keys), svc-product (the catalog)
//! and svc-inventory (reservations), all on one embedded event bus. svc-payment is not
//! started: the tests publish its events themselves (PaymentCreated, PaymentSucceeded,
//! PaymentFailed, PaymentRefunded).

mod access;
mod cart;
mod checkout;
mod idempotency;
mod migration;
mod opening;
mod paging;
mod refunds;
mod reports;
mod support;
mod unpaid;
mod variants;
mod watch;
