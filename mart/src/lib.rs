//! `mart`: the command a newcomer meets first. [`shop`] runs all six services and the edge
//! in one process on the embedded defaults.

pub mod shop;
