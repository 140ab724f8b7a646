//! Evidence files (issue 12 item 2): upload to an item, list an item's
//! files, download one. docs/tracker.md, "Evidence"; the bounds are in
//! docs/security-bounds.md.
//!
//! An upload is checked before anything is kept: the body is read as a
//! multipart stream within `limits.evidence_max_file_bytes` (plus a little
//! for the form's framing) and the request timeout; the type comes from the
//! bytes' magic number (`infer`), never from the client's claim, and must be
//! one DefectDojo accepts (`wstg_domain::evidence::EvidenceType`); the name
//! is sanitised. The bytes go to the store under the project's quota and
//! only the evidence id goes to the queue.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use futures::StreamExt;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use wstg_domain::evidence::{EvidenceName, EvidenceTarget, EvidenceType};
use wstg_domain::{Envelope, EventKind};
use wstg_store::{Access, EvidenceRecord, NewEvidence};

use crate::auth::Principal;
use crate::errors::ApiError;
use crate::project_access::{readable_item, writable_item};
use crate::routes::items::ProjectQuery;
use crate::state::AppState;

/// The bounds of evidence uploads (`limits.evidence_*`).
#[derive(Debug, Clone, Copy)]
pub struct EvidenceLimits {
    pub max_file_bytes: u64,
    pub max_project_bytes: u64,
}

/// Room for the multipart framing around the file (boundaries, part
/// headers, the small text fields).
const FORM_OVERHEAD: u64 = 16 * 1024;

/// The most a text field of the form may hold.
const MAX_TEXT_FIELD: usize = 1024;

fn store_unavailable(e: wstg_store::StoreError) -> ApiError {
    tracing::warn!(error = %e, "store unavailable");
    ApiError::Unavailable("store")
}

/// What the API shows of a file (no bytes).
pub fn view(r: &EvidenceRecord) -> serde_json::Value {
    let image = EvidenceType::from_content_type(&r.content_type).is_some_and(|t| t.is_image());
    json!({
        "id": r.id,
        "project": r.project,
        "wstg_id": r.wstg_id,
        "target": r.target,
        "name": r.name,
        "content_type": r.content_type,
        "size": r.size,
        "sha256": r.sha256,
        "origin": r.origin,
        "state": r.state,
        "image": image,
        "dojo_file_id": r.dojo_file_id,
        "last_error": r.last_error,
        "created_at": r.created_at,
        "url": format!("/api/wstg/evidence/{}", r.id),
    })
}

