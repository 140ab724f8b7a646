//! `[startup]`: how a service behaves while what it needs is not there yet.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartupSettings {
    /// Seconds a service waits for Redis and for the store at start (each),
    /// retrying with a backoff; 0: one attempt.
    pub wait_secs: u64,
}

impl StartupSettings {
    pub fn wait(&self) -> Duration {
        Duration::from_secs(self.wait_secs)
    }
}
