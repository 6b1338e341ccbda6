//! The edge against real services: REST stories through the transcoder, errors as HTTP,
//! the token check at the door, gRPC and grpc-web passthrough with reflection, limits, and
//! the OpenAPI document with its docs page.

mod auth;
mod docs;
mod grpc;
mod limits;
mod rest;
mod support;
mod web;