/// `POST /api/wstg/items/{wstg_id}/evidence?project=`: multipart with one
/// `file` part.
#[utoipa::path(post, path = "/api/wstg/items/{wstg_id}/evidence", tag = "tracker",
    params(("wstg_id" = String, Path, description = "A catalogue id, e.g. WSTG-INFO-01"), ProjectQuery),
    request_body(content = String, content_type = "multipart/form-data",
        description = "One part named `file` (PNG, JPEG, PDF, ZIP, or UTF-8 text, JSON, CSV, XML, YAML); optionally `vulnerability_id`, to attach it to one of the item's vulnerabilities"),
    responses(
        (status = 201, description = "Stored; queued for DefectDojo", body = EvidenceFile),
        (status = 413, description = "The file or the project's files are too big", body = crate::api_schemas::ErrorBody),
        (status = 415, description = "Not multipart, or not an accepted kind of file", body = crate::api_schemas::ErrorBody),
        (status = 422, description = "No file, or an empty one", body = crate::api_schemas::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn post_evidence(
    principal: Principal,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ProjectQuery>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // The guard lets this one multipart write through; a form a browser
    // submits cross-site carries no bearer token (guard.rs).
    if !req.headers().contains_key(header::AUTHORIZATION) {
        return Err(ApiError::Unauthorized);
    }
    let (project, wstg_id) = writable_item(
        &state,
        &principal,
        query.project(&state)?,
        &path.into_inner(),
    )
    .await?;
    let limits = state.evidence;
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if !is_multipart {
        return Err(ApiError::UnsupportedFile {
            field: "Content-Type",
            reason: "must be multipart/form-data with a part named file".into(),
        });
    }
    let body_limit = limits.max_file_bytes + FORM_OVERHEAD;
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > body_limit {
            return Err(too_big(limits.max_file_bytes));
        }
    }
    let form = tokio::time::timeout(
        state.request_timeout,
        read_form(
            Multipart::new(req.headers(), payload),
            limits.max_file_bytes,
        ),
    )
    .await
    .map_err(|_| ApiError::BodyTimeout {
        limit_ms: u64::try_from(state.request_timeout.as_millis()).unwrap_or(u64::MAX),
    })??;
    let Some((raw_name, bytes)) = form.file else {
        return Err(ApiError::Conflict {
            field: "file".into(),
            reason: "is missing: send the file as a multipart part named file".into(),
        });
    };
    if bytes.is_empty() {
        return Err(ApiError::Conflict {
            field: "file".into(),
            reason: "is empty".into(),
        });
    }
    let target = match form.vulnerability {
        None => EvidenceTarget::Item,
        Some(raw) => {
            let refuse = |reason: String| ApiError::Conflict {
                field: "vulnerability_id".into(),
                reason,
            };
            let vid = Uuid::parse_str(raw.trim())
                .map_err(|e| refuse(format!("is not a vulnerability id: {e}")))?;
            match state
                .store
                .vulnerability(vid)
                .await
                .map_err(store_unavailable)?
            {
                Some(v) if v.project == project && v.wstg_id == wstg_id => {
                    EvidenceTarget::Vulnerability(vid.to_string())
                }
                _ => {
                    return Err(refuse(format!(
                        "no vulnerability {vid} under {wstg_id} in this project"
                    )))
                }
            }
        }
    };
    let name = EvidenceName::sanitise(&raw_name);
    let sniffed = infer::get(&bytes).map(|t| t.mime_type());
    let kind =
        EvidenceType::classify(sniffed, &name, &bytes).map_err(|e| ApiError::UnsupportedFile {
            field: "file",
            reason: e.to_string(),
        })?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let id = Uuid::now_v7();
    let new = NewEvidence {
        id,
        project: &project,
        wstg_id: &wstg_id,
        target: &target,
        name: &name,
        content_type: kind.content_type(),
        sha256: &sha256,
        bytes: &bytes,
        origin: wstg_domain::evidence::EvidenceOrigin::Tracker,
        dojo: None,
        at: Utc::now(),
    };
    if !state
        .store
        .add_evidence(&new, limits.max_project_bytes)
        .await
        .map_err(store_unavailable)?
    {
        return Err(ApiError::FileTooLarge {
            field: "file",
            reason: format!(
                "project '{project}' would hold more than {} bytes of evidence (limits.evidence_max_project_bytes)",
                limits.max_project_bytes
            ),
        });
    }
    let env = Envelope::new(
        project.clone(),
        EventKind::Evidence {
            wstg_id: wstg_id.clone(),
            evidence_id: id,
        },
        Utc::now(),
    );
    if let Err(e) = state.queue.publish(&env).await {
        // Stored but not queued: the file stays pending and is shown so;
        // `wstgctl sync` or the next pass picks it up (docs/tracker.md).
        tracing::warn!(error = %e, evidence = %id, "evidence stored but not queued");
        return Err(ApiError::Unavailable("queue"));
    }
    tracing::info!(%project, %wstg_id, evidence = %id, size = bytes.len(), content_type = kind.content_type(), "evidence stored");
    let record = state
        .store
        .evidence(id)
        .await
        .map_err(store_unavailable)?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("evidence {id} vanished")))?;
    Ok(HttpResponse::Created().json(view(&record)))
}

fn too_big(limit: u64) -> ApiError {
    ApiError::FileTooLarge {
        field: "file",
        reason: format!("is larger than {limit} bytes (limits.evidence_max_file_bytes)"),
    }
}

#[derive(Default)]
struct Form {
    file: Option<(String, Vec<u8>)>,
    vulnerability: Option<String>,
}

