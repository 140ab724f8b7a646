//! Liveness and the one Redis setting that can silently lose queued work.

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
            Some(p) => eviction_warning(&p, self.keys.prefix()),
            None => Some(
                "could not read Redis maxmemory-policy (CONFIG and INFO unavailable); \
                 make sure it is noeviction, or queued events may be evicted"
                    .to_owned(),
            ),
        })
    }
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
        let v = eviction_warning("volatile-lru", "wstg").unwrap_or_default();
        assert!(v.contains("wstg:idem:*"), "{v}");
        let a = eviction_warning("allkeys-lru", "wstg").unwrap_or_default();
        assert!(a.contains("lose events"), "{a}");
    }

    #[test]
    fn reads_policy_from_info() {
        let info = "# Memory\r\nused_memory:1\r\nmaxmemory_policy:allkeys-lru\r\n";
        assert_eq!(policy_from_info(info).as_deref(), Some("allkeys-lru"));
        assert_eq!(policy_from_info("# Memory\r\n"), None);
    }
}
