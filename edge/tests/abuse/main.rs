//! Attacks on the edge over real loopback sockets, the way one abusive client would make
//! them, each bounded in requests and time: what a legitimate client still sees while one
//! client floods the edge, each bound the edge keeps, and what lying about one's address
//! gains (nothing).

mod availability;
mod bounds;
mod client_ip;
// The shop of the API tests; not every helper of it is needed here.
#[allow(dead_code)]
#[path = "../api/support.rs"]
mod support;
mod wire;
