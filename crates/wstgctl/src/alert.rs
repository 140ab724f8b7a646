//! `wstgctl alert test`: sends one test alert to the configured webhook
//! (`WSTG_ALERT_WEBHOOK_URL`, body per `WSTG_ALERT_KIND`) through the same
//! code the poller's alerting job uses, and reports the receiver's HTTP
//! status. No webhook configured: exit 2; the receiver did not accept it:
//! exit 1, naming the status. The URL is never printed.

use clap::Subcommand;
use serde_json::json;
use wstg_alerts::{Notice, Webhook};
use wstg_settings::Settings;

use crate::exit::CliError;
use crate::output::Out;

#[derive(Subcommand)]
pub enum AlertCommand {
    /// Send one test alert to WSTG_ALERT_WEBHOOK_URL (or
    /// WSTG_ALERT_WEBHOOK_URL_FILE), body per WSTG_ALERT_KIND, and print the
    /// receiver's HTTP status.
    Test,
}

pub async fn run(settings: &Settings, out: Out, command: AlertCommand) -> anyhow::Result<()> {
    match command {
        AlertCommand::Test => test(settings, out).await,
    }
}

async fn test(settings: &Settings, out: Out) -> anyhow::Result<()> {
    let Some(webhook) = Webhook::from_settings(&settings.alert) else {
        return Err(CliError::Usage(
            "no alert webhook configured: set WSTG_ALERT_WEBHOOK_URL (or WSTG_ALERT_WEBHOOK_URL_FILE)"
                .to_owned(),
        )
        .into());
    };
    let notice = Notice::test(&settings.redis.key_prefix);
    match webhook?.send(&notice).await {
        Ok(d) => out.done(
            format!(
                "test alert sent ({} body): the webhook answered HTTP {} after {} attempt(s)",
                settings.alert.kind.as_str(),
                d.status,
                d.attempts
            ),
            &json!({
                "sent": true,
                "kind": settings.alert.kind.as_str(),
                "status": d.status,
                "attempts": d.attempts,
                "incident_id": notice.incident_id,
            }),
        ),
        Err(e) => {
            let status = e
                .status()
                .map_or_else(|| "no answer".to_owned(), |s| format!("HTTP {s}"));
            Err(CliError::CheckFailed(format!("test alert not accepted ({status}): {e}")).into())
        }
    }
}
