//! Notification webhooks (docs/defectdojo.md §6, §10): fire-and-forget, at most once, in event
//! order, with DefectDojo's endpoint status machine (dojo/notifications/helper.py:434-499):
//! - a 2xx is a success;
//! - 5xx, 429 or a timeout make the endpoint `inactive_tmp`; 60 s later (`webhook_reactivation`)
//!   it is `active_tmp` again; once it has been failing for more than 24 h it becomes
//!   `inactive_permanent`;
//! - any other status or error (4xx, connection refused, an empty header name) makes it
//!   `inactive_permanent` at once;
//! - events are skipped (not queued) while the endpoint is inactive; nothing is ever retried.
//!
//! Two kinds of endpoints receive events:
//! - the simulator's own target (`SimConfig::webhook`, `/__sim/webhook`), which gets every
//!   event regardless of DefectDojo's settings (kept for tests that only need deliveries);
//! - the system notification webhooks created through `/api/v2/notification_webhooks/`
//!   (`owner` null), which get an event only when `System_Settings.enable_webhooks_notifications`
//!   is on and the system `Notifications` row lists "webhooks" for it, exactly as the real
//!   server routes them (helper.py:879; the caller decides that, see [`Route`]).

pub mod payload;
pub mod pyjson;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::clock::{self, Timestamp};
use crate::config::WebhookTarget;
pub use payload::{Event, Events};

/// `System_Settings.webhooks_notifications_timeout` default.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// `webhook_reactivation.apply_async(countdown=60)`.
const REACTIVATION_DELAY: Duration = Duration::from_secs(60);
const PERMANENT_AFTER: Duration = Duration::from_secs(24 * 60 * 60);
const USER_AGENT: &str = "DefectDojo-3.2.0";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Active,
    ActiveTmp,
    InactiveTmp { reactivate_at: Instant },
    InactivePermanent,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::ActiveTmp => "active_tmp",
            Status::InactiveTmp { .. } => "inactive_tmp",
            Status::InactivePermanent => "inactive_permanent",
        }
    }
}

#[derive(Debug)]
struct Endpoint {
    target: Option<WebhookTarget>,
    status: Status,
    first_error: Option<(Timestamp, Instant)>,
    last_error: Option<Timestamp>,
    note: Option<String>,
    /// queued but not yet processed
    pending: u64,
    delivered: u64,
    failed: u64,
    skipped: u64,
}

enum Outcome {
    Delivered,
    Temporary(String),
    Permanent(String),
}

impl Endpoint {
    fn new(target: Option<WebhookTarget>) -> Self {
        Self {
            target,
            status: Status::Active,
            first_error: None,
            last_error: None,
            note: None,
            pending: 0,
            delivered: 0,
            failed: 0,
            skipped: 0,
        }
    }

    /// The celery `webhook_reactivation` task, run lazily when the next event comes.
    fn refresh(&mut self, now: Instant) {
        if let Status::InactiveTmp { reactivate_at } = self.status {
            if now >= reactivate_at {
                self.status = Status::ActiveTmp;
            }
        }
    }

    fn accepts_events(&self) -> bool {
        matches!(self.status, Status::Active | Status::ActiveTmp)
    }

    fn record(&mut self, outcome: Outcome) {
        let now = Instant::now();
        let (temporary, note) = match outcome {
            Outcome::Delivered => {
                self.delivered += 1;
                return;
            }
            Outcome::Temporary(note) => (true, note),
            Outcome::Permanent(note) => (false, note),
        };
        self.failed += 1;
        self.note = Some(note);
        let stamp = clock::now();
        if temporary {
            let failing_too_long = self
                .first_error
                .is_some_and(|(_, since)| now.duration_since(since) > PERMANENT_AFTER);
            if failing_too_long {
                self.status = Status::InactivePermanent;
            } else {
                if self.status == Status::Active {
                    self.first_error = Some((stamp, now));
                }
                self.status = Status::InactiveTmp {
                    reactivate_at: now + REACTIVATION_DELAY,
                };
            }
        } else {
            self.status = Status::InactivePermanent;
            self.first_error = Some((stamp, now));
        }
        self.last_error = Some(stamp);
    }

