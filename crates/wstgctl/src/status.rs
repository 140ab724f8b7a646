//! `wstgctl status`: sync summary, queue, live consumers, breakers.

use std::time::Duration;

use redis::streams::StreamInfoConsumersReply;
use serde_json::json;
use wstg_domain::ProjectName;
use wstg_queue::{Queue, GROUP};
use wstg_settings::Settings;
use wstg_startup::connect as service;

use crate::output;

/// A worker blocks in XREADGROUP for `worker.block_ms` and reads again, so a
/// live consumer is never idle this long; the group also remembers every
/// replica that ever ran until it is pruned.
const LIVE_IDLE: Duration = Duration::from_secs(30);

pub async fn run(settings: &Settings, project: Option<String>) -> anyhow::Result<()> {
    let project = project.map(|p| ProjectName::parse(&p)).transpose()?;
    let store = service::store(settings).await?;
    let summary = store.status_summary(project.as_ref()).await?;
    let queue = service::queue(settings, |_| {}).await?;
    let stats = queue.stats().await?;
    let live = live_consumers(&queue).await;
    // Each worker's DefectDojo circuit breaker; a worker silent for 30 s is
    // taken for dead and left out.
    let breaker = queue.breaker_report(LIVE_IDLE).await?;
    let mut queue_json = json!(stats);
    queue_json["live_consumers"] = json!(live);
    output::json(&json!({
        "sync": summary,
        "queue": queue_json,
        "dojo": { "breaker": breaker },
    }))
}

/// Consumers of the group that read within [`LIVE_IDLE`]; `None` when Redis
/// cannot tell (no group yet).
async fn live_consumers(queue: &Queue) -> Option<usize> {
    let reply: StreamInfoConsumersReply = redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(&queue.keys().events)
        .arg(GROUP)
        .query_async(&mut queue.connection())
        .await
        .ok()?;
    let limit = usize::try_from(LIVE_IDLE.as_millis()).unwrap_or(usize::MAX);
    Some(reply.consumers.iter().filter(|c| c.idle < limit).count())
}
