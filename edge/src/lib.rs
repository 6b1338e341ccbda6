//! The HTTP edge of Online Mart: one door on `MART_HTTP_ADDR` for REST, grpc-web and gRPC,
//! generated from the contract — no REST handler is written per endpoint.
//!
//! Built so far: [`routes`], the REST route table compiled from every public RPC's
//! `google.api.http` rule. Transcoding, forwarding, grpc-web, the auth check at the door,
//! limits, OpenAPI and `/docs` come next (the edge issue).

pub mod routes;
