//! svc-inventory over real gRPC on free ports, on SQLite and on PostgreSQL, fed through the
//! real event path (an embedded bus): what shoppers, admins and the order service see, and
//! a database made before variants existed, upgraded.

mod reservations;
mod stock;
mod support;
mod upgrade;
mod variants;
