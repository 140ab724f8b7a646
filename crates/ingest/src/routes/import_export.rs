//! `POST /api/wstg/import` and `GET /api/wstg/export`: a tracker's saved
//! state in bulk, in the shape static WSTG trackers keep it.
//!
//! Import accepts the `{id: {status, notes}}` map and the common variants:
//! wrapped (`{"version", "exportDate", "results": {…}}`, or under `items`,
//! `tests`, `checklist`, `data`, `state`, `progress`), a map of plain status
//! strings (`{id: "done"}`), and arrays of `{wstg_id | id, status, notes}`
//! (our own `GET /api/wstg/items` shape included). Every entry is checked
//! with the rules of `POST /api/wstg/sync` and reported by id and reason; each
//! valid one becomes one `tracker_change` event on the stream.
//!
//! Changes are dated by the entry's own `timestamp` (or `updated_at`), else
//! the file's `exportDate`, else now. Since the newest change of an item
//! wins, re-importing an old file never undoes what was changed after it.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use wstg_domain::ProjectName;
use wstg_queue::Published;

use crate::auth::Principal;
use crate::body::{json_object, read_limited};
use crate::errors::ApiError;
use crate::project_access::{parse_project, readable, writable};
use crate::routes::sync::{
    fingerprint, idempotency_key, key_reused, scoped_key, tracker_change_from_object,
    IDEMPOTENCY_TTL,
};
use crate::state::AppState;

/// The largest import body: a whole catalogue with long notes fits. Larger
/// than the single-change limit, which stays in force for `/sync`.
pub const IMPORT_MAX_BYTES: usize = 8 * 1024 * 1024;

/// The most entries one import may carry (the largest catalogue, ASVS 5.0, has 345).
pub const IMPORT_MAX_ENTRIES: usize = 2_000;

/// Keys under which trackers nest their per-item map, in the order tried.
const WRAPPER_KEYS: [&str; 7] = [
    "results",
    "items",
    "tests",
    "checklist",
    "data",
    "state",
    "progress",
];

/// The version written into exports.
pub const EXPORT_VERSION: &str = "wstg-bridge/1";

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectQuery {
    /// The project (else the file's, else the default one).
    project: Option<String>,
    /// Who made the changes (else the file's).
    user: Option<String>,
}

/// One entry found in an import file, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEntry {
    /// The id as written (reported back as is when it is not valid).
    pub id: String,
    pub value: Value,
}

/// What the file says about all of its entries.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ImportFile {
    pub entries: Vec<RawEntry>,
    pub project: Option<String>,
    pub user: Option<String>,
    pub export_date: Option<Value>,
}

/// Finds the entries of an import body, or says why it has none.
pub fn read_import(body: &Value) -> Result<ImportFile, ApiError> {
    let mut file = ImportFile::default();
    collect(body, &mut file, 0)?;
    if file.entries.is_empty() {
        return Err(ApiError::invalid(
            "body",
            "holds no checklist entries; expected {\"WSTG-INFO-01\": {\"status\": \"done\", \
             \"notes\": \"…\"}, …}, the same under \"results\", or an array of \
             {\"wstg_id\", \"status\", \"notes\"}",
        ));
    }
    if file.entries.len() > IMPORT_MAX_ENTRIES {
        return Err(ApiError::invalid(
            "body",
            format!(
                "holds {} entries; at most {IMPORT_MAX_ENTRIES} are accepted at once",
                file.entries.len()
            ),
        ));
    }
    Ok(file)
}

fn collect(v: &Value, file: &mut ImportFile, depth: usize) -> Result<(), ApiError> {
    if depth > 3 {
        return Err(ApiError::invalid("body", "is nested too deeply"));
    }
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let id = item
                    .as_object()
                    .and_then(|o| {
                        ["wstg_id", "wstgId", "id", "test_id", "testId"]
                            .iter()
                            .find_map(|k| o.get(*k).and_then(Value::as_str))
                    })
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("entry #{}", i + 1));
                file.entries.push(RawEntry {
                    id,
                    value: item.clone(),
                });
            }
            Ok(())
        }
        Value::Object(obj) => {
            // Metadata of a wrapper applies to everything inside it; the
            // outermost value wins.
            take_meta(obj, file);
            if let Some(inner) = WRAPPER_KEYS
                .iter()
                .filter_map(|k| obj.get(*k))
                .find(|v| v.is_object() || v.is_array())
            {
                return collect(inner, file, depth + 1);
            }
            for (key, value) in obj {
                // A per-item map: keys shaped like ids, or whose value is an
                // item object. Anything else is metadata (version, dates…).
                let looks_like_id = key.trim().to_ascii_lowercase().starts_with("wstg");
                if looks_like_id || value.is_object() {
                    file.entries.push(RawEntry {
                        id: key.clone(),
                        value: value.clone(),
                    });
                }
            }
            Ok(())
        }
        _ => Err(ApiError::invalid(
            "body",
            "must be a JSON object (or an array of entries)",
        )),
    }
}

