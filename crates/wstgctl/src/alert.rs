//! `wstgctl alert test`: sends one test alert to the configured webhook
//! (`WSTG_ALERT_WEBHOOK_URL`, body per `WSTG_ALERT_KIND`) through the same
//! code the poller's alerting job uses, and reports the receiver's HTTP
//! status. Fails (non-zero exit) when no webhook is configured or the
//! receiver did not accept it. The URL is never printed.

use clap::Subcommand;
use serde_json::json;
use wstg_alerts::{Notice, Webhook};
use wstg_settings::Settings;

use crate::output;

#[derive(Subcommand)]
pub enum AlertCommand {
    /// Send one test alert to WSTG_ALERT_WEBHOOK_URL (or
    /// WSTG_ALERT_WEBHOOK_URL_FILE) and print the receiver's HTTP status.
    Test,
}

pub async fn run(settings: &Settings, command: AlertCommand) -> anyhow::Result<()> {
    match command {
        AlertCommand::Test => test(settings).await,
    }
}

async fn test(settings: &Settings) -> anyhow::Result<()> {
    let Some(webhook) = Webhook::from_settings(&settings.alert) else {
        anyhow::bail!(
            "no alert webhook configured: set WSTG_ALERT_WEBHOOK_URL (or WSTG_ALERT_WEBHOOK_URL_FILE)"
        );
    };
    let notice = Notice::test(&settings.redis.key_prefix);
    match webhook?.send(&notice).await {
        Ok(d) => output::json(&json!({
            "sent": true,
            "kind": settings.alert.kind.as_str(),
            "status": d.status,
            "attempts": d.attempts,
            "incident_id": notice.incident_id,
        })),
        Err(e) => {
            let status = e
                .status()
                .map_or_else(|| "no answer".to_owned(), |s| format!("HTTP {s}"));
            anyhow::bail!("test alert not accepted ({status}): {e}")
        }
    }
}
