//! What every request handler shares.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use wstg_domain::{Catalogue, ProjectName};
use wstg_queue::Queue;
use wstg_store::Store;

pub struct AppState {
    pub queue: Queue,
    pub store: Store,
    pub catalogue: &'static Catalogue,
    pub default_project: ProjectName,
    pub ingest_token: Option<SecretString>,
    pub max_body_bytes: usize,
    pub webhook_key: Option<SecretString>,
    pub webhook_header: String,
    /// Opens the admin endpoints; `None`: they refuse every call.
    pub admin_token: Option<SecretString>,
    /// DefectDojo's base URL, for links to findings.
    pub dojo_ui: String,
    /// The one change-feed reader every live stream shares, and the cap.
    pub live: Arc<crate::live::LiveFeed>,
    /// Backpressure on writes.
    pub backlog: Arc<crate::backlog::Backlog>,
    /// Time a client has to send a request body.
    pub request_timeout: Duration,
    /// Least time between two polls forced by webhooks.
    pub webhook_poll_interval: Duration,
}
