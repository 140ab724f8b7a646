//! What every request handler shares.

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
}
