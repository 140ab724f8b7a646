//! The Redis streams queue of wstg-bridge, after svix's Redis queue.
//!
//! - The ingest API and the poller [`Queue::publish`] envelopes (XADD) to
//!   `P:events` over one shared multiplexed connection.
//! - Worker replicas each run a [`Consumer`] in the group `workers`: they
//!   read in batches (XREADGROUP, each on its own connection), ack after the
//!   effect is stored (XACK + XDEL, so the stream holds only unfinished
//!   work), and take over entries a dead replica left behind
//!   ([`Consumer::claim_stale`], XAUTOCLAIM). Delivery is at least once.
//! - A failed event is retried on the [`retry`] schedule through the delayed
//!   zset ([`Queue::retry_later`], moved back by [`Queue::promote_due`]);
//!   when the schedule ends, or an entry is poison or keeps killing its
//!   worker (more than `max_deliveries` deliveries), it goes to the
//!   dead-letter stream, from which an operator replays it.
//!
//! Key layout: see [`keys`]. Every multi-step change is one Lua script
//! (`src/scripts.rs`), so replicas can race on them freely. Connection setup
//! and the reasons for it: `src/connection.rs`.

pub mod alert_state;
pub mod backoff;
pub mod breaker_state;
pub mod config;
mod connection;
pub mod consumer;
pub mod delayed;
pub mod dlq;
pub mod entry;
pub mod error;
pub mod feeds;
pub mod health;
pub mod intents;
pub mod keys;
pub mod lease;
pub mod legacy;
pub mod metrics;
pub mod publish;
pub mod queue;
pub mod retry;
mod scripts;
pub mod stats;
pub mod trim;

pub use backoff::reconnect_delay;
pub use breaker_state::{BreakerReport, BreakerState};
pub use config::{DlqBounds, QueueConfig};
pub use connection::Connection;
pub use consumer::{unique_consumer_name, Consumer, Delivery};
pub use dlq::{DeadLetter, DlqDrop, DlqDropReason};
pub use error::QueueError;
pub use feeds::{Feed, FeedEntry, FeedReader};
pub use health::{eviction_warning, persistence_warning};
pub use keys::{Keys, GROUP};
pub use lease::{Lease, Leases};
pub use legacy::LegacyMigration;
pub use publish::Published;
pub use queue::Queue;
pub use retry::{retry_delay, MAX_ATTEMPTS};
pub use stats::QueueStats;
