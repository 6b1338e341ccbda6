//! The Online Mart contract: every service, RPC, message and event, generated from the
//! `.proto` files under `proto/mart/`, plus the encoded descriptor set that server
//! reflection, the access check and the edge read at run time.
//!
//! Generated types stop at each service's `api.rs`; domain code never sees them.

#[allow(clippy::all, clippy::pedantic, rust_2018_idioms, missing_docs, reason = "generated code")]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/mart_includes.rs"));
}

pub use generated::{google, mart};

pub mod contract;

/// The encoded `FileDescriptorSet` of the whole contract, imports and source info included
/// (the comments become the API docs), custom options intact.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/mart_descriptor.bin"));

/// Short paths to each package.
pub use mart::common::v1 as common;
pub use mart::events::v1 as events;
pub use mart::inventory::v1 as inventory;
pub use mart::notify::v1 as notify;
pub use mart::order::v1 as order;
pub use mart::payment::v1 as payment;
pub use mart::product::v1 as product;
pub use mart::user::v1 as user;
