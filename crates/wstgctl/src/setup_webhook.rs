//! `wstgctl setup-webhook --url URL`: DefectDojo's notification webhook,
//! made and checked (docs/defectdojo.md §6).

use anyhow::Context;
use dojo_client::WebhookSpec;
use wstg_settings::Settings;
use wstg_startup::connect as service;

use serde_json::json;

use crate::exit::CliError;
use crate::output::Out;

pub async fn run(settings: &Settings, out: Out, url: Option<url::Url>) -> anyhow::Result<()> {
    let url = url
        .or_else(|| settings.dojo.webhook_url.clone())
        .ok_or_else(|| CliError::Usage("name the URL DefectDojo posts to: --url http://bridge:8088/api/wstg/webhook (or WSTG_DOJO_WEBHOOK_URL)".to_owned()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(CliError::Usage("--url must be an http:// or https:// URL".to_owned()).into());
    }
    let key = settings.ingest.webhook_key.clone().ok_or_else(|| {
        CliError::Usage(
            "WSTG_INGEST_WEBHOOK_KEY is not set: DefectDojo's webhook must send the key wstg-ingest checks"
                .to_owned(),
        )
    })?;
    let dojo = service::dojo(settings, "wstgctl setup-webhook")?;
    let spec = WebhookSpec {
        url: url.clone(),
        header_name: settings.ingest.webhook_header.clone(),
        header_value: key,
    };
    let report = dojo
        .ensure_webhook(&spec)
        .await
        .context("setting up DefectDojo's webhook (needs a superuser token)")?;
    if !out.is_json() {
        for change in &report.changes {
            out.done(format!("changed: {change}"), &())?;
        }
    }
    let summary = format!(
        "webhook {url}: {} (id {}), header {}, webhooks {} in DefectDojo, events {}",
        report.status.as_deref().unwrap_or("missing"),
        report
            .webhook_id
            .map_or_else(|| "-".to_owned(), |i| i.to_string()),
        settings.ingest.webhook_header,
        if report.enabled {
            "enabled"
        } else {
            "disabled"
        },
        if report.unsubscribed.is_empty() {
            dojo_client::SUBSCRIBED_EVENTS.join(", ")
        } else {
            format!("missing {}", report.unsubscribed.join(", "))
        }
    );
    out.done(
        summary,
        &json!({
            "url": url.as_str(),
            "status": report.status,
            "webhook_id": report.webhook_id,
            "enabled": report.enabled,
            "unsubscribed": report.unsubscribed,
            "changes": report.changes,
            "healthy": report.healthy(),
        }),
    )?;
    if report.healthy() {
        Ok(())
    } else {
        Err(CliError::CheckFailed("DefectDojo's webhook is not working".to_owned()).into())
    }
}
