//! The system tests' harness: `wstg-harness` (crates/harness), shared with
//! the benchmarks.

#![allow(unused_imports)]

pub use wstg_harness::*;
