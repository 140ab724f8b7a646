//! `wstgctl setup-webhook --url URL`: DefectDojo's notification webhook,
//! made and checked (docs/defectdojo.md §6).

use anyhow::Context;
use dojo_client::WebhookSpec;
use wstg_settings::Settings;
use wstg_startup::connect as service;

use crate::output;

pub async fn run(settings: &Settings, url: Option<url::Url>) -> anyhow::Result<()> {
    let url = url
        .or_else(|| settings.dojo.webhook_url.clone())
        .context("name the URL DefectDojo posts to: --url http://bridge:8088/api/wstg/webhook (or WSTG_DOJO_WEBHOOK_URL)")?;
    anyhow::ensure!(
        matches!(url.scheme(), "http" | "https"),
        "--url must be an http:// or https:// URL"
    );
    let key = settings.ingest.webhook_key.clone().context(
        "WSTG_INGEST_WEBHOOK_KEY is not set: DefectDojo's webhook must send the key wstg-ingest checks",
    )?;
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
    for change in &report.changes {
        output::line(format!("changed: {change}"))?;
    }
    output::line(format!(
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
    ))?;
    anyhow::ensure!(report.healthy(), "DefectDojo's webhook is not working");
    Ok(())
}
