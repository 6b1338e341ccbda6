//! `mart`: the command a newcomer meets first. [`shop`] runs all six services and the edge
//! in one process on the embedded defaults; [`demo`] fills a running shop with a catalog
//! to browse; [`probe`] answers a container's health check.

pub mod demo;
pub mod probe;
pub mod shop;
