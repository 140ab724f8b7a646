//! Helpers shared by every test suite of wstg-bridge.
//!
//! Tests talk to real services: Redis on 127.0.0.1:6379 and PostgreSQL on
//! 127.0.0.1:5432 (override with `WSTG_TEST_REDIS_URL` and
//! `WSTG_TEST_POSTGRES_URL`). Each test isolates itself with a fresh Redis
//! key prefix and a fresh database.

#![allow(clippy::unwrap_used)]

pub mod db;
pub mod eventually;
pub mod process;
pub mod receiver;
pub mod redis_env;
pub mod redis_topology;
pub mod sim_stats;

pub use db::{fresh_postgres, fresh_sqlite, FreshDb};
pub use eventually::{eventually, eventually_async};
pub use redis_env::{redis_url, stream_len, unique_prefix};

/// Installs a test log subscriber once; `TEST_LOG=1` shows the logs.
pub fn init_test_logging() {
    use std::sync::Once;
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info".into()),
                )
                .with_test_writer()
                .try_init();
        }
    });
}
