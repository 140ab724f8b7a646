//! `wstgctl status`: sync summary, queue, live consumers, breakers. Reads
//! only: the queue is opened without creating its stream or group.

use std::time::Duration;

use serde_json::{json, Value};
use wstg_settings::Settings;

use crate::open;
use crate::output::{fields, opt, Out};

/// Every live worker refreshes its breaker field in Redis every 5 s, with or
/// without work; one silent this long is taken for dead. (The consumer
/// group cannot tell: Redis 7.0 does not count an empty XREADGROUP as
/// activity, so an idle worker looks as idle as a dead one, and the group
/// remembers every replica that ever ran until it is pruned.)
const LIVE_IDLE: Duration = Duration::from_secs(30);

pub async fn run(settings: &Settings, out: Out, project: Option<String>) -> anyhow::Result<()> {
    let store = open::store(settings).await?;
    let project = match project {
        Some(p) => Some(open::existing_project(&store, settings, &p).await?),
        None => None,
    };
    let summary = store.status_summary(project.as_ref()).await?;
    let queue = open::queue(settings).await?;
    let stats = queue.stats().await?;
    // Each worker's DefectDojo circuit breaker; a worker silent for 30 s is
    // taken for dead and left out, so the fresh ones are the live workers.
    let breaker = queue.breaker_report(LIVE_IDLE).await?;
    let live = breaker.workers.len();
    let mut queue_json = json!(stats);
    queue_json["live_consumers"] = json!(live);
    let report = json!({
        "sync": summary,
        "queue": queue_json,
        "dojo": { "breaker": breaker },
    });
    out.show(&report, |r| {
        let n = |v: &Value| match v {
            Value::Null => "-".to_owned(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let (s, q) = (&r["sync"], &r["queue"]);
        fields([
            ("project", opt(project.as_ref())),
            ("items", n(&s["total_items"])),
            ("synced", n(&s["synced_items"])),
            ("pending", n(&s["pending_items"])),
            ("failed", n(&s["failed_items"])),
            ("in conflict", n(&s["items_in_conflict"])),
            ("conflicts seen", n(&s["conflicts"])),
            ("last sync", n(&s["last_sync"])),
            ("queue length", n(&q["stream_len"])),
            ("pending deliveries", n(&q["pending"])),
            ("delayed retries", n(&q["delayed"])),
            ("dead letters", n(&q["dlq"])),
            ("oldest pending (ms)", n(&q["oldest_pending_idle_ms"])),
            ("live workers", n(&q["live_consumers"])),
            ("DefectDojo breaker", n(&r["dojo"]["breaker"]["state"])),
        ])
    })
}
