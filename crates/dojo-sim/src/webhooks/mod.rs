//! Notification webhooks (FACTS §6): fire-and-forget, at most once, in event order, with
//! DefectDojo's endpoint status machine (dojo/notifications/helper.py:434-499):
//! - a 2xx is a success;
//! - 5xx, 429 or a timeout make the endpoint `inactive_tmp`; 60 s later (`webhook_reactivation`)
//!   it is `active_tmp` again; once it has been failing for more than 24 h it becomes
//!   `inactive_permanent`;
//! - any other status or error (4xx, connection refused, an empty header name) makes it
//!   `inactive_permanent` at once;
//! - events are skipped (not queued) while the endpoint is inactive; nothing is ever retried.

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

/// Hands events to a background task that posts them one at a time.
#[derive(Clone)]
pub struct Notifier {
    endpoint: Arc<Mutex<Endpoint>>,
    tx: mpsc::UnboundedSender<Event>,
    site_url: Arc<str>,
}

impl Notifier {
    /// Starts the delivery task on the current tokio runtime.
    pub fn start(target: Option<WebhookTarget>, site_url: String) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let endpoint = Arc::new(Mutex::new(Endpoint::new(target)));
        let task = tokio::spawn(deliver(rx, endpoint.clone(), site_url.clone()));
        let notifier = Self {
            endpoint,
            tx,
            site_url: site_url.into(),
        };
        (notifier, task)
    }

    fn endpoint(&self) -> std::sync::MutexGuard<'_, Endpoint> {
        lock_endpoint(&self.endpoint)
    }

    /// Builders for event bodies linking to this instance.
    pub fn events(&self) -> Events<'_> {
        Events {
            site: &self.site_url,
        }
    }

    /// Queues an event; never blocks. Dropped when no webhook is configured.
    pub fn notify(&self, event: Event) {
        let mut endpoint = self.endpoint();
        if endpoint.target.is_none() {
            return;
        }
        if self.tx.send(event).is_ok() {
            endpoint.pending += 1;
        }
    }

    /// Replaces the target and resets the endpoint to `active` (what editing the webhook in the
    /// UI does, notifications/ui/views.py:292-333).
    pub fn set_target(&self, target: Option<WebhookTarget>) {
        let mut endpoint = self.endpoint();
        let pending = endpoint.pending;
        *endpoint = Endpoint::new(target);
        endpoint.pending = pending;
    }

    pub fn status_json(&self) -> Value {
        self.endpoint().to_json()
    }
}

fn lock_endpoint(e: &Mutex<Endpoint>) -> std::sync::MutexGuard<'_, Endpoint> {
    e.lock().unwrap_or_else(|p| p.into_inner())
}

async fn deliver(
    mut rx: mpsc::UnboundedReceiver<Event>,
    endpoint: Arc<Mutex<Endpoint>>,
    site_url: String,
) {
    let client = reqwest::Client::builder()
        .timeout(SEND_TIMEOUT)
        .build()
        .unwrap_or_default();
    while let Some(event) = rx.recv().await {
        let target = {
            let mut ep = lock_endpoint(&endpoint);
            ep.refresh(Instant::now());
            let target = ep.target.clone().filter(|_| ep.accepts_events());
            if target.is_none() {
                ep.skipped += u64::from(ep.target.is_some());
                ep.pending = ep.pending.saturating_sub(1);
            }
            target
        };
        let Some(target) = target else { continue };
        let outcome = send(&client, &target, &site_url, &event).await;
        if let Outcome::Delivered = outcome {
            tracing::debug!(event = event.name, "webhook delivered");
        } else {
            tracing::warn!(event = event.name, "webhook delivery failed");
        }
        let mut ep = lock_endpoint(&endpoint);
        ep.record(outcome);
        // counted down only once the delivery is over, so `pending == 0` means "all done"
        ep.pending = ep.pending.saturating_sub(1);
    }
}

async fn send(
    client: &reqwest::Client,
    target: &WebhookTarget,
    site_url: &str,
    event: &Event,
) -> Outcome {
    // FACTS §6 bug: an empty header name makes `requests` raise before anything is sent.
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
        Err(e) => Outcome::Permanent(format!("Exception: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
