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
    /// The configured default catalogue (projects that chose none).
    pub catalogue: &'static Catalogue,
    /// Each project's own catalogue (`crate::project_catalogue::catalogue_of`).
    pub catalogues: crate::project_catalogue::ProjectCatalogues,
    pub default_project: ProjectName,
    pub ingest_token: Option<SecretString>,
    pub max_body_bytes: usize,
    pub webhook_key: Option<SecretString>,
    pub webhook_header: String,
    /// Opens the admin endpoints; `None`: they refuse every call.
    pub admin_token: Option<SecretString>,
    /// Opens `/metrics` (an admin token does too); `metrics.token`.
    pub metrics_token: Option<SecretString>,
    /// DefectDojo's base URL, for links to findings.
    pub dojo_ui: String,
    /// Authentication and the browser checks of the guard (guard.rs).
    pub auth: AuthConfig,
    /// The one change-feed reader every live stream shares, and the cap.
    pub live: Arc<crate::live::LiveFeed>,
    /// Backpressure on writes.
    pub backlog: Arc<crate::backlog::Backlog>,
    /// Time a client has to send a request body.
    pub request_timeout: Duration,
    /// Least time between two polls forced by webhooks.
    pub webhook_poll_interval: Duration,
    /// Evidence upload bounds (routes/evidence.rs).
    pub evidence: crate::routes::evidence::EvidenceLimits,
}

/// What the guard middleware and the project checks need.
pub struct AuthConfig {
    /// Requests without a token get tracker rights on every project.
    pub allow_anonymous: bool,
    /// Host names (lowercase, no port) requests may name.
    pub hosts: Vec<String>,
    /// Other origins whose pages may call the API (`ingest.cors_origins`).
    pub origins: Vec<String>,
    pub create_projects_on_demand: bool,
}