fn take_meta(obj: &Map<String, Value>, file: &mut ImportFile) {
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
    if file.project.is_none() {
        file.project = text("project");
    }
    if file.user.is_none() {
        file.user = text("user");
    }
    if file.export_date.is_none() {
        file.export_date = ["exportDate", "export_date", "exported_at", "exportedAt"]
            .iter()
            .find_map(|k| obj.get(*k))
            .filter(|v| !v.is_null())
            .cloned();
    }
}

/// The fields of `POST /api/wstg/sync` for one entry, from the names
/// trackers use.
pub fn entry_fields(
    entry: &RawEntry,
    project: &ProjectName,
    user: Option<&str>,
    default_time: Option<&Value>,
) -> Result<Map<String, Value>, String> {
    let mut fields = Map::new();
    fields.insert("project".into(), json!(project.as_str()));
    if let Some(u) = user {
        fields.insert("user".into(), json!(u));
    }
    let first = |o: &Map<String, Value>, keys: &[&str]| -> Option<Value> {
        keys.iter()
            .find_map(|k| o.get(*k))
            .filter(|v| !v.is_null())
            .cloned()
    };
    match &entry.value {
        Value::String(status) => {
            fields.insert("wstg_id".into(), json!(entry.id));
            fields.insert("status".into(), json!(status));
        }
        Value::Object(o) => {
            fields.insert("wstg_id".into(), json!(entry.id));
            match first(o, &["status", "state", "result"]) {
                Some(s) => fields.insert("status".into(), s),
                None => return Err("status: is required".to_owned()),
            };
            if let Some(n) = first(o, &["notes", "note", "comments", "comment"]) {
                fields.insert("notes".into(), n);
            }
            if let Some(u) = first(o, &["user"]) {
                fields.insert("user".into(), u);
            }
            if let Some(t) = first(
                o,
                &[
                    "timestamp",
                    "updated_at",
                    "updatedAt",
                    "lastUpdated",
                    "last_updated",
                ],
            ) {
                fields.insert("timestamp".into(), t);
            }
        }
        Value::Null => return Err("status: is required (the entry is null)".to_owned()),
        other => {
            return Err(format!(
                "must be an object {{\"status\", \"notes\"}} or a status string, not {}",
                crate::body::kind(other)
            ))
        }
    }
    if !fields.contains_key("timestamp") {
        if let Some(t) = default_time {
            fields.insert("timestamp".into(), t.clone());
        }
    }
    Ok(fields)
}

/// A tracker's export file (or an array of entries): every valid entry is
/// queued as a change, the others are reported.
#[utoipa::path(post, path = "/api/wstg/import", tag = "tracker", params(ProjectQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 200 characters")),
    request_body(content = Object, description = "An export (`{results: {WSTG-ID: {status, notes}}}` and the shapes trackers write) or an array of entries"),
    responses(
        (status = 202, description = "Some entries queued", body = crate::api_schemas::ImportResult),
        (status = 400, description = "No valid entry, or not an import", body = crate::api_schemas::ImportResult),
        (status = 503, description = "The queue went away midway", body = crate::api_schemas::ImportResult),
    ),
    security(("bearer" = [])))]