    fn to_json(&self) -> Value {
        json!({
            "configured": self.target.is_some(),
            "url": self.target.as_ref().map(|t| t.url.clone()),
            "status": self.status.name(),
            "first_error": self.first_error.map(|(ts, _)| clock::format_datetime(&ts)),
            "last_error": self.last_error.map(|ts| clock::format_datetime(&ts)),
            "note": self.note,
            "pending": self.pending,
            "delivered": self.delivered,
            "failed": self.failed,
            "skipped": self.skipped,
        })
    }
}

/// A `Notification_Webhooks` row created through the API.
#[derive(Debug)]
struct ApiWebhook {
    name: String,
    /// `None`: a system webhook (gets the system notifications); `Some(user)`: personal.
    owner: Option<u64>,
    endpoint: Endpoint,
}

impl ApiWebhook {
    fn target(&self) -> &WebhookTarget {
        // API rows always have a target; `Endpoint::target` is optional only for the
        // simulator's own endpoint
        self.endpoint
            .target
            .as_ref()
            .unwrap_or_else(|| unreachable!("API webhooks always have a target"))
    }

    fn to_json(&self, id: u64) -> Value {
        let t = self.target();
        json!({
            "id": id,
            "name": self.name,
            "url": t.url,
            "header_name": t.header_name,
            "header_value": t.header_value,
            "status": self.endpoint.status.name(),
            "first_error": self.endpoint.first_error.map(|(ts, _)| clock::format_datetime(&ts)),
            "last_error": self.endpoint.last_error.map(|ts| clock::format_datetime(&ts)),
            "note": self.endpoint.note.clone().unwrap_or_default(),
            "owner": self.owner,
        })
    }
}

/// The writable fields of a notification webhook (status, errors and note are read-only).
#[derive(Clone, Debug)]
pub struct WebhookFields {
    pub name: String,
    pub target: WebhookTarget,
    pub owner: Option<u64>,
}

#[derive(Debug)]
struct Registry {
    sim: Endpoint,
    api: std::collections::BTreeMap<u64, ApiWebhook>,
    next_id: u64,
}

/// Where an event goes besides the simulator's own endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Webhook notifications are disabled or the system row does not subscribe the event.
    SimOnly,
    /// Also to every system notification webhook (`owner` null).
    SystemWebhooks,
}

struct Queued {
    event: Event,
    route: Route,
}

/// Hands events to a background task that posts them one at a time.
#[derive(Clone)]
pub struct Notifier {
    registry: Arc<Mutex<Registry>>,
    tx: mpsc::UnboundedSender<Queued>,
    site_url: Arc<str>,
}

impl Notifier {
    /// Starts the delivery task on the current tokio runtime.
    pub fn start(target: Option<WebhookTarget>, site_url: String) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let registry = Arc::new(Mutex::new(Registry {
            sim: Endpoint::new(target),
            api: Default::default(),
            next_id: 1,
        }));
        let task = tokio::spawn(deliver(rx, registry.clone(), site_url.clone()));
        let notifier = Self {
            registry,
            tx,
            site_url: site_url.into(),
        };
        (notifier, task)
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        lock_registry(&self.registry)
    }

    /// Builders for event bodies linking to this instance.
    pub fn events(&self) -> Events<'_> {
        Events {
            site: &self.site_url,
        }
    }

    /// Queues an event; never blocks. Dropped when nothing would receive it.
    pub fn notify(&self, event: Event, route: Route) {
        let mut registry = self.registry();
        let to_sim = registry.sim.target.is_some();
        let to_api =
            route == Route::SystemWebhooks && registry.api.values().any(|w| w.owner.is_none());
        if !to_sim && !to_api {
            return;
        }
        if self.tx.send(Queued { event, route }).is_ok() && to_sim {
            registry.sim.pending += 1;
        }
    }

    /// Replaces the simulator's own target and resets it to `active` (what editing the webhook
    /// in the UI does, notifications/ui/views.py:292-333).
    pub fn set_target(&self, target: Option<WebhookTarget>) {
        let mut registry = self.registry();
        let pending = registry.sim.pending;
        registry.sim = Endpoint::new(target);
        registry.sim.pending = pending;
    }

    pub fn status_json(&self) -> Value {
        self.registry().sim.to_json()
    }

    /// `POST /notification_webhooks/`: a new row, `active`.
    pub fn create_webhook(&self, fields: WebhookFields) -> Value {
        let mut registry = self.registry();
        let id = registry.next_id;
        registry.next_id += 1;
        let hook = ApiWebhook {
            name: fields.name,
            owner: fields.owner,
            endpoint: Endpoint::new(Some(fields.target)),
        };
        let body = hook.to_json(id);
        registry.api.insert(id, hook);
        body
    }

    /// The rows as `(id, name, json)`, ordered by id.
    pub fn list_webhooks(&self) -> Vec<(u64, String, Value)> {
        self.registry()
            .api
            .iter()
            .map(|(id, w)| (*id, w.name.clone(), w.to_json(*id)))
            .collect()
    }

    pub fn get_webhook(&self, id: u64) -> Option<WebhookFields> {
        self.registry().api.get(&id).map(|w| WebhookFields {
            name: w.name.clone(),
            target: w.target().clone(),
            owner: w.owner,
        })
    }

    /// PUT/PATCH: replaces the writable fields. The status machine is left alone: the API
    /// cannot revive an `inactive_permanent` webhook (docs/defectdojo.md §6, §10).
    pub fn update_webhook(&self, id: u64, fields: WebhookFields) -> Option<Value> {
        let mut registry = self.registry();
        let hook = registry.api.get_mut(&id)?;
        hook.name = fields.name;
        hook.owner = fields.owner;
        hook.endpoint.target = Some(fields.target);
        Some(hook.to_json(id))
    }

    pub fn delete_webhook(&self, id: u64) -> bool {
        self.registry().api.remove(&id).is_some()
    }

    /// `POST /__sim/reset`: the API rows go with the data (ids restart); the simulator's own
    /// endpoint stays.
    pub fn reset_api(&self) {
        let mut registry = self.registry();
        registry.api.clear();
        registry.next_id = 1;
    }
}

