//! svc-payment over real gRPC on free ports, on SQLite and on PostgreSQL, fed through the
//! real event path (an embedded bus), with the fake Stripe standing in for Stripe: what
//! shoppers, admins, Stripe and the order service see.

mod expiry;
mod faults;
mod manual;
mod stripe;
mod support;
mod webhooks;
