//! Behaviour tests of wstg-store. Each behaviour is written once, as an
//! async function of a fresh database, and `on_both_backends!` runs it as two
//! tests: against a new SQLite file and a new PostgreSQL database
//! (127.0.0.1:5432, see crates/test-support).

#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

mod access;
mod audit;
mod comments;
mod concurrency;
mod connect;
mod evidence;
mod items;
mod methodology;
mod projects;
mod summary;
mod vulnerabilities;
