//! What every wstg-bridge service does at start: answer `--help` and
//! `--version`, load the settings (exit 2 naming what is wrong), set up
//! telemetry, connect (waiting for Redis and the store), stop on SIGTERM,
//! and turn errors into exit codes. One helper, [`service::main`], so the
//! three `main.rs` are a build and a run each.

pub mod connect;
pub mod patience;
pub mod service;
pub mod signal;
pub mod telemetry;
