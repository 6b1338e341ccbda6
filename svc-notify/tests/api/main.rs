//! svc-notify over real gRPC on a free port, on SQLite and on PostgreSQL, fed through the
//! real event path (an embedded bus) and sending to a real SMTP server: what customers see
//! in their inbox and their mailbox, and what admins may send.

mod admin;
mod email;
mod events;
mod inbox;
mod support;