fn lock_registry(r: &Mutex<Registry>) -> std::sync::MutexGuard<'_, Registry> {
    r.lock().unwrap_or_else(|p| p.into_inner())
}

/// Which endpoint a delivery is for.
#[derive(Clone, Copy)]
enum Slot {
    Sim,
    Api(u64),
}

fn endpoint_mut(registry: &mut Registry, slot: Slot) -> Option<&mut Endpoint> {
    match slot {
        Slot::Sim => Some(&mut registry.sim),
        Slot::Api(id) => registry.api.get_mut(&id).map(|w| &mut w.endpoint),
    }
}

async fn deliver(
    mut rx: mpsc::UnboundedReceiver<Queued>,
    registry: Arc<Mutex<Registry>>,
    site_url: String,
) {
    let client = reqwest::Client::builder()
        .timeout(SEND_TIMEOUT)
        .build()
        .unwrap_or_default();
    while let Some(Queued { event, route }) = rx.recv().await {
        // the system webhooks first, in id order, as `Notification_Webhooks.objects.filter(
        // owner=None)` lists them; the simulator's own endpoint last (its `pending` counts down
        // once everything for the event is done)
        let mut slots: Vec<Slot> = Vec::new();
        {
            let reg = lock_registry(&registry);
            if route == Route::SystemWebhooks {
                slots.extend(
                    reg.api
                        .iter()
                        .filter(|(_, w)| w.owner.is_none())
                        .map(|(id, _)| Slot::Api(*id)),
                );
            }
            if reg.sim.target.is_some() {
                slots.push(Slot::Sim);
            }
        }
        for slot in slots {
            deliver_one(&client, &registry, slot, &site_url, &event).await;
        }
    }
}

async fn deliver_one(
    client: &reqwest::Client,
    registry: &Mutex<Registry>,
    slot: Slot,
    site_url: &str,
    event: &Event,
) {
    let target = {
        let mut reg = lock_registry(registry);
        let Some(ep) = endpoint_mut(&mut reg, slot) else {
            return; // deleted meanwhile
        };
        ep.refresh(Instant::now());
        let target = ep.target.clone().filter(|_| ep.accepts_events());
        if target.is_none() {
            ep.skipped += u64::from(ep.target.is_some());
            if let Slot::Sim = slot {
                ep.pending = ep.pending.saturating_sub(1);
            }
        }
        target
    };
    let Some(target) = target else { return };
    let outcome = send(client, &target, site_url, event).await;
    if let Outcome::Delivered = outcome {
        tracing::debug!(event = event.name, "webhook delivered");
    } else {
        tracing::warn!(event = event.name, "webhook delivery failed");
    }
    let mut reg = lock_registry(registry);
    if let Some(ep) = endpoint_mut(&mut reg, slot) {
        ep.record(outcome);
        if let Slot::Sim = slot {
            // counted down only once the delivery is over, so `pending == 0` means "all done"
            ep.pending = ep.pending.saturating_sub(1);
        }
    }
}

