//! wstg-poller: polls DefectDojo (the source of truth for changes made there,
//! since DefectDojo sends no webhook when a finding is edited) and queues a
//! reconciliation event for each item that changed.

use std::process::ExitCode;

use anyhow::Context;
use wstg_queue::{Queue, QueueConfig};
use wstg_settings::{telemetry, Settings};
use wstg_store::Store;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wstg-poller: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log);
    if let Err(e) = run(settings).await {
        eprintln!("wstg-poller: {e:#}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    settings.require_dojo_token("wstg-poller")?;
    let _queue = Queue::connect(QueueConfig::new(
        settings.redis.url.clone(),
        settings.redis.key_prefix.clone(),
    ))
    .await
    .with_context(|| format!("connecting to Redis at {}", settings.redis.redacted_url()))?;
    let _store = Store::connect(&settings.database.url)
        .await
        .with_context(|| format!("opening the store at {}", settings.database.redacted_url()))?;
    println!("wstg-poller started");
    tracing::info!(interval = ?settings.poller.interval, "poller idle: polling arrives with two-way sync");
    shutdown_signal().await;
    tracing::info!("wstg-poller stopped");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
