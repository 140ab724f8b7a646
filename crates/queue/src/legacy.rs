//! Upgrading from the key layout before the hash tag (`P:events`, …) to the
//! tagged one (`{P}:events`, see [`crate::keys`]).
//!
//! A service started on a Redis that still holds old-layout work would
//! ignore it silently: the events, retries and dead letters under `P:` would
//! never be read again. So [`Queue::connect`] refuses to start while any of
//! them exists, naming `wstgctl migrate`, which calls
//! [`Queue::migrate_legacy_keys`] to rename them (RENAMENX keeps a stream's
//! consumer group and pending entries, and a TTL). The old layout only ever
//! existed on a single server (its scripts could not run on a cluster), so
//! a rename never crosses slots.

use serde::Serialize;

use crate::error::QueueError;
use crate::queue::Queue;
use crate::scripts;

/// Old-layout keys that hold work: if one of these exists, starting would
/// strand it.
const WORK: &[&str] = &["events", "delayed", "delayed:data", "dlq"];

/// Suffixes of every old-layout key (whole names, then name prefixes).
/// Only these are renamed, so a deployment whose prefix extends ours
/// (`wstg:staging` beside `wstg`) keeps its keys.
const NAMES: &[&str] = &[
    "events",
    "delayed",
    "delayed:data",
    "dlq",
    "dlq:dropped",
    "breaker",
    "poller:heartbeat",
    "dojo:webhook",
    "poller:last_ok",
    "alert:lease",
    "alert:incidents",
    "poll-hints",
    "changes",
    "webhook-poll",
];
const FAMILIES: &[&str] = &["idem:", "failed_at:", "lock:", "intents:", "poller:lease:"];

/// What [`Queue::migrate_legacy_keys`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LegacyMigration {
    /// Keys renamed from `P:x` to `{P}:x`.
    pub renamed: u64,
    /// Old keys left alone because the new name already exists (a service
    /// of the new layout wrote it); listed for the operator to resolve.
    pub conflicts: Vec<String>,
}

impl Queue {
    /// The old-layout keys holding work that exist (empty: nothing to
    /// migrate). One round trip.
    pub async fn legacy_work_keys(&self) -> Result<Vec<String>, QueueError> {
        let old: Vec<String> = WORK
            .iter()
            .map(|s| format!("{}:{s}", self.keys.prefix()))
            .collect();
        let mut pipe = redis::pipe();
        for k in &old {
            pipe.cmd("EXISTS").arg(k);
        }
        let exists: Vec<u64> = pipe.query_async(&mut self.conn.clone()).await?;
        Ok(old
            .into_iter()
            .zip(exists)
            .filter(|(_, n)| *n > 0)
            .map(|(k, _)| k)
            .collect())
    }

    /// Refuses to run on a Redis still holding old-layout work.
    pub(crate) async fn refuse_legacy_layout(&self) -> Result<(), QueueError> {
        // The old layout's scripts failed with CROSSSLOT on a cluster, so no
        // cluster holds it (and its keys would span slots).
        if self.conn.is_cluster() {
            return Ok(());
        }
        let found = self.legacy_work_keys().await?;
        if found.is_empty() {
            return Ok(());
        }
        Err(QueueError::Config(format!(
            "Redis holds keys of the layout before the hash tag ({}); run `wstgctl migrate` \
             (with every service stopped) to rename them to {}:…",
            found.join(", "),
            self.keys.tagged()
        )))
    }

    /// Renames every old-layout key `P:x` to `{P}:x` (RENAMENX: an existing
    /// new key is never overwritten). Run with the services stopped; safe to
    /// run again (nothing left: nothing done).
    pub async fn migrate_legacy_keys(&self) -> Result<LegacyMigration, QueueError> {
        let mut conn = self.conn.clone();
        let mut done = LegacyMigration::default();
        let mut cursor: u64 = 0;
        let mut candidates = Vec::new();
        // SCAN first, rename after: renaming while scanning could show a key
        // twice (SCAN's guarantee is only about keys present throughout).
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(self.keys.legacy_pattern())
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await?;
            candidates.extend(keys);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        for old in candidates {
            let Some(suffix) = old
                .strip_prefix(self.keys.prefix())
                .and_then(|s| s.strip_prefix(':'))
            else {
                continue;
            };
            if !NAMES.contains(&suffix) && !FAMILIES.iter().any(|f| suffix.starts_with(f)) {
                continue;
            }
            let Some(new) = self.keys.from_legacy(&old) else {
                continue;
            };
            let renamed: i64 = scripts::RENAME_LEGACY
                .key(&old)
                .key(&new)
                .invoke_async(&mut conn)
                .await?;
            match renamed {
                1 => done.renamed += 1,
                0 => done.conflicts.push(old),
                _ => {} // expired since the scan
            }
        }
        if done.renamed > 0 {
            tracing::info!(
                renamed = done.renamed,
                "renamed keys to the hash-tagged layout"
            );
        }
        Ok(done)
    }
}
