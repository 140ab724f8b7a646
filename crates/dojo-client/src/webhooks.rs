//! DefectDojo's side of the notification webhook (docs/defectdojo.md §6):
//! the system setting that enables webhooks, the webhook itself
//! (`/notification_webhooks/`, superuser only) and the system notifications
//! row that subscribes events to it. Every call needs a superuser token.
//!
//! Two DefectDojo behaviours shape this code: a webhook created without a
//! header name stores `""` and dies at the first event (so one is always
//! sent), and a webhook DefectDojo marked `inactive_permanent` cannot be
//! revived through the API (a PATCH of `status` is ignored): it is deleted
//! and created again.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use url::Url;

use crate::client::DojoClient;
use crate::error::{DojoError, RequestContext};

/// The name of the webhook wstg-bridge manages.
pub const WEBHOOK_NAME: &str = "wstg-bridge";

/// The notification events the bridge listens to, as columns of the
/// notifications row. Finding events (`finding_added`, `finding_closed`,
/// `finding_reopened`) have no column of their own and go by `other`.
pub const SUBSCRIBED_EVENTS: [&str; 4] = [
    "other",
    "scan_added",
    "user_mentioned",
    "risk_acceptance_expiration",
];

/// A webhook as DefectDojo lists it. The header value is a secret and is
/// never kept.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Webhook {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub header_name: Option<String>,
    /// active, active_tmp, inactive_tmp or inactive_permanent.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub first_error: Option<String>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

impl Webhook {
    /// DefectDojo gave up on it for good; only a new webhook helps.
    pub fn is_dead(&self) -> bool {
        self.status.as_deref() == Some("inactive_permanent")
    }
}

/// What the bridge wants DefectDojo's webhook to be.
#[derive(Clone)]
pub struct WebhookSpec {
    pub url: Url,
    pub header_name: String,
    /// The key wstg-ingest checks (secret: sent, never logged).
    pub header_value: secrecy::SecretString,
}

impl std::fmt::Debug for WebhookSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSpec")
            .field("url", &self.url.as_str())
            .field("header_name", &self.header_name)
            .field("header_value", &"[REDACTED]")
            .finish()
    }
}

/// How the webhook stands after [`DojoClient::ensure_webhook`] or
/// [`DojoClient::webhook_report`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WebhookReport {
    /// `enable_webhooks_notifications` in the system settings.
    pub enabled: bool,
    /// The webhook's status (`None`: there is none for this URL).
    pub status: Option<String>,
    pub webhook_id: Option<i64>,
    /// Subscribed events missing from the system notifications row.
    pub unsubscribed: Vec<String>,
    /// What this call changed: "enabled webhooks", "created", "re-created
    /// (was inactive_permanent)", "subscribed other, …".
    pub changes: Vec<String>,
    pub last_error: Option<String>,
}

impl WebhookReport {
    /// Enabled, active (or recovering) and subscribed.
    pub fn healthy(&self) -> bool {
        self.enabled
            && self.unsubscribed.is_empty()
            && matches!(self.status.as_deref(), Some("active" | "active_tmp"))
    }
}

#[derive(Deserialize)]
struct SettingsRec {
    id: i64,
    #[serde(default)]
    enable_webhooks_notifications: bool,
}

#[derive(Deserialize)]
struct Page<T> {
    results: Vec<T>,
}

impl DojoClient {
    async fn system_settings(&self) -> Result<SettingsRec, DojoError> {
        let url = self.url("system_settings/", &[])?;
        let page: Page<SettingsRec> = self
            .send_json(Method::GET, url, None, RequestContext::default())
            .await?;
        page.results
            .into_iter()
            .next()
            .ok_or_else(|| DojoError::Decode("system_settings/ lists no settings".into()))
    }

