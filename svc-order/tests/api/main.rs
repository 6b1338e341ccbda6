//! svc-order over real gRPC on free ports, on SQLite and on PostgreSQL, in a shop of real
//! neighbours: svc-user (accounts, addresses, the signing keys), svc-product (the catalog)
//! and svc-inventory (reservations), all on one embedded event bus. Payments do not exist
//! as a service yet: the tests publish svc-payment's events themselves.

mod access;
mod cart;
mod checkout;
mod idempotency;
mod paging;
mod support;
mod unpaid;
