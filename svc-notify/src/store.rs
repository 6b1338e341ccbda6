//! svc-notify's tables and the queries on them: the contact projection, the inbox, and the
//! outgoing messages (the delivery queue the sender drains).

pub mod contacts;
pub mod deliveries;
pub mod notifications;
