//! Vulnerabilities under an item (issue 12 item 1): record one
//! (`POST /api/wstg/items/{wstg_id}/vulnerabilities`), list an item's
//! (`GET` the same path), edit one (`PATCH /api/wstg/vulnerabilities/{id}`).
//! Each becomes its own DefectDojo finding through the event stream
//! (docs/sync-rules.md, "Vulnerabilities under an item").

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;
use wstg_domain::vulnerability::{
    parse_endpoints, parse_severity, parse_text, parse_title, Cwe, FieldError, RawVulnFields,
    VulnFields, VulnStatus,
};
use wstg_domain::{Envelope, EventKind, ProjectName, WstgId};
use wstg_store::{Inserted, VulnRecord};

use crate::auth::Principal;
use crate::body::read_limited;
use crate::errors::ApiError;
use crate::project_access::{readable_item, writable, writable_item};
use crate::routes::items::ProjectQuery;
use crate::routes::sync::idempotency_key;
use crate::state::AppState;

/// A vulnerability as the tracker sends it. On `PATCH`, every field is
/// optional and an absent one is left as it is.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VulnerabilityBody {
    /// 1 to 300 characters, one line.
    pub title: Option<String>,
    /// Info, Low, Medium, High or Critical (any case).
    pub severity: Option<String>,
    /// Up to 20,000 characters; required on create.
    pub description: Option<String>,
    /// Steps to reproduce, up to 20,000 characters.
    pub steps: Option<String>,
    pub impact: Option<String>,
    pub mitigation: Option<String>,
    /// A CWE number: `89`, `"89"` or `"CWE-89"`; `null` or `""` for none.
    #[schema(value_type = Option<String>, example = "CWE-89")]
    pub cwe: Option<Value>,
    /// Affected endpoints: up to 20 http(s) URLs.
    pub endpoints: Option<Vec<String>>,
}

fn invalid(e: FieldError) -> ApiError {
    ApiError::invalid(e.field, e.reason)
}

fn cwe_text(v: &Value) -> Result<Option<String>, ApiError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(ApiError::invalid(
            "cwe",
            "must be a number or a string like CWE-89",
        )),
    }
}

impl VulnerabilityBody {
    fn parse(bytes: &[u8]) -> Result<VulnerabilityBody, ApiError> {
        serde_json::from_slice(bytes).map_err(|e| ApiError::invalid("body", e.to_string()))
    }

    /// The fields of a new vulnerability.
    fn new_fields(&self) -> Result<VulnFields, ApiError> {
        let cwe = self.cwe.as_ref().map(cwe_text).transpose()?.flatten();
        VulnFields::parse(&RawVulnFields {
            title: self
                .title
                .as_deref()
                .ok_or_else(|| ApiError::invalid("title", "is required"))?,
            severity: self
                .severity
                .as_deref()
                .ok_or_else(|| ApiError::invalid("severity", "is required"))?,
            description: self
                .description
                .as_deref()
                .ok_or_else(|| ApiError::invalid("description", "is required"))?,
            steps: self.steps.as_deref().unwrap_or_default(),
            impact: self.impact.as_deref().unwrap_or_default(),
            mitigation: self.mitigation.as_deref().unwrap_or_default(),
            cwe: cwe.as_deref(),
            endpoints: self.endpoints.as_deref().unwrap_or_default(),
        })
        .map_err(invalid)
    }

    /// `current` with this edit applied.
    fn edit(&self, current: &VulnFields) -> Result<VulnFields, ApiError> {
        let mut f = current.clone();
        if let Some(t) = &self.title {
            f.title = parse_title(t).map_err(invalid)?;
        }
        if let Some(s) = &self.severity {
            f.severity = parse_severity(s).map_err(invalid)?;
        }
        if let Some(d) = &self.description {
            f.description = parse_text("description", d).map_err(invalid)?;
            if f.description.trim().is_empty() {
                return Err(ApiError::invalid("description", "must not be empty"));
            }
        }
        if let Some(s) = &self.steps {
            f.steps = parse_text("steps", s).map_err(invalid)?;
        }
        if let Some(s) = &self.impact {
            f.impact = parse_text("impact", s).map_err(invalid)?;
        }
        if let Some(s) = &self.mitigation {
            f.mitigation = parse_text("mitigation", s).map_err(invalid)?;
        }
        if let Some(c) = &self.cwe {
            f.cwe = cwe_text(c)?
                .map(|c| c.parse::<Cwe>())
                .transpose()
                .map_err(invalid)?;
        }
        if let Some(e) = &self.endpoints {
            f.endpoints = parse_endpoints(e).map_err(invalid)?;
        }
        Ok(f)
    }
}

