//! The shapes of the JSON bodies the API sends and takes, for the OpenAPI
//! document (openapi.rs). The handlers build most answers with `json!` from
//! the store's and the queue's types, which know nothing of OpenAPI; these
//! structs describe those answers. They are never serialised: the fuzz run
//! (`make test-api`, schemathesis) checks every answer the ingest really
//! sends against them, so a handler and its schema cannot drift apart
//! unnoticed.

#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::Value;
use utoipa::ToSchema;

/// Every 4xx and 5xx answer (but the import's own 400/503, [`ImportResult`]).
#[derive(ToSchema)]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    /// What was wrong, for people. Never echoes a secret.
    pub error: String,
    /// The request field (body field, query parameter or header) at fault.
    pub field: Option<String>,
    /// Why `field` was refused; for a 401, a stable word
    /// (`missing_header`, `malformed_header`, `unknown_token`, `wrong_key`,
    /// `not_configured`).
    pub reason: Option<String>,
    /// For a 401: the header the client has to send.
    pub header: Option<String>,
    /// For a 405: the methods the path takes.
    pub allowed: Option<Vec<String>>,
    /// This request's `X-Request-Id`, to find it in the logs.
    pub request_id: String,
}

/// `GET /healthz`.
#[derive(ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// `GET /readyz`, 200 or 503.
#[derive(ToSchema)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    pub status: String,
    /// `ok` or `unreachable`.
    pub redis: String,
    /// `ok` or `unreachable`.
    pub store: String,
}

/// The body of `POST /api/wstg/sync`: the original design's tracker change.
#[derive(ToSchema)]
pub struct TrackerChangeBody {
    /// A catalogue id, e.g. `WSTG-INFO-01`.
    #[schema(example = "WSTG-INFO-01", pattern = "^WSTG-[A-Z]{4}-[0-9]{2}$")]
    pub wstg_id: String,
    /// `Not Started`, `In Progress`, `Done`, `Not Applicable`, `Issues`
    /// (and their spellings, docs/sync-rules.md).
    #[schema(example = "Done")]
    pub status: String,
    pub notes: Option<String>,
    /// RFC 3339, a naive ISO time (taken as UTC), or milliseconds since the
    /// epoch; absent means now, a future time counts as now.
    #[schema(schema_with = timestamp)]
    pub timestamp: Option<Value>,
    /// At most 128 characters.
    pub user: Option<String>,
    /// The project; absent means the default project.
    pub project: Option<String>,
    /// Who the item is assigned to (a username: letters, digits, `@ . + - _`,
    /// at most 150 characters, stored lowercase); `null` or `""` clears it,
    /// absent keeps it.
    pub assignee: Option<String>,
}

/// The answer to an accepted change: 202 `queued`, 200 `duplicate` (the
/// same `Idempotency-Key` and body again).
#[derive(ToSchema)]
pub struct Queued {
    pub success: bool,
    pub event_id: uuid::Uuid,
    /// `queued` or `duplicate`.
    pub status: String,
}

/// `GET /api/wstg/status`: the original design's fields, plus the queue and
/// DefectDojo's breaker.
#[derive(ToSchema)]
pub struct Status {
    pub last_sync: Option<chrono::DateTime<chrono::Utc>>,
    pub total_items: u64,
    pub synced_items: u64,
    pub pending_items: u64,
    pub conflicts: u64,
    pub items_in_conflict: u64,
    pub failed_items: u64,
    pub by_status: BTreeMap<String, u64>,
    pub by_direction: BTreeMap<String, u64>,
    /// The queue's depth (`null` while Redis does not answer).
    #[schema(value_type = Option<Object>)]
    pub queue: Option<Value>,
    /// `{breaker, webhook}`: each worker's breaker and DefectDojo's webhook.
    #[schema(value_type = Object)]
    pub dojo: Value,
    pub catalogue_version: String,
    pub catalogue_items: u64,
}

/// One catalogue item.
#[derive(ToSchema)]
pub struct CatalogueItem {
    pub wstg_id: String,
    pub title: String,
    pub category_id: String,
    pub category_name: String,
    pub objectives: Vec<String>,
    pub guide_url: String,
}

