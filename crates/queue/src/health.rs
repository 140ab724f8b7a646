//! Liveness and the two Redis settings that can silently lose queued work:
//! the eviction policy and persistence.

use std::collections::HashMap;

use crate::error::QueueError;
use crate::queue::Queue;

impl Queue {
    /// PING on the shared connection (readiness probes).
    pub async fn ping(&self) -> Result<(), QueueError> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    /// Returns a warning if Redis may evict queue data under memory
    /// pressure, `None` if the policy is safe (`noeviction`).
    ///
    /// Reads `CONFIG GET maxmemory-policy`; managed Redis services often
    /// disable CONFIG, so it falls back to `INFO memory`, and if that fails
    /// too it warns that the policy could not be verified rather than erring.
    pub async fn check_eviction_policy(&self) -> Result<Option<String>, QueueError> {
        let mut conn = self.conn.clone();
        let from_config: Result<HashMap<String, String>, _> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("maxmemory-policy")
            .query_async(&mut conn)
            .await;
        let policy = match from_config {
            Ok(map) => map.get("maxmemory-policy").cloned(),
            Err(e) if QueueError::from(e.clone()).is_transient() => return Err(e.into()),
            Err(e) => {
                tracing::debug!(error = %e, "CONFIG GET unavailable; trying INFO memory");
                let info: Result<String, _> = redis::cmd("INFO")
                    .arg("memory")
                    .query_async(&mut conn)
                    .await;
                match info {
                    Ok(text) => policy_from_info(&text),
                    Err(e) if QueueError::from(e.clone()).is_transient() => return Err(e.into()),
                    Err(_) => None,
                }
            }
        };
        Ok(match policy {
            Some(p) => eviction_warning(&p, self.keys.tagged()),
            None => Some(
                "could not read Redis maxmemory-policy (CONFIG and INFO unavailable); \
                 make sure it is noeviction, or queued events may be evicted"
                    .to_owned(),
            ),
        })
    }
}

impl Queue {
    /// The warnings a service logs at start: eviction policy, then
    /// persistence. A Redis that cannot be asked (transient error) gives
    /// none here; the service's readiness reports it.
    pub async fn startup_warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Ok(Some(w)) = self.check_eviction_policy().await {
            warnings.push(w);
        }
        if let Ok(Some(w)) = self.check_persistence().await {
            warnings.push(w);
        }
        warnings
    }

    /// Returns a warning unless Redis keeps an append-only file (AOF).
    ///
    /// The ingest answers 202 once an event is in Redis: that is a promise
    /// only if the event survives a Redis restart. RDB snapshots alone lose
    /// every write since the last one (minutes by default); without either
    /// a restart loses the whole queue (docs/reliability.md). Reads
    /// `CONFIG GET appendonly`, falls back to `INFO persistence`
    /// (`aof_enabled`) where CONFIG is disabled, and if neither answers says
    /// that persistence could not be checked.
    pub async fn check_persistence(&self) -> Result<Option<String>, QueueError> {
        let mut conn = self.conn.clone();
        let from_config: Result<HashMap<String, String>, _> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("appendonly")
            .query_async(&mut conn)
            .await;
        let aof = match from_config {
            Ok(map) => map.get("appendonly").map(|v| v.eq_ignore_ascii_case("yes")),
            Err(e) if QueueError::from(e.clone()).is_transient() => return Err(e.into()),
            Err(e) => {
                tracing::debug!(error = %e, "CONFIG GET unavailable; trying INFO persistence");
                let info: Result<String, _> = redis::cmd("INFO")
                    .arg("persistence")
                    .query_async(&mut conn)
                    .await;
                match info {
                    Ok(text) => aof_from_info(&text),
                    Err(e) if QueueError::from(e.clone()).is_transient() => return Err(e.into()),
                    Err(_) => None,
                }
            }
        };
        Ok(persistence_warning(aof))
    }
}

/// The warning for Redis's AOF setting: `Some(true)` is safe, `Some(false)`
/// loses accepted events on a restart, `None` could not be checked.
pub fn persistence_warning(aof: Option<bool>) -> Option<String> {
    match aof {
        Some(true) => None,
        Some(false) => Some(
            "Redis does not persist with an append-only file (appendonly no): events the \
             ingest accepted with 202 are lost if Redis restarts before a worker applies \
             them; set appendonly yes (docs/reliability.md)"
                .to_owned(),
        ),
        None => Some(
            "could not check whether Redis persists (CONFIG and INFO unavailable); make sure \
             appendonly is yes, or events accepted with 202 are lost when Redis restarts \
             (docs/reliability.md)"
                .to_owned(),
        ),
    }
}

fn aof_from_info(info: &str) -> Option<bool> {
    info.lines()
        .find_map(|l| l.trim().strip_prefix("aof_enabled:"))
        .map(|v| v.trim() == "1")
}

fn policy_from_info(info: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.trim().strip_prefix("maxmemory_policy:"))
        .map(str::to_owned)
}

/// The warning for a policy, if any.
///
/// - `noeviction`: safe; at maxmemory, writes fail (OOM, transient) instead.
/// - `volatile-*`: only keys with a TTL are evicted. The stream, retries and
///   dead letters have none, but idempotency keys and first-failure times do:
///   their early eviction lets a duplicate through. Worth a warning.
/// - anything else (`allkeys-*`): any key may go, the events stream
///   included.
pub fn eviction_warning(policy: &str, prefix: &str) -> Option<String> {
    let policy = policy.trim();
    if policy.eq_ignore_ascii_case("noeviction") {
        None
    } else if policy.to_ascii_lowercase().starts_with("volatile-") {
        Some(format!(
            "Redis maxmemory-policy is {policy}: queue keys have no TTL and are safe, but \
             idempotency keys ({prefix}:idem:*) expire and may be evicted early, letting \
             duplicate events through; prefer noeviction"
        ))
    } else {
        Some(format!(
            "Redis maxmemory-policy is {policy}: under memory pressure Redis may evict the \
             events stream, delayed retries or dead letters and lose events; set \
             maxmemory-policy noeviction"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        assert_eq!(eviction_warning("noeviction", "wstg"), None);
        let v = eviction_warning("volatile-lru", "{wstg}").unwrap_or_default();
        assert!(v.contains("{wstg}:idem:*"), "{v}");
        let a = eviction_warning("allkeys-lru", "wstg").unwrap_or_default();
        assert!(a.contains("lose events"), "{a}");
    }

    #[test]
    fn persistence() {
        assert_eq!(persistence_warning(Some(true)), None);
        let no = persistence_warning(Some(false)).unwrap_or_default();
        assert!(no.contains("appendonly no") && no.contains("202"), "{no}");
        let unknown = persistence_warning(None).unwrap_or_default();
        assert!(unknown.contains("could not check"), "{unknown}");
        assert_eq!(
            aof_from_info("# Persistence\r\naof_enabled:1\r\n"),
            Some(true)
        );
        assert_eq!(
            aof_from_info("# Persistence\r\naof_enabled:0\r\n"),
            Some(false)
        );
        assert_eq!(aof_from_info("# Persistence\r\n"), None);
    }

    #[test]
    fn reads_policy_from_info() {
        let info = "# Memory\r\nused_memory:1\r\nmaxmemory_policy:allkeys-lru\r\n";
        assert_eq!(policy_from_info(info).as_deref(), Some("allkeys-lru"));
        assert_eq!(policy_from_info("# Memory\r\n"), None);
    }
}