pub async fn post_import(
    req: HttpRequest,
    principal: Principal,
    query: web::Query<ProjectQuery>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.backlog.admit()?;
    let limit = state.max_body_bytes.max(IMPORT_MAX_BYTES);
    let bytes = read_limited(&req, payload, limit).await?;
    let received_at = Utc::now();
    let key = idempotency_key(&req)?;
    let body_fingerprint = fingerprint(&bytes);
    let body = Value::Object(match json_object(&bytes) {
        Ok(o) => o,
        // An array of entries is an import too.
        Err(e) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Array(a)) => {
                let mut m = Map::new();
                m.insert("items".into(), Value::Array(a));
                m
            }
            _ => return Err(e),
        },
    });
    let file = read_import(&body)?;

    let project = parse_project(query.project.as_deref().or(file.project.as_deref()), &state)?;
    writable(&state, &principal, &project).await?;
    let user = query.user.as_deref().or(file.user.as_deref());
    let mut warnings = Vec::new();
    let default_time = match &file.export_date {
        Some(d) if date_ok(d) => Some(d.clone()),
        Some(d) => {
            warnings.push(format!(
                "exportDate {d} is not a date-time; entries without their own timestamp are dated now"
            ));
            None
        }
        None => None,
    };

    // Validate everything before publishing anything: a file with a bad
    // entry still imports its good ones, and all are reported.
    let mut valid = Vec::new();
    let mut rejected = Vec::new();
    for entry in &file.entries {
        let envelope = match entry_fields(entry, &project, user, default_time.as_ref()) {
            Ok(f) => tracker_change_from_object(&f, &state, received_at)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match envelope {
            Ok(env) => valid.push(env),
            Err(reason) => rejected.push(json!({ "wstg_id": entry.id, "reason": reason })),
        }
    }
    if valid.is_empty() {
        let mut body = json!({
            "success": false,
            "error": format!("body: none of the {} entries is valid", file.entries.len()),
            "field": "body",
            "reason": format!("none of the {} entries is valid", file.entries.len()),
            "accepted": 0,
            "rejected": rejected,
            "event_ids": [],
        });
        crate::errors::with_request_id(&mut body);
        return Ok(HttpResponse::BadRequest().json(body));
    }

    let mut event_ids = Vec::with_capacity(valid.len());
    for (i, env) in valid.iter().enumerate() {
        let published = match &key {
            Some(k) => {
                let entry_key = scoped_key(&env.project, &format!("import:{k}:{i}"));
                state
                    .queue
                    .publish_idempotent(env, &entry_key, &body_fingerprint, IDEMPOTENCY_TTL)
                    .await
            }
            None => state.queue.publish(env).await.map(Published::New),
        };
        match published {
            Ok(Published::New(_)) => event_ids.push(json!(env.event_id)),
            Ok(Published::Duplicate { event_id }) => event_ids.push(json!(event_id)),
            // Only the first entry can meet a reused key first: the whole
            // import is refused, nothing of it was added.
            Ok(Published::KeyReused { .. }) if i == 0 => return Err(key_reused()),
            Ok(Published::KeyReused { event_id }) => event_ids.push(json!(event_id)),
            Err(e) => {
                tracing::warn!(error = %e, published = i, "import stopped: queue unavailable");
                if i == 0 {
                    return Err(ApiError::Unavailable("queue"));
                }
                // What is on the stream stays there; the rest is reported so
                // the import can be sent again (the newest change still wins).
                for rest in &valid[i..] {
                    rejected.push(json!({
                        "wstg_id": rest.wstg_id().map(|w| w.as_str()).unwrap_or("-"),
                        "reason": "queue unavailable, send the import again",
                    }));
                }
                let mut body = json!({
                    "success": false,
                    "error": "queue unavailable, retry later",
                    "accepted": event_ids.len(),
                    "rejected": rejected,
                    "event_ids": event_ids,
                    "project": project.as_str(),
                });
                crate::errors::with_request_id(&mut body);
                return Ok(HttpResponse::ServiceUnavailable()
                    .insert_header((header::RETRY_AFTER, "1"))
                    .json(body));
            }
        }
    }
    tracing::info!(
        project = %project,
        accepted = event_ids.len(),
        rejected = rejected.len(),
        "tracker import queued"
    );
    let mut body = json!({
        "success": true,
        "accepted": event_ids.len(),
        "rejected": rejected,
        "event_ids": event_ids,
        "project": project.as_str(),
    });
    if !warnings.is_empty() {
        body["warnings"] = json!(warnings);
    }
    Ok(HttpResponse::Accepted().json(body))
}

fn date_ok(v: &Value) -> bool {
    match v {
        Value::String(s) => {
            DateTime::parse_from_rfc3339(s.trim()).is_ok()
                || chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        }
        Value::Number(n) => n.as_i64().is_some(),
        _ => false,
    }
}

/// The project's tracker state as a file `POST /api/wstg/import` reads.
#[utoipa::path(get, path = "/api/wstg/export", tag = "tracker", params(ProjectQuery),
    responses((status = 200, description = "The export", body = crate::api_schemas::Export)),
    security(("bearer" = [])))]
