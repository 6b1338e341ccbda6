//! svc-inventory over real gRPC on free ports, on SQLite and on PostgreSQL, fed through the
//! real event path (an embedded bus): what shoppers, admins and the order service see.

mod reservations;
mod stock;
mod support;