#[derive(ToSchema)]
pub struct Category {
    pub id: String,
    pub name: String,
}

/// `GET /api/wstg/catalogue`.
#[derive(ToSchema)]
pub struct Catalogue {
    pub version: String,
    /// `wstg`, `asvs` or `mastg`, its name and version (issue 12 item 5).
    pub methodology: String,
    pub methodology_name: String,
    pub methodology_version: String,
    /// What the methodology calls its chapters (`category`, `chapter`).
    pub chapter_word: String,
    pub attribution: String,
    pub license_url: String,
    pub categories: Vec<Category>,
    pub items: Vec<CatalogueItem>,
}

/// `GET /api/wstg/projects`.
#[derive(ToSchema)]
pub struct Projects {
    pub default_project: String,
    pub projects: Vec<String>,
}

/// One item of a project with its state (the store's `ItemView`).
#[derive(ToSchema)]
pub struct Item {
    pub project: String,
    pub wstg_id: String,
    pub title: String,
    pub category_id: String,
    pub category_name: String,
    /// `null` until the item is first set on either side.
    pub status: Option<String>,
    pub notes: String,
    pub finding_id: Option<i64>,
    /// The finding's page in DefectDojo's UI.
    pub finding_url: Option<String>,
    pub sync_state: Option<String>,
    pub last_sync_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_sync_direction: Option<String>,
    pub last_error: Option<String>,
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The vulnerabilities recorded under the item.
    pub vulnerabilities: VulnerabilitySummary,
    /// Where the item's last change came from; `null` until either side
    /// touched it (issue 12 item 6).
    pub last_change: Option<LastChange>,
}

