//! The Redis key layout, derived from the configured prefix `P`. Every key
//! the bridge uses is named here, and only here (docs/redis-keys.md has the
//! same table for operators).
//!
//! | key                              | type   | holds |
//! |----------------------------------|--------|-------|
//! | `P:events`                       | stream | work to do; group `workers`; fields `data` (envelope JSON), `event_id` |
//! | `P:delayed`                      | zset   | retries waiting: member = event_id, score = due time (unix ms) |
//! | `P:delayed:data`                 | hash   | event_id → envelope JSON of each delayed retry |
//! | `P:dlq`                          | stream | dead letters: `data`, `event_id`, `attempts`, `error`, `first_failed_at`, `dead_at`, `source_id` |
//! | `P:dlq:dropped`                  | string | counter: dead letters dropped by the DLQ's age and size bounds, ever |
//! | `P:idem:<key>`                   | string | event_id first published under an idempotency key (TTL) |
//! | `P:failed_at:<event>`            | string | RFC 3339 time of an event's first failure (TTL 7 days), copied into its dead letter |
//! | `P:breaker`                      | hash   | consumer name → JSON state of that worker's DefectDojo circuit breaker |
//! | `P:lock:item:<project>:<id>`     | string | lease on one item: a random token, PX = the lease (worker) |
//! | `P:lock:vuln:<project>:<uuid>`   | string | lease on one vulnerability under an item (worker::vulnerability) |
//! | `P:lock:project:<project>`       | string | lease on making a project's DefectDojo hierarchy (worker) |
//! | `P:lock:evidence:<id>`           | string | lease on uploading one evidence file (worker): a random token, PX = the lease |
//! | `P:lock:retention`               | string | which poller runs the retention job (audit and DLQ pruning): holder name, PX = 2 intervals |
//! | `P:intents:<project>:<id>`       | hash   | write-ahead record of our DefectDojo writes not known good: intent id → JSON (TTL 10 min) |
//! | `P:poller:lease:<project>`       | string | which poller polls the project: holder name, PX = 3 passes |
//! | `P:poller:heartbeat`             | string | the poller's last pass, JSON with `dojo_reachable` |
//! | `P:poll-hints`                   | stream | "poll soon" requests (webhooks, wstgctl), capped |
//! | `P:changes`                      | stream | item change notices for trackers (server-sent events), capped |
//! | `P:poller:last_ok`               | string | RFC 3339 time of the last poll pass that read every project it held |
//! | `P:alert:lease`                  | string | which poller replica evaluates and sends alerts: holder name, PX |
//! | `P:alert:incidents`              | hash   | alert rule (and project) → JSON state of its incident: firing or not, since, last notice |
//!
//! Delayed retries are keyed by event id rather than by their JSON so that
//! scheduling the same event twice (a worker that crashed between scheduling
//! and acking, then handled the redelivery) keeps one retry, not two, and so
//! an operator can look one up: `ZRANGE P:delayed 0 -1 WITHSCORES`, then
//! `HGET P:delayed:data <event_id>`.

use uuid::Uuid;

/// The consumer group every worker replica joins.
pub const GROUP: &str = "workers";

/// The names of every key under one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
    pub events: String,
    pub delayed: String,
    pub delayed_data: String,
    pub dlq: String,
    /// How many dead letters the DLQ's bounds dropped (a counter).
    pub dlq_dropped: String,
    pub breaker: String,
    pub poller_heartbeat: String,
    /// DefectDojo's notification webhook as the poller last saw it (JSON).
    pub dojo_webhook: String,
    /// When a poll pass last read every project it held (RFC 3339).
    pub poller_last_ok: String,
    /// The lease of the one replica that evaluates and sends alerts.
    pub alert_lease: String,
    /// Each alert incident's state (hash: rule key → JSON), so a restart
    /// or a failover neither re-sends nor forgets an incident.
    pub alert_incidents: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Keys {
        Keys {
            prefix: prefix.to_owned(),
            events: format!("{prefix}:events"),
            delayed: format!("{prefix}:delayed"),
            delayed_data: format!("{prefix}:delayed:data"),
            dlq: format!("{prefix}:dlq"),
            dlq_dropped: format!("{prefix}:dlq:dropped"),
            breaker: format!("{prefix}:breaker"),
            poller_heartbeat: format!("{prefix}:poller:heartbeat"),
            dojo_webhook: format!("{prefix}:dojo:webhook"),
            poller_last_ok: format!("{prefix}:poller:last_ok"),
            alert_lease: format!("{prefix}:alert:lease"),
            alert_incidents: format!("{prefix}:alert:incidents"),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The idempotency record of one client-supplied key.
    pub fn idem(&self, key: &str) -> String {
        format!("{}:idem:{key}", self.prefix)
    }

    /// When `event_id` first failed (kept while it waits for retries).
    pub fn failed_at(&self, event_id: &Uuid) -> String {
        format!("{}:failed_at:{event_id}", self.prefix)
    }

    /// A `failed_at` key that cannot exist (an event without an id): it
    /// keeps a script's KEYS fixed.
    pub fn failed_at_unknown(&self) -> String {
        format!("{}:failed_at:-", self.prefix)
    }

    /// A lease named `name` (`item:<project>:<id>`, `project:<project>`).
    pub fn lock(&self, name: &str) -> String {
        format!("{}:lock:{name}", self.prefix)
    }

    /// The lease of the retention job (one poller replica prunes).
    pub fn retention_lease(&self) -> String {
        self.lock("retention")
    }

    /// The lease on one item.
    pub fn item_lock(&self, project: &str, wstg_id: &str) -> String {
        self.lock(&format!("item:{project}:{wstg_id}"))
    }

    /// The write-ahead intents of one item.
    pub fn intents(&self, project: &str, wstg_id: &str) -> String {
        format!("{}:intents:{project}:{wstg_id}", self.prefix)
    }

    /// Which poller polls `project`.
    pub fn poller_lease(&self, project: &str) -> String {
        format!("{}:poller:lease:{project}", self.prefix)
    }

    /// A capped feed stream (`poll-hints`, `changes`).
    pub fn feed(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let k = Keys::new("wstg");
        assert_eq!(k.events, "wstg:events");
        assert_eq!(k.delayed, "wstg:delayed");
        assert_eq!(k.delayed_data, "wstg:delayed:data");
        assert_eq!(k.dlq, "wstg:dlq");
        assert_eq!(k.dlq_dropped, "wstg:dlq:dropped");
        assert_eq!(k.breaker, "wstg:breaker");
        assert_eq!(k.poller_heartbeat, "wstg:poller:heartbeat");
        assert_eq!(k.poller_last_ok, "wstg:poller:last_ok");
        assert_eq!(k.alert_lease, "wstg:alert:lease");
        assert_eq!(k.alert_incidents, "wstg:alert:incidents");
        assert_eq!(k.idem("abc"), "wstg:idem:abc");
        let id = Uuid::nil();
        assert_eq!(
            k.failed_at(&id),
            "wstg:failed_at:00000000-0000-0000-0000-000000000000"
        );
        assert_eq!(
            k.item_lock("p", "WSTG-INFO-01"),
            "wstg:lock:item:p:WSTG-INFO-01"
        );
        assert_eq!(
            k.intents("p", "WSTG-INFO-01"),
            "wstg:intents:p:WSTG-INFO-01"
        );
        assert_eq!(k.poller_lease("p"), "wstg:poller:lease:p");
        assert_eq!(k.retention_lease(), "wstg:lock:retention");
        assert_eq!(k.feed("changes"), "wstg:changes");
    }
}