/// A vulnerability as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VulnerabilityView {
    /// Stable: files are attached to a vulnerability by it.
    pub id: Uuid,
    pub project: String,
    pub wstg_id: String,
    pub title: String,
    pub severity: String,
    pub description: String,
    pub steps: String,
    pub impact: String,
    pub mitigation: String,
    /// e.g. 89.
    pub cwe: Option<u32>,
    pub endpoints: Vec<String>,
    /// pending (not in DefectDojo yet), active, mitigated, risk_accepted,
    /// false_positive, out_of_scope, duplicate, inactive, deleted.
    pub status: String,
    /// True while the status is pending or active.
    pub open: bool,
    /// tracker (recorded here) or dojo (found in DefectDojo by its id tag).
    pub origin: String,
    pub finding_id: Option<i64>,
    /// The finding's page in DefectDojo's UI.
    pub finding_url: Option<String>,
    /// synced, or pending while a tracker edit is on its way.
    pub sync_state: String,
    pub last_error: Option<String>,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
    pub synced_at: Option<chrono::DateTime<Utc>>,
}

impl VulnerabilityView {
    pub fn new(r: &VulnRecord, dojo_ui: &str) -> VulnerabilityView {
        let f = &r.fields;
        let pending = r.finding_id.is_none() || r.synced.as_ref() != Some(f);
        VulnerabilityView {
            id: r.id,
            project: r.project.as_str().to_owned(),
            wstg_id: r.wstg_id.as_str().to_owned(),
            title: f.title.clone(),
            severity: f.severity.as_str().to_owned(),
            description: f.description.clone(),
            steps: f.steps.clone(),
            impact: f.impact.clone(),
            mitigation: f.mitigation.clone(),
            cwe: f.cwe.map(Cwe::get),
            endpoints: f.endpoints.iter().map(|e| e.as_str().to_owned()).collect(),
            status: r.status.as_str().to_owned(),
            open: r.status.is_open(),
            origin: r.origin.as_str().to_owned(),
            finding_id: r.finding_id,
            finding_url: r
                .finding_id
                .map(|id| format!("{}/finding/{id}", dojo_ui.trim_end_matches('/'))),
            sync_state: if pending && r.status != VulnStatus::Deleted {
                "pending"
            } else {
                "synced"
            }
            .to_owned(),
            last_error: r.last_error.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
            synced_at: r.synced_at,
        }
    }
}

fn store_unavailable(e: wstg_store::StoreError) -> ApiError {
    tracing::warn!(error = %e, "store unavailable");
    ApiError::Unavailable("store")
}

/// Queues the vulnerability's sync; the answer waits for the stream.
async fn queue_sync(
    state: &AppState,
    project: &ProjectName,
    wstg_id: &WstgId,
    id: Uuid,
) -> Result<Uuid, ApiError> {
    let env = Envelope::new(
        project.clone(),
        EventKind::Vulnerability {
            wstg_id: wstg_id.clone(),
            vulnerability_id: Some(id),
            observed: None,
        },
        Utc::now(),
    );
    state.queue.publish(&env).await.map_err(|e| {
        tracing::warn!(error = %e, "could not queue a vulnerability");
        ApiError::Unavailable("queue")
    })?;
    Ok(env.event_id)
}

