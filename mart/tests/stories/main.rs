//! The shop's stories end to end: every service and the edge in one process (what `mart up`
//! runs), driven through the edge's REST API the way a shop front would, with a real SMTP
//! listener and, for card payments, the Stripe stand-in.

mod access;
mod checkout;
mod demo;
mod failures;
mod identity;
mod inputs;
mod kafka;
mod media;
mod paging;
mod recovery;
mod refunds;
mod stripe_chaos;
mod support;
mod traces;
mod variants;
mod watch;
