//! One poller per project at a time: a lease in Redis with an expiry
//! (`P:poller:lease:<project>`, the queue crate's one lease implementation).
//! The holder renews it every pass; if it dies, the lease runs out and a
//! standby replica takes the project over.

use std::time::Duration;

use wstg_queue::Connection;
use wstg_queue::{Keys, Leases};

#[derive(Clone)]
pub struct ProjectLeases {
    leases: Leases,
    keys: Keys,
    holder: String,
}

impl ProjectLeases {
    pub fn new(conn: Connection, prefix: &str, holder: &str, ttl: Duration) -> ProjectLeases {
        ProjectLeases {
            leases: Leases::new(conn, prefix, ttl),
            keys: Keys::new(prefix),
            holder: holder.to_owned(),
        }
    }

    /// True when this poller holds `project`'s lease (now renewed).
    pub async fn hold(&self, project: &str) -> Result<bool, redis::RedisError> {
        self.leases
            .hold(&self.keys.poller_lease(project), &self.holder)
            .await
    }

    /// Gives the lease up (on shutdown), so a standby takes over at once.
    pub async fn release(&self, project: &str) {
        self.leases
            .release_held(&self.keys.poller_lease(project), &self.holder)
            .await;
    }

    /// Who holds `project`'s lease, if anyone.
    pub async fn holder_of(&self, project: &str) -> Result<Option<String>, redis::RedisError> {
        self.leases
            .holder_of(&self.keys.poller_lease(project))
            .await
    }
}
