//! svc-payment's tables and the queries on them. A payment's status changes only through
//! [`payments::transition`], a conditional `UPDATE` whose `WHERE` names the statuses it may
//! come from, taken after the row's lock: two racing changes cannot both win.

pub mod calls;
pub mod closed_orders;
pub mod history;
pub mod payments;
pub mod refunds;
pub mod stripe_events;