    /// Every notification webhook.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>, DojoError> {
        let url = self.list_url("notification_webhooks/", &[])?;
        let (items, ..) = self.list_all::<Webhook>(url, |_| true).await?;
        Ok(items)
    }

    /// The webhook for `url` (or named [`WEBHOOK_NAME`]), the newest first.
    pub async fn find_webhook(&self, url: &Url) -> Result<Option<Webhook>, DojoError> {
        Ok(self
            .webhooks()
            .await?
            .into_iter()
            .filter(|w| {
                w.url.as_deref() == Some(url.as_str()) || w.name.as_deref() == Some(WEBHOOK_NAME)
            })
            .max_by_key(|w| w.id))
    }

    /// The system notifications row (no user, no product, not a template).
    async fn system_notifications(&self) -> Result<Option<Map<String, Value>>, DojoError> {
        let url = self.list_url("notifications/", &[])?;
        let (rows, ..) = self.list_all::<Map<String, Value>>(url, |_| true).await?;
        Ok(rows.into_iter().find(|r| {
            r.get("user").is_none_or(Value::is_null)
                && r.get("product").is_none_or(Value::is_null)
                && r.get("template") != Some(&Value::Bool(true))
        }))
    }

    fn unsubscribed(row: Option<&Map<String, Value>>) -> Vec<String> {
        SUBSCRIBED_EVENTS
            .iter()
            .filter(|e| {
                !row.and_then(|r| r.get(**e))
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|v| v == "webhooks"))
            })
            .map(|e| (*e).to_owned())
            .collect()
    }

    /// How the webhook for `url` stands, changing nothing.
    pub async fn webhook_report(&self, url: &Url) -> Result<WebhookReport, DojoError> {
        let settings = self.system_settings().await?;
        let hook = self.find_webhook(url).await?;
        let row = self.system_notifications().await?;
        Ok(WebhookReport {
            enabled: settings.enable_webhooks_notifications,
            status: hook.as_ref().and_then(|h| h.status.clone()),
            webhook_id: hook.as_ref().map(|h| h.id),
            unsubscribed: Self::unsubscribed(row.as_ref()),
            changes: Vec::new(),
            last_error: hook.and_then(|h| h.last_error),
        })
    }

    /// Makes DefectDojo's webhook what `spec` says: webhooks enabled in the
    /// system settings; the webhook created with its header, or deleted and
    /// created again when DefectDojo killed it (`inactive_permanent`), when
    /// it points elsewhere or lacks the header; the bridge's events
    /// subscribed on the system notifications row. Then read back.
    pub async fn ensure_webhook(&self, spec: &WebhookSpec) -> Result<WebhookReport, DojoError> {
        use secrecy::ExposeSecret;
        let mut changes = Vec::new();
        let settings = self.system_settings().await?;
        if !settings.enable_webhooks_notifications {
            let url = self.url(&format!("system_settings/{}/", settings.id), &[])?;
            self.send(
                Method::PATCH,
                url,
                Some(&json!({"enable_webhooks_notifications": true})),
                RequestContext::default(),
            )
            .await?;
            changes.push("enabled webhooks in the system settings".to_owned());
        }
        let existing = self.find_webhook(&spec.url).await?;
        let keep = existing.as_ref().is_some_and(|w| {
            !w.is_dead()
                && w.url.as_deref() == Some(spec.url.as_str())
                && w.header_name.as_deref() == Some(spec.header_name.as_str())
        });
        if !keep {
            if let Some(old) = &existing {
                let url = self.url(&format!("notification_webhooks/{}/", old.id), &[])?;
                self.send(Method::DELETE, url, None, RequestContext::default())
                    .await?;
            }
            let url = self.url("notification_webhooks/", &[])?;
            let body = json!({
                "name": WEBHOOK_NAME,
                "url": spec.url.as_str(),
                // Without a header name DefectDojo sends an empty one and
                // kills the webhook at the first event (docs/defectdojo.md §6).
                "header_name": spec.header_name,
                "header_value": spec.header_value.expose_secret(),
            });
            let _: Webhook = self
                .send_json(Method::POST, url, Some(&body), RequestContext::default())
                .await?;
            changes.push(match &existing {
                None => "created the webhook".to_owned(),
                Some(w) => format!(
                    "re-created the webhook (was {})",
                    w.status.as_deref().unwrap_or("unknown")
                ),
            });
        }
        let row = self.system_notifications().await?;
        let missing = Self::unsubscribed(row.as_ref());
        if !missing.is_empty() {
            let mut body = Map::new();
            for e in &missing {
                let mut list: Vec<Value> = row
                    .as_ref()
                    .and_then(|r| r.get(e.as_str()))
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                list.push(json!("webhooks"));
                body.insert(e.clone(), Value::Array(list));
            }
            let (method, url) = match row
                .as_ref()
                .and_then(|r| r.get("id"))
                .and_then(Value::as_i64)
            {
                Some(id) => (
                    Method::PATCH,
                    self.url(&format!("notifications/{id}/"), &[])?,
                ),
                None => (Method::POST, self.url("notifications/", &[])?),
            };
            self.send(
                method,
                url,
                Some(&Value::Object(body)),
                RequestContext::default(),
            )
            .await?;
            changes.push(format!("subscribed {}", missing.join(", ")));
        }
        let mut report = self.webhook_report(&spec.url).await?;
        report.changes = changes;
        Ok(report)
    }
}

/// The API paths the bridge uses, what it uses each for, and what it needs.
pub const API_NEEDS: [(&str, &str, &str); 8] = [
    (
        "findings/",
        "GET",
        "read the WSTG test (poller, wstgctl sync)",
    ),
    ("tests/", "GET", "find the WSTG test"),
    ("engagements/", "GET", "find the engagement"),
    ("products/", "GET", "find the product"),
    ("test_types/", "GET", "find the test types"),
    ("system_settings/", "GET", "webhook set-up (superuser)"),
    (
        "notification_webhooks/",
        "GET",
        "webhook set-up and health (superuser)",
    ),
    (
        "notifications/",
        "GET",
        "webhook event subscriptions (superuser)",
    ),
];

impl DojoClient {
    /// Can the token read `path`? The status of `GET path?limit=1`.
    pub async fn can_read(&self, path: &str) -> Result<u16, DojoError> {
        let url = self.url(path, &[("limit", "1")])?;
        match self
            .send(Method::GET, url, None, RequestContext::default())
            .await
        {
            Ok(_) => Ok(200),
            Err(DojoError::Permanent { status, .. }) => Ok(status),
            Err(DojoError::Unauthorized) => Ok(403),
            Err(DojoError::NotFound { .. }) => Ok(404),
            Err(e) => Err(e),
        }
    }

    /// The token's user: (username, is_superuser).
    pub async fn whoami(&self) -> Result<(String, bool), DojoError> {
        let url = self.url("user_profile/", &[])?;
        let v: Value = self
            .send_json(Method::GET, url, None, RequestContext::default())
            .await?;
        Ok((
            v["user"]["username"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            v["user"]["is_superuser"].as_bool().unwrap_or(false),
        ))
    }
}
