//! Keeps DefectDojo's notification webhook alive. DefectDojo marks a
//! webhook `inactive_permanent` at the first refused delivery (a 4xx, or
//! wstg-ingest down for a restart) and never revives it through the API
//! (docs/defectdojo.md §6): the bridge would then hear nothing until the
//! next poll, silently. When `dojo.webhook_url` is set, one poller (the
//! holder of the `dojo:webhook` lease) checks the webhook every
//! `dojo.webhook_check_passes` passes, re-creates a dead or missing one, says
//! so in its log, and publishes the state for `/api/wstg/status` under
//! `<prefix>:dojo:webhook`.

use chrono::Utc;
use dojo_client::{DojoClient, WebhookReport, WebhookSpec};
use serde_json::{json, Value};
use wstg_queue::Queue;
use wstg_settings::Settings;

pub struct WebhookKeeper {
    spec: WebhookSpec,
    every: u32,
    passes: u32,
    key: String,
}

impl WebhookKeeper {
    /// `None` when no webhook URL is configured (or no key to give it).
    pub fn from_settings(settings: &Settings) -> Option<WebhookKeeper> {
        let url = settings.dojo.webhook_url.clone()?;
        let Some(key) = settings.ingest.webhook_key.clone() else {
            tracing::warn!("WSTG_DOJO_WEBHOOK_URL is set but WSTG_INGEST_WEBHOOK_KEY is not: DefectDojo's webhook is not checked");
            return None;
        };
        Some(WebhookKeeper {
            spec: WebhookSpec {
                url,
                header_name: settings.ingest.webhook_header.clone(),
                header_value: key,
            },
            every: settings.dojo.webhook_check_passes.max(1),
            passes: 0,
            key: wstg_queue::Keys::new(&settings.redis.key_prefix).dojo_webhook,
        })
    }

    /// Called after every pass; checks on the first and every `every`-th.
    pub async fn after_pass(&mut self, dojo: &DojoClient, queue: &Queue) {
        let due = self.passes.is_multiple_of(self.every);
        self.passes = self.passes.wrapping_add(1);
        if due {
            self.check(dojo, queue).await;
        }
    }

    async fn check(&self, dojo: &DojoClient, queue: &Queue) {
        let mut conn = queue.connection();
        let previous: Option<Value> = redis::cmd("GET")
            .arg(&self.key)
            .query_async::<Option<String>>(&mut conn)
            .await
            .ok()
            .flatten()
            .and_then(|s| serde_json::from_str(&s).ok());
        let mut recreated = previous
            .as_ref()
            .and_then(|p| p["recreated"].as_u64())
            .unwrap_or(0);
        let mut last_recreated_at = previous
            .as_ref()
            .map(|p| p["last_recreated_at"].clone())
            .unwrap_or(Value::Null);
        let state = match dojo.webhook_report(&self.spec.url).await {
            Ok(r) if needs_repair(&r) => match dojo.ensure_webhook(&self.spec).await {
                Ok(fixed) => {
                    recreated += 1;
                    last_recreated_at = json!(Utc::now());
                    tracing::warn!(
                        was = r.status.as_deref().unwrap_or("missing"),
                        changes = ?fixed.changes,
                        "DefectDojo's webhook was not working; the bridge set it up again"
                    );
                    report_json(&fixed, None)
                }
                Err(e) => {
                    tracing::warn!(error = %e, was = r.status.as_deref().unwrap_or("missing"), "DefectDojo's webhook is not working and could not be re-created");
                    report_json(&r, Some(e.to_string()))
                }
            },
            Ok(r) => report_json(&r, None),
            Err(e) => {
                tracing::debug!(error = %e, "DefectDojo's webhook could not be checked");
                json!({ "healthy": null, "error": e.to_string() })
            }
        };
        let mut state = state;
        state["url"] = json!(self.spec.url.as_str());
        state["checked_at"] = json!(Utc::now());
        state["recreated"] = json!(recreated);
        state["last_recreated_at"] = last_recreated_at;
        let r: Result<(), _> = redis::cmd("SET")
            .arg(&self.key)
            .arg(state.to_string())
            .query_async(&mut conn)
            .await;
        if let Err(e) = r {
            tracing::debug!(error = %e, "webhook state not written");
        }
    }
}

/// Missing, dead, disabled or unsubscribed. A webhook DefectDojo only
/// paused (`inactive_tmp`, after a 5xx or a timeout) is re-activated by
/// DefectDojo itself after 60 s and is left alone.
fn needs_repair(r: &WebhookReport) -> bool {
    !r.enabled
        || !r.unsubscribed.is_empty()
        || matches!(r.status.as_deref(), None | Some("inactive_permanent"))
}

fn report_json(r: &WebhookReport, error: Option<String>) -> Value {
    json!({
        "healthy": r.healthy(),
        "status": r.status,
        "enabled": r.enabled,
        "webhook_id": r.webhook_id,
        "unsubscribed": r.unsubscribed,
        "last_error": r.last_error,
        "error": error,
    })
}