async fn send(
    client: &reqwest::Client,
    target: &WebhookTarget,
    site_url: &str,
    event: &Event,
) -> Outcome {
    // `requests` prepares the URL before the headers (recorded webhook-lifecycle/18: a webhook
    // made by `POST {}` dies with this note)
    if reqwest::Url::parse(&target.url).is_err() {
        let url = &target.url;
        return Outcome::Permanent(format!(
            "Exception: Invalid URL '{url}': No scheme supplied. Perhaps you meant https://{url}?"
        ));
    }
    // docs/defectdojo.md §6 bug: an empty header name makes `requests` raise before anything is sent.
    if target.header_name.is_empty() {
        return Outcome::Permanent("Exception: Invalid header name ''".into());
    }
    let request = client
        .post(&target.url)
        .header("User-Agent", USER_AGENT)
        .header("X-DefectDojo-Event", event.name)
        .header("X-DefectDojo-Instance", site_url)
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .header(target.header_name.as_str(), target.header_value.as_str())
        .body(event.body.clone());
    match request.send().await {
        Ok(res) => {
            let status = res.status();
            if status.is_success() {
                Outcome::Delivered
            } else if status.is_server_error() || status.as_u16() == 429 {
                Outcome::Temporary(format!("Response status code: {}", status.as_u16()))
            } else {
                Outcome::Permanent(format!("Response status code: {}", status.as_u16()))
            }
        }
        Err(e) if e.is_timeout() => Outcome::Temporary(format!("Requests exception: {e}")),
        Err(e) if e.is_connect() => Outcome::Permanent(connection_refused_note(&target.url)),
        Err(e) => Outcome::Permanent(format!("Exception: {e}")),
    }
}

/// The note `requests`/urllib3 leave for a refused connection (recorded, docs/defectdojo.md
/// §10): `Exception: HTTPConnectionPool(host=..., port=...): Max retries exceeded ...`.
fn connection_refused_note(url: &str) -> String {
    let parsed = reqwest::Url::parse(url).ok();
    let host = parsed
        .as_ref()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let port = parsed
        .as_ref()
        .and_then(reqwest::Url::port_or_known_default)
        .unwrap_or(80);
    let path = parsed
        .as_ref()
        .map(|u| match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        })
        .unwrap_or_default();
    let pool = if parsed.as_ref().is_some_and(|u| u.scheme() == "https") {
        "HTTPSConnection"
    } else {
        "HTTPConnection"
    };
    format!(
        "Exception: {pool}Pool(host='{host}', port={port}): Max retries exceeded with url: {path} \
         (Caused by NewConnectionError(\"{pool}(host='{host}', port={port}): Failed to establish \
         a new connection: [Errno 111] Connection refused\"))"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_note_matches_recorded_text() {
        // recorded/webhooks/fail-05 (fail-refused)
        assert_eq!(
            connection_refused_note("http://127.0.0.1:8098/nothing-listens-here"),
            "Exception: HTTPConnectionPool(host='127.0.0.1', port=8098): Max retries exceeded \
             with url: /nothing-listens-here (Caused by NewConnectionError(\"HTTPConnection(\
             host='127.0.0.1', port=8098): Failed to establish a new connection: [Errno 111] \
             Connection refused\"))"
        );
    }

    #[test]
    fn status_machine() {
        let mut ep = Endpoint::new(None);
        ep.record(Outcome::Temporary("500".into()));
        assert!(matches!(ep.status, Status::InactiveTmp { .. }));
        assert!(!ep.accepts_events());
        ep.refresh(Instant::now() + REACTIVATION_DELAY + Duration::from_secs(1));
        assert_eq!(ep.status, Status::ActiveTmp);
        assert!(ep.accepts_events());
        ep.record(Outcome::Permanent("404".into()));
        assert_eq!(ep.status, Status::InactivePermanent);
        ep.refresh(Instant::now() + REACTIVATION_DELAY * 10);
        assert_eq!(ep.status, Status::InactivePermanent);
    }
}