/// Reads the form's parts: `file` within `limit` bytes, short text fields,
/// anything else refused.
async fn read_form(mut form: Multipart, limit: u64) -> Result<Form, ApiError> {
    let mut out = Form::default();
    while let Some(field) = form.next().await {
        let mut field = field
            .map_err(|e| ApiError::invalid("body", format!("not a valid multipart form: {e}")))?;
        let (name, filename) = match field.content_disposition() {
            Some(cd) => (
                cd.get_name().unwrap_or_default().to_owned(),
                cd.get_filename().map(str::to_owned),
            ),
            None => (String::new(), None),
        };
        let cap = match name.as_str() {
            "file" => {
                if out.file.is_some() {
                    return Err(ApiError::Conflict {
                        field: "file".into(),
                        reason: "send one file per request".into(),
                    });
                }
                limit
            }
            "vulnerability_id" => MAX_TEXT_FIELD as u64,
            other => {
                return Err(ApiError::invalid(
                    other.to_owned(),
                    "is not a field of this form (file, vulnerability_id)",
                ))
            }
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::invalid("body", format!("could not be read: {e}")))?;
            if (bytes.len() + chunk.len()) as u64 > cap {
                return Err(if name == "file" {
                    too_big(limit)
                } else {
                    ApiError::invalid(name, format!("is longer than {MAX_TEXT_FIELD} bytes"))
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        if name == "file" {
            out.file = Some((filename.unwrap_or_default(), bytes));
        } else {
            out.vulnerability = Some(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    Ok(out)
}

/// `GET /api/wstg/items/{wstg_id}/evidence?project=`: the item's files.
#[utoipa::path(get, path = "/api/wstg/items/{wstg_id}/evidence", tag = "tracker",
    params(("wstg_id" = String, Path, description = "A catalogue id, e.g. WSTG-INFO-01"), ProjectQuery),
    responses((status = 200, description = "The item's evidence files (no bytes)", body = EvidenceList)),
    security(("bearer" = [])))]
pub async fn get_item_evidence(
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
    let files = state
        .store
        .item_evidence(&project, &wstg_id)
        .await
        .map_err(store_unavailable)?;
    Ok(HttpResponse::Ok().json(json!({
        "project": project,
        "wstg_id": wstg_id,
        "evidence": files.iter().map(view).collect::<Vec<_>>(),
    })))
}

/// `GET /api/wstg/evidence/{id}`: the bytes, with the stored type;
/// `attachment` unless an image; never sniffed, never run.
#[utoipa::path(get, path = "/api/wstg/evidence/{id}", tag = "tracker",
    params(("id" = String, Path, description = "The evidence id")),
    responses(
        (status = 200, description = "The file's bytes"),
        (status = 404, description = "No such file", body = crate::api_schemas::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_evidence(
    principal: Principal,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = Uuid::parse_str(&path.into_inner()).map_err(|e| ApiError::invalid("id", e))?;
    let not_found = || ApiError::NotFound(format!("evidence {id}"));
    let record = state
        .store
        .evidence(id)
        .await
        .map_err(store_unavailable)?
        .ok_or_else(not_found)?;
    // A token without read access learns nothing, not even that it exists.
    if !principal.may(&record.project, Access::Read) {
        return Err(not_found());
    }
    let bytes = state
        .store
        .evidence_bytes(id)
        .await
        .map_err(store_unavailable)?
        .ok_or_else(not_found)?;
    let image = EvidenceType::from_content_type(&record.content_type).is_some_and(|t| t.is_image());
    let disposition = if image { "inline" } else { "attachment" };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, record.content_type.clone()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "{disposition}; filename=\"{}\"",
                record.name.as_str().replace('"', "_")
            ),
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Content-Security-Policy", "default-src 'none'; sandbox"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(bytes))
}

/// The OpenAPI description of an evidence file (what [`view`] writes).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema only
pub struct EvidenceFile {
    pub id: String,
    pub project: String,
    pub wstg_id: String,
    /// `{"kind": "item"}` or `{"kind": "vulnerability", "id": …}`.
    pub target: serde_json::Value,
    /// Sanitised: no directories, no special characters.
    pub name: String,
    /// Decided from the bytes, not from the client.
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    /// `tracker` or `dojo`.
    pub origin: String,
    /// `pending`, `uploaded` or `removed_in_dojo`.
    pub state: String,
    /// Shown as a thumbnail.
    pub image: bool,
    pub dojo_file_id: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: String,
    /// `GET` it (with the token) for the bytes.
    pub url: String,
}

/// An item's evidence files.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema only
pub struct EvidenceList {
    pub project: String,
    pub wstg_id: String,
    pub evidence: Vec<EvidenceFile>,
}
