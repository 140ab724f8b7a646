//! Alerts to people (crate `wstg-alerts`) run in the poller process, spawned
//! next to the poll loop rather than inside it: a slow webhook never delays
//! a poll, and a poll never delays an alert. Every replica runs the job; the
//! one holding the alert lease (`P:alert:lease`) evaluates and sends.

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use wstg_alerts::Alerter;
use wstg_queue::Queue;
use wstg_settings::Settings;
use wstg_store::Store;

/// The alerting job of this replica, or `None` when no webhook is configured.
pub fn build(
    settings: &Settings,
    queue: &Queue,
    store: &Store,
    holder: &str,
) -> anyhow::Result<Option<Alerter>> {
    let alerter = Alerter::from_settings(settings, queue.clone(), store.clone(), holder)?;
    if alerter.is_none() {
        tracing::info!("alerting off: WSTG_ALERT_WEBHOOK_URL is not set");
    }
    Ok(alerter)
}

/// Starts the job; it stops (and gives up its lease) when `shutdown` fires.
pub fn spawn(alerter: Option<Alerter>, shutdown: &CancellationToken) -> Option<JoinHandle<()>> {
    let alerter = alerter?;
    let shutdown = shutdown.clone();
    Some(tokio::spawn(alerter.run(shutdown)))
}