pub async fn get_export(
    principal: Principal,
    query: web::Query<ProjectQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let project = parse_project(query.project.as_deref(), &state)?;
    let project = readable(&state, &principal, project).await?;
    let items = state.store.items(&project).await.map_err(|e| {
        tracing::warn!(error = %e, "store unavailable");
        ApiError::Unavailable("store")
    })?;
    let mut results = Map::new();
    for item in &items {
        if let Some(t) = &item.tracker {
            results.insert(
                item.wstg_id.as_str().to_owned(),
                json!({ "status": t.status.as_str(), "notes": t.notes.as_str() }),
            );
        }
    }
    let now = Utc::now();
    let filename = format!(
        "wstg-{}-{}.json",
        project.as_str().replace(
            |c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_',
            "_"
        ),
        now.format("%Y-%m-%d")
    );
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "version": EXPORT_VERSION,
            "exportDate": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "project": project.as_str(),
            "catalogue_version": crate::project_catalogue::catalogue_of(&state, &project).await?.version().as_str(),
            "results": results,
        })))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ids(file: &ImportFile) -> Vec<&str> {
        file.entries.iter().map(|e| e.id.as_str()).collect()
    }

    #[test]
    fn reads_the_plain_map() {
        let f = read_import(&json!({
            "WSTG-INFO-01": {"status": "done", "notes": "x"},
            "WSTG-INFO-02": "in_progress",
        }))
        .unwrap();
        assert_eq!(ids(&f), ["WSTG-INFO-01", "WSTG-INFO-02"]);
    }

    #[test]
    fn reads_the_wrapped_variant_and_its_metadata() {
        let f = read_import(&json!({
            "version": "1.0",
            "exportDate": "2025-12-03T17:30:00Z",
            "project": "acme",
            "results": {"WSTG-INFO-01": {"status": "done", "notes": ""}},
        }))
        .unwrap();
        assert_eq!(ids(&f), ["WSTG-INFO-01"]);
        assert_eq!(f.project.as_deref(), Some("acme"));
        assert_eq!(f.export_date, Some(json!("2025-12-03T17:30:00Z")));
    }

    #[test]
    fn reads_arrays_and_nested_wrappers() {
        let f = read_import(&json!({
            "state": {"items": [
                {"wstg_id": "WSTG-INFO-01", "status": "done"},
                {"id": "WSTG-INFO-02", "status": "blocked"},
                {"status": "done"},
            ]},
        }))
        .unwrap();
        assert_eq!(ids(&f), ["WSTG-INFO-01", "WSTG-INFO-02", "entry #3"]);
    }

    #[test]
    fn ignores_metadata_keys_of_a_plain_map() {
        let f = read_import(&json!({
            "version": 2,
            "WSTG-INFO-01": {"status": "done"},
            "wstg-bogus": {"status": "done"},
        }))
        .unwrap();
        assert_eq!(ids(&f), ["WSTG-INFO-01", "wstg-bogus"]);
    }

    #[test]
    fn says_why_a_body_has_no_entries() {
        for body in [
            json!({}),
            json!({"version": "1"}),
            json!({"results": {}}),
            json!(3),
        ] {
            let e = read_import(&body).unwrap_err();
            assert!(matches!(e, ApiError::Invalid { .. }), "{body}");
        }
    }

    #[test]
    fn maps_the_field_names_trackers_use() {
        let project = ProjectName::default_project();
        let entry = RawEntry {
            id: "WSTG-INFO-01".into(),
            value: json!({"state": "Done", "comments": "ok", "updatedAt": 1_700_000_000_000_i64}),
        };
        let f = entry_fields(&entry, &project, Some("bob"), Some(&json!("x"))).unwrap();
        assert_eq!(f["status"], "Done");
        assert_eq!(f["notes"], "ok");
        assert_eq!(f["timestamp"], 1_700_000_000_000_i64);
        assert_eq!(f["user"], "bob");

        let plain = RawEntry {
            id: "WSTG-INFO-01".into(),
            value: json!("blocked"),
        };
        let f = entry_fields(&plain, &project, None, Some(&json!("2025-01-01T00:00:00Z"))).unwrap();
        assert_eq!(f["timestamp"], "2025-01-01T00:00:00Z");

        let missing = RawEntry {
            id: "WSTG-INFO-01".into(),
            value: json!({"notes": "only notes"}),
        };
        assert!(entry_fields(&missing, &project, None, None)
            .unwrap_err()
            .contains("status"));
        let number = RawEntry {
            id: "WSTG-INFO-01".into(),
            value: json!(5),
        };
        assert!(entry_fields(&number, &project, None, None).is_err());
    }
}