/// Where an item's last change came from, who made it and when.
#[derive(ToSchema)]
pub struct LastChange {
    /// `tracker` or `dojo`.
    pub source: String,
    /// The tracker user of a tracker change; `null` when unknown (always,
    /// for a DefectDojo change: its API names no editor).
    pub by: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// `GET /api/wstg/items`.
#[derive(ToSchema)]
pub struct Items {
    pub project: String,
    pub catalogue_version: String,
    /// `wstg`, `asvs` or `mastg` (issue 12 item 5).
    pub methodology: Option<String>,
    pub items: Vec<Item>,
}

/// An entry of an import that was not taken, and why.
#[derive(ToSchema)]
pub struct Rejected {
    pub wstg_id: String,
    pub reason: String,
}

/// The answer to `POST /api/wstg/import`: 202 when some entries were
/// queued; 400 when none is valid; 503 when the queue went away midway.
#[derive(ToSchema)]
pub struct ImportResult {
    pub success: bool,
    /// The next four are absent from a 400 for a body that is no import at
    /// all (then it is an [`ErrorBody`]).
    pub accepted: Option<u64>,
    pub rejected: Option<Vec<Rejected>>,
    pub event_ids: Option<Vec<uuid::Uuid>>,
    pub project: Option<String>,
    pub warnings: Option<Vec<String>>,
    pub error: Option<String>,
    pub field: Option<String>,
    pub reason: Option<String>,
    pub request_id: Option<String>,
}

/// `GET /api/wstg/export`: the tracker file format import reads.
#[derive(ToSchema)]
pub struct Export {
    pub version: String,
    #[schema(rename = "exportDate")]
    pub export_date: String,
    pub project: String,
    pub catalogue_version: String,
    /// By WSTG id: `{status, notes}`.
    #[schema(value_type = Object)]
    pub results: Value,
}

/// `GET /api/wstg/dashboard`: the original design's dashboard and more
/// (routes/dashboard.rs documents each part).
#[derive(ToSchema)]
pub struct Dashboard {
    pub project: String,
    pub dlq_size: Option<u64>,
    pub status: Status,
    /// `by_status`, `by_direction`, `by_category`, `recent_syncs`,
    /// `activity`, `attention`.
    #[schema(value_type = Object)]
    pub statistics: Value,
    /// `{reachable, evidence, ...}`.
    #[schema(value_type = Object)]
    pub dojo: Value,
    pub timestamp: String,
}

/// The answer to DefectDojo's webhook.
#[derive(ToSchema)]
pub struct WebhookAnswer {
    pub success: bool,
    pub event: String,
    /// `poll_requested` or `poll_already_requested` (absent for `ping`).
    pub action: Option<String>,
}

/// A dead letter (the queue's `DeadLetter`).
#[derive(ToSchema)]
pub struct DeadLetter {
    pub id: String,
    /// The event, if `raw` still decodes.
    #[schema(value_type = Option<Object>)]
    pub envelope: Option<Value>,
    pub raw: String,
    pub attempts: u32,
    pub error: String,
    pub first_failed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub dead_at: chrono::DateTime<chrono::Utc>,
    pub source_id: Option<String>,
}

/// `GET /api/wstg/admin/dlq`.
#[derive(ToSchema)]
pub struct DeadLetterPage {
    pub success: bool,
    pub count: u64,
    /// Pass as `after` for the next page; `null` on the last one.
    pub next_after: Option<String>,
    pub dead_letters: Vec<DeadLetter>,
}

#[derive(ToSchema)]
pub struct OneDeadLetter {
    pub success: bool,
    pub dead_letter: DeadLetter,
}

#[derive(ToSchema)]
pub struct Replayed {
    pub success: bool,
    pub id: String,
    pub stream_id: String,
}

#[derive(ToSchema)]
pub struct ReplayedAll {
    pub success: bool,
    pub replayed: u64,
}

#[derive(ToSchema)]
pub struct Purged {
    pub success: bool,
    pub purged: u64,
}

/// A registered project (the store's `ProjectRecord`).
#[derive(ToSchema)]
pub struct Project {
    pub name: String,
    /// The existing DefectDojo product (by id) the project is mapped to.
    pub product_id: Option<i64>,
    /// The existing DefectDojo engagement (by id).
    pub engagement_id: Option<i64>,
    /// The product by name; unset: `dojo.product_template`.
    pub product_name: Option<String>,
    /// The engagement by name; unset: `dojo.engagement`.
    pub engagement_name: Option<String>,
    /// The product type of a product that has to be made; unset: `dojo.product_type`.
    pub product_type_name: Option<String>,
    /// The WSTG test's title; unset: `dojo.test_title`.
    pub test_title: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// `GET /api/wstg/admin/projects`.
#[derive(ToSchema)]
pub struct ProjectList {
    pub success: bool,
    pub default_project: String,
    pub projects: Vec<Project>,
}

/// `POST /api/wstg/admin/projects`, 201.
#[derive(ToSchema)]
pub struct ProjectCreated {
    pub success: bool,
    pub project: Project,
    /// The methodology the project follows (issue 12 item 5).
    pub methodology: String,
    pub catalogue_version: String,
}

/// A tracker timestamp: a date-time string or milliseconds since the epoch.
fn timestamp() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    use utoipa::openapi::SchemaFormat;
    Schema::OneOf(
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String).format(Some(
                SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::DateTime),
            )))
            .item(ObjectBuilder::new().schema_type(Type::Integer))
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .build(),
    )
}

/// The answer to recording or editing a vulnerability.
#[derive(ToSchema)]
pub struct VulnerabilityQueued {
    pub success: bool,
    /// The vulnerability's id (stable; files attach to it).
    pub id: String,
    pub event_id: String,
    /// queued, or duplicate for a retry with the same Idempotency-Key.
    pub status: String,
}

/// `GET /api/wstg/items/{wstg_id}/vulnerabilities`.
#[derive(ToSchema)]
pub struct Vulnerabilities {
    pub project: String,
    pub wstg_id: String,
    pub vulnerabilities: Vec<crate::routes::vulnerabilities::VulnerabilityView>,
}

/// An item's vulnerabilities in three numbers (in every item answer).
#[derive(ToSchema)]
pub struct VulnerabilitySummary {
    /// Recorded under the item (deleted ones left out).
    pub count: u32,
    /// Still open (pending or active).
    pub open: u32,
    /// The worst severity of the open ones, else of all; null when none.
    pub worst_severity: Option<String>,
}