/// Records a vulnerability under an item; it becomes one DefectDojo finding.
#[utoipa::path(post, path = "/api/wstg/items/{wstg_id}/vulnerabilities", tag = "tracker",
    params(("wstg_id" = String, Path, description = "A catalogue id of the project's methodology, e.g. WSTG-INPV-05, V2.1.1"), ProjectQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 200 characters; a retry with the same key and body records nothing new and answers the same id")),
    request_body = VulnerabilityBody,
    responses(
        (status = 202, description = "Recorded and queued", body = crate::api_schemas::VulnerabilityQueued),
        (status = 200, description = "A retry of a vulnerability already recorded (same Idempotency-Key)", body = crate::api_schemas::VulnerabilityQueued),
        (status = 400, description = "A field is missing or invalid (named in `field`)", body = crate::api_schemas::ErrorBody),
        (status = 404, description = "No such item in the catalogue", body = crate::api_schemas::ErrorBody),
        (status = 422, description = "The item holds the most vulnerabilities one item may hold, or the Idempotency-Key was used with another body", body = crate::api_schemas::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn post_vulnerability(
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
    query: web::Query<ProjectQuery>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.backlog.admit()?;
    let (project, wstg_id) = writable_item(
        &state,
        &principal,
        query.project(&state)?,
        &path.into_inner(),
    )
    .await?;
    let bytes = read_limited(&req, payload, state.max_body_bytes).await?;
    let fields = VulnerabilityBody::parse(&bytes)?.new_fields()?;
    let key = idempotency_key(&req)?;
    // With a key, the id is the key's (within its project and item): a
    // retry finds the record instead of making a second one.
    let id = match &key {
        Some(k) => Uuid::new_v5(
            &Uuid::NAMESPACE_OID,
            format!("wstg-bridge/vuln-key/{project}/{wstg_id}/{k}").as_bytes(),
        ),
        None => Uuid::now_v7(),
    };
    let inserted = state
        .store
        .insert_vulnerability(id, &project, &wstg_id, &fields, Utc::now())
        .await
        .map_err(store_unavailable)?;
    let status = match inserted {
        Inserted::New => actix_web::http::StatusCode::ACCEPTED,
        Inserted::Exists => {
            let existing = state
                .store
                .vulnerability(id)
                .await
                .map_err(store_unavailable)?
                .ok_or_else(|| ApiError::Unavailable("store"))?;
            // Another body under the same key, while the record still
            // holds what the first one sent (once synced, DefectDojo
            // title-cases the title, so only then is a mismatch ours to see).
            if existing.synced.is_none() && existing.fields != fields {
                return Err(crate::routes::sync::key_reused());
            }
            // The first answer may have been lost before its event was
            // queued: the retry queues one (a sync is state-based, so a
            // second event changes nothing).
            actix_web::http::StatusCode::OK
        }
        Inserted::Full => {
            return Err(ApiError::Conflict {
                field: "wstg_id".into(),
                reason: format!(
                    "{wstg_id} already holds {} vulnerabilities, the most one item may hold",
                    wstg_domain::vulnerability::MAX_PER_ITEM
                ),
            })
        }
    };
    let event_id = queue_sync(&state, &project, &wstg_id, id).await?;
    Ok(HttpResponse::build(status).json(json!({
        "success": true,
        "id": id,
        "event_id": event_id,
        "status": if status == actix_web::http::StatusCode::OK { "duplicate" } else { "queued" },
    })))
}

/// An item's vulnerabilities, oldest first.
#[utoipa::path(get, path = "/api/wstg/items/{wstg_id}/vulnerabilities", tag = "tracker",
    params(("wstg_id" = String, Path, description = "A catalogue id of the project's methodology"), ProjectQuery),
    responses(
        (status = 200, description = "The item's vulnerabilities", body = crate::api_schemas::Vulnerabilities),
        (status = 400, description = "`wstg_id` is not an id", body = crate::api_schemas::ErrorBody),
        (status = 404, description = "No such item in the catalogue", body = crate::api_schemas::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_vulnerabilities(
    principal: Principal,
    path: web::Path<String>,
    query: web::Query<ProjectQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (project, wstg_id) = readable_item(
        &state,
        &principal,
        query.project(&state)?,
        &path.into_inner(),
    )
    .await?;
    let list: Vec<VulnerabilityView> = state
        .store
        .item_vulnerabilities(&project, &wstg_id)
        .await
        .map_err(store_unavailable)?
        .iter()
        .map(|r| VulnerabilityView::new(r, &state.dojo_ui))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "project": project,
        "wstg_id": wstg_id,
        "vulnerabilities": list,
    })))
}

/// Edits a vulnerability; the edit goes to its DefectDojo finding.
#[utoipa::path(patch, path = "/api/wstg/vulnerabilities/{id}", tag = "tracker",
    params(("id" = String, Path, description = "The vulnerability's id")),
    request_body = VulnerabilityBody,
    responses(
        (status = 202, description = "Edited and queued", body = crate::api_schemas::VulnerabilityQueued),
        (status = 400, description = "A field is invalid (named in `field`)", body = crate::api_schemas::ErrorBody),
        (status = 404, description = "No such vulnerability", body = crate::api_schemas::ErrorBody),
        (status = 422, description = "The vulnerability's finding was deleted in DefectDojo", body = crate::api_schemas::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn patch_vulnerability(
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.backlog.admit()?;
    let id = Uuid::parse_str(&path.into_inner())
        .map_err(|_| ApiError::invalid("id", "is not a vulnerability id"))?;
    let bytes = read_limited(&req, payload, state.max_body_bytes).await?;
    let body = VulnerabilityBody::parse(&bytes)?;
    let record = state
        .store
        .vulnerability(id)
        .await
        .map_err(store_unavailable)?
        // Another project's vulnerability reads as absent, not as denied.
        .filter(|r| principal.may(&r.project, wstg_store::Access::Read))
        .ok_or_else(|| ApiError::NotFound(format!("vulnerability {id}")))?;
    writable(&state, &principal, &record.project).await?;
    if record.status == VulnStatus::Deleted {
        return Err(ApiError::Conflict {
            field: "id".into(),
            reason: "its finding was deleted in DefectDojo; record a new vulnerability instead"
                .into(),
        });
    }
    let fields = body.edit(&record.fields)?;
    if fields != record.fields {
        state
            .store
            .edit_vulnerability(id, &fields, Utc::now())
            .await
            .map_err(store_unavailable)?;
    }
    let event_id = queue_sync(&state, &record.project, &record.wstg_id, id).await?;
    Ok(HttpResponse::Accepted().json(json!({
        "success": true,
        "id": id,
        "event_id": event_id,
        "status": "queued",
    })))
}
