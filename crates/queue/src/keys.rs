//! The Redis key layout, derived from the configured prefix `P`. Every key
//! the bridge uses is named here, and only here (docs/redis-keys.md has the
//! same table for operators).
//!
//! Every key starts with the hash tag `{P}` (written `P` in the table): Redis
//! Cluster places a key by the part between the first `{` and `}`, so all
//! of a deployment's keys share one slot and every multi-key Lua script
//! (`src/scripts.rs`) runs on a cluster without CROSSSLOT. The bridge's
//! Redis load is small; a cluster buys it availability (a replica takes
//! over a failed master), not capacity. Before the tag, keys were `P:…`;
//! [`Keys::legacy_pattern`] finds those so `wstgctl migrate` can rename them.
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
//! | `P:webhook-poll`                 | string | set NX PX while a webhook-forced poll is recent (ingest) |
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
    /// The configured prefix `P` (a deployment's name in logs and alerts).
    name: String,
    /// `{P}`: what every key starts with.
    tagged: String,
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
    /// The keys under the configured prefix `name`, each starting with the
    /// hash tag `{name}`. A `name` containing `{` or `}` would break the tag;
    /// [`crate::QueueConfig::validate`] and the settings refuse one.
    pub fn new(name: &str) -> Keys {
        let prefix = format!("{{{name}}}");
        Keys {
            name: name.to_owned(),
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
            tagged: prefix,
        }
    }

    /// The configured prefix `P`, without the hash tag: what names the
    /// deployment (alerts, connection names) and what [`Keys::new`] takes.
    pub fn prefix(&self) -> &str {
        &self.name
    }

    /// `{P}`: the start of every key.
    pub fn tagged(&self) -> &str {
        &self.tagged
    }

    /// A `SCAN`/`KEYS` pattern matching every key of this deployment. `{`
    /// and `}` are not glob characters, but the prefix may contain `*`,
    /// `?`, `[` or `\`, which are escaped.
    pub fn pattern(&self) -> String {
        format!("{}:*", glob_escape(&self.tagged))
    }

    /// The pattern of keys in the layout before the hash tag (`P:*`).
    pub fn legacy_pattern(&self) -> String {
        format!("{}:*", glob_escape(&self.name))
    }

    /// The new name of a key of the old layout (`P:x` → `{P}:x`); `None`
    /// for a key that is not under `P:`.
    pub fn from_legacy(&self, old: &str) -> Option<String> {
        let rest = old.strip_prefix(&self.name)?.strip_prefix(':')?;
        Some(format!("{}:{rest}", self.tagged))
    }

    /// Set by the ingest when a DefectDojo webhook asked for a poll, so a
    /// burst of webhooks makes one hint, not one per call.
    pub fn webhook_poll(&self) -> String {
        format!("{}:webhook-poll", self.tagged)
    }

    /// The idempotency record of one client-supplied key.
    pub fn idem(&self, key: &str) -> String {
        format!("{}:idem:{key}", self.tagged)
    }

    /// When `event_id` first failed (kept while it waits for retries).
    pub fn failed_at(&self, event_id: &Uuid) -> String {
        format!("{}:failed_at:{event_id}", self.tagged)
    }

    /// A `failed_at` key that cannot exist (an event without an id): it
    /// keeps a script's KEYS fixed.
    pub fn failed_at_unknown(&self) -> String {
        format!("{}:failed_at:-", self.tagged)
    }

    /// A lease named `name` (`item:<project>:<id>`, `project:<project>`).
    pub fn lock(&self, name: &str) -> String {
        format!("{}:lock:{name}", self.tagged)
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
        format!("{}:intents:{project}:{wstg_id}", self.tagged)
    }

    /// Which poller polls `project`.
    pub fn poller_lease(&self, project: &str) -> String {
        format!("{}:poller:lease:{project}", self.tagged)
    }

    /// A capped feed stream (`poll-hints`, `changes`).
    pub fn feed(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.tagged)
    }
}

/// `s` with Redis glob characters escaped.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let k = Keys::new("wstg");
        assert_eq!(k.events, "{wstg}:events");
        assert_eq!(k.delayed, "{wstg}:delayed");
        assert_eq!(k.delayed_data, "{wstg}:delayed:data");
        assert_eq!(k.dlq, "{wstg}:dlq");
        assert_eq!(k.dlq_dropped, "{wstg}:dlq:dropped");
        assert_eq!(k.breaker, "{wstg}:breaker");
        assert_eq!(k.poller_heartbeat, "{wstg}:poller:heartbeat");
        assert_eq!(k.poller_last_ok, "{wstg}:poller:last_ok");
        assert_eq!(k.alert_lease, "{wstg}:alert:lease");
        assert_eq!(k.alert_incidents, "{wstg}:alert:incidents");
        assert_eq!(k.idem("abc"), "{wstg}:idem:abc");
        let id = Uuid::nil();
        assert_eq!(
            k.failed_at(&id),
            "{wstg}:failed_at:00000000-0000-0000-0000-000000000000"
        );
        assert_eq!(
            k.item_lock("p", "WSTG-INFO-01"),
            "{wstg}:lock:item:p:WSTG-INFO-01"
        );
        assert_eq!(
            k.intents("p", "WSTG-INFO-01"),
            "{wstg}:intents:p:WSTG-INFO-01"
        );
        assert_eq!(k.poller_lease("p"), "{wstg}:poller:lease:p");
        assert_eq!(k.retention_lease(), "{wstg}:lock:retention");
        assert_eq!(k.feed("changes"), "{wstg}:changes");
        assert_eq!(k.webhook_poll(), "{wstg}:webhook-poll");
        assert_eq!(k.prefix(), "wstg");
        assert_eq!(k.pattern(), "{wstg}:*");
    }

    /// Every key of a deployment hashes to one cluster slot: what lets the
    /// multi-key scripts run on Redis Cluster.
    #[test]
    fn every_key_carries_the_hash_tag() {
        let k = Keys::new("a:b*");
        for key in [
            k.events.clone(),
            k.delayed_data.clone(),
            k.idem("x"),
            k.item_lock("p", "WSTG-INFO-01"),
            k.feed("changes"),
        ] {
            assert!(key.starts_with("{a:b*}:"), "{key}");
        }
        assert_eq!(k.pattern(), "{a:b\\*}:*");
        assert_eq!(k.legacy_pattern(), "a:b\\*:*");
    }

    #[test]
    fn legacy_names_map_to_tagged_ones() {
        let k = Keys::new("wstg");
        assert_eq!(
            k.from_legacy("wstg:events").as_deref(),
            Some("{wstg}:events")
        );
        assert_eq!(
            k.from_legacy("wstg:lock:item:p:1").as_deref(),
            Some("{wstg}:lock:item:p:1")
        );
        assert_eq!(k.from_legacy("wstgx:events"), None);
        assert_eq!(k.from_legacy("{wstg}:events"), None);
    }
}
