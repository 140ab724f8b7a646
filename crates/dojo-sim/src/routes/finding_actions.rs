//! Finding actions: `close`, `verify`, `tags`, `remove_tags`, `notes`
//! (dojo/finding/api/views.py:250-620; docs/defectdojo.md §1, §2). Their validation errors are returned
//! as plain `serializer.errors` (no `message`/`pro`, LIVE 62).

use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::findings::{related_fields, risk_unaccept};
use super::{created, ok, pk, resource};
use crate::auth::Authenticated;
use crate::clock;
use crate::db::Db;
use crate::drf::fields::{self, Field, Kind, Mode, Target, Validated, ValidatedExt};
use crate::drf::pyrepr::py_str_list;
use crate::drf::{body, ApiError, ApiResult, FieldErrors};
use crate::model::finding::{Finding, View, MODEL};
use crate::state::AppState;
use crate::tags;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/findings/{id}/close/").route(web::post().to(close)))
        .service(resource("/findings/{id}/verify/").route(web::post().to(verify)))
        .service(
            resource("/findings/{id}/tags/")
                .route(web::get().to(get_tags))
                .route(web::post().to(add_tags)),
        )
        .service(
            resource("/findings/{id}/remove_tags/")
                .route(web::put().to(remove_tags))
                .route(web::patch().to(remove_tags)),
        )
        .service(
            resource("/findings/{id}/notes/")
                .route(web::get().to(get_notes))
                .route(web::post().to(add_note)),
        );
}

const NOTE_TYPE: Kind = Kind::Pk {
    target: Target::Empty,
    null: true,
};

/// `FindingCloseSerializer` (serializer.py:942-986).
const CLOSE_FIELDS: &[Field] = &[
    Field::new("is_mitigated", Kind::Bool),
    Field::new("mitigated", Kind::DateTime { null: false }),
    Field::new("false_p", Kind::Bool),
    Field::new("out_of_scope", Kind::Bool),
    Field::new("duplicate", Kind::Bool),
    Field::new(
        "mitigated_by",
        Kind::Pk {
            target: Target::User,
            null: true,
        },
    ),
    Field::new("note", Kind::text(true)),
    Field::new("note_type", NOTE_TYPE),
];

/// `FindingVerifySerializer`.
const VERIFY_FIELDS: &[Field] = &[
    Field::new("note", Kind::text(true)),
    Field::new("note_type", NOTE_TYPE),
];

/// `TagSerializer`.
const TAG_FIELDS: &[Field] = &[Field::required("tags", Kind::Tags)];

/// `AddNewNoteOptionSerializer`.
const NOTE_FIELDS: &[Field] = &[
    Field::required("entry", Kind::text(false)),
    Field::new("private", Kind::Bool),
    Field::new("note_type", NOTE_TYPE),
];

/// Validates an action body; errors are the view's own `Response(serializer.errors, 400)`.
fn validate_action(
    fields_: &[Field],
    req: &HttpRequest,
    payload: &web::Bytes,
    db: &Db,
) -> ApiResult<Validated> {
    let input = match body::parse(req, payload)? {
        Value::Object(map) => map,
        other => {
            return Err(ApiError::ViewErrors(FieldErrors::single(
                "non_field_errors",
                crate::drf::ErrorItem::invalid(format!(
                    "Invalid data. Expected a dictionary, but got {}.",
                    fields::py_type_name(&other)
                )),
            )))
        }
    };
    fields::validate(fields_, &input, Mode::Create, db).map_err(|e| match e {
        ApiError::Validation(errors) => ApiError::ViewErrors(errors),
        other => other,
    })
}

fn load(db: &Db, id: &str) -> ApiResult<Finding> {
    let id = pk(id, MODEL)?;
    db.findings
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(MODEL))
}

/// A non-empty `note` becomes a note dated `date` (`_create_note_if_provided`).
fn note_if_provided(db: &mut Db, f: &mut Finding, v: &Validated, date: clock::Timestamp) {
    if let Some(entry) = v.str_of("note").filter(|e| !e.is_empty()) {
        let entry = entry.to_string();
        db.add_note(f, &entry, false, Some(date), false);
    }
}

/// `POST /findings/{id}/close/` -> `finding_helper.close_finding` (helper.py:1337-1418,
/// LIVE 57-58). Always `mitigated = now`, `mitigated_by = user` (not editable), inactive,
/// review cleared, optional note, any risk acceptance removed; fires `finding_closed`.
async fn close(
    _a: Authenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Bytes,
) -> ApiResult<HttpResponse> {
    let mut db = state.db();
    let mut f = load(&db, &id)?;
    let v = validate_action(CLOSE_FIELDS, &req, &payload, &db)?;
    if v.get("mitigated_by").is_some_and(|m| !m.is_null()) {
        return Err(ApiError::ViewErrors(FieldErrors::single(
            "mitigated_by",
            crate::drf::ErrorItem::invalid("Not allowed to set mitigated_by."),
        )));
    }
    // views.py reads `validated_data["is_mitigated"]` unguarded: a KeyError when it is missing
    let Some(is_mitigated) = v.bool_of("is_mitigated") else {
        return Err(ApiError::Internal);
    };

    let now = clock::now();
    let user = db.admin().id;
    let mut before = f.tracked();
    f.is_mitigated = is_mitigated;
    f.mitigated = Some(now);
    f.mitigated_by = Some(user);
    f.active = false;
    f.false_p = v.bool_of("false_p").unwrap_or(false);
    f.out_of_scope = v.bool_of("out_of_scope").unwrap_or(false);
    f.duplicate = v.bool_of("duplicate").unwrap_or(false);
    f.under_review = false;
    f.review_requested_by = None;
    f.last_reviewed = Some(now);
    f.last_reviewed_by = Some(user);
    note_if_provided(&mut db, &mut f, &v, now);
    risk_unaccept(&mut db, &mut f, &mut before, false);
    f.save(Some(&before), &db.save_context(f.test));
    f.reviewers.clear();

    let body = json!({
        "is_mitigated": f.is_mitigated,
        "mitigated": f.mitigated.as_ref().map(clock::format_datetime),
        "false_p": f.false_p,
        "out_of_scope": f.out_of_scope,
        "duplicate": f.duplicate,
        "mitigated_by": f.mitigated_by,
        "note_type": null,
    });
    let username = db.admin().username.clone();
    let event = state
        .webhooks
        .events()
        .finding_closed(f.id, &f.title, &username);
    db.findings.insert(f.id, f);
    drop(db);
    state.notify(event);
    Ok(ok(body))
}

/// `POST /findings/{id}/verify/` -> `finding_helper.verify_finding` (helper.py:1420-1442,
/// LIVE 60): verified, reviewed now, `last_status_update` bumped, optional note. No event.
async fn verify(
    _a: Authenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Bytes,
) -> ApiResult<HttpResponse> {
    let mut db = state.db();
    let mut f = load(&db, &id)?;
    let v = validate_action(VERIFY_FIELDS, &req, &payload, &db)?;
    let now = clock::now();
    let before = f.tracked();
    f.verified = true;
    f.last_reviewed = Some(now);
    f.last_reviewed_by = Some(db.admin().id);
    f.last_status_update = now;
    note_if_provided(&mut db, &mut f, &v, now);
    f.save(Some(&before), &db.save_context(f.test));
    let body = f.to_json(&db, View::Read, related_fields(&req));
    db.findings.insert(f.id, f);
    Ok(ok(body))
}

async fn get_tags(
    _a: Authenticated,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let db = state.db();
    let f = load(&db, &id)?;
    Ok(ok(json!({ "tags": tags::sorted(&f.tags) })))
}

/// Replaces the finding's tags with `new` (case kept, docs/defectdojo.md §2) and saves.
fn assign_tags(db: &mut Db, mut f: Finding, new: &[String]) -> ApiResult<Finding> {
    let assignment = db
        .finding_tags
        .assign(&f.tags, new, false)
        .map_err(|_| ApiError::Internal)?;
    let before = f.tracked();
    f.tags = assignment.tags;
    f.save(Some(&before), &db.save_context(f.test));
    db.finding_tags = assignment.table;
    db.findings.insert(f.id, f.clone());
    Ok(f)
}

/// `POST /findings/{id}/tags/`: appends the names not yet present (exact comparison) and
/// answers the whole list in that order (LIVE 66).
async fn add_tags(
    _a: Authenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Bytes,
) -> ApiResult<HttpResponse> {
    let mut db = state.db();
    let f = load(&db, &id)?;
    let v = validate_action(TAG_FIELDS, &req, &payload, &db)?;
    let mut all = tags::sorted(&f.tags);
    for tag in v.strings_of("tags").unwrap_or_default() {
        if !all.contains(&tag) {
            all.push(tag);
        }
    }
    let f = assign_tags(&mut db, f, &all)?;
    Ok(ok(json!({ "tags": f.tags })))
}

/// `PUT|PATCH /findings/{id}/remove_tags/` -> 204 (LIVE 67).
async fn remove_tags(
    _a: Authenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Bytes,
) -> ApiResult<HttpResponse> {
    let mut db = state.db();
    let f = load(&db, &id)?;
    let v = validate_action(TAG_FIELDS, &req, &payload, &db)?;
    let remove = v.strings_of("tags").unwrap_or_default();
    let error = |msg: String| ApiError::body(StatusCode::BAD_REQUEST, json!({ "error": msg }));
    if remove.is_empty() {
        return Err(error("Empty Tag List Not Allowed".into()));
    }
    let mut all = tags::sorted(&f.tags);
    for tag in &remove {
        let Some(pos) = all.iter().position(|t| t == tag) else {
            return Err(error(format!(
                "'{tag}' is not a valid tag in list '{}'",
                py_str_list(&all)
            )));
        };
        all.remove(pos);
    }
    assign_tags(&mut db, f, &all)?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /findings/{id}/notes/`: `{finding_id, notes}` newest first (LIVE 63).
async fn get_notes(
    _a: Authenticated,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let db = state.db();
    let f = load(&db, &id)?;
    Ok(ok(json!({
        "finding_id": f.id,
        "notes": db.finding_notes_desc(&f),
    })))
}

/// `POST /findings/{id}/notes/` (views.py:414-470, LIVE 61-62): the note gets a history
/// entry, the finding is saved with `update_fields=[last_reviewed, last_reviewed_by,
/// updated]` (no status rules), and the 201 body has no note id.
async fn add_note(
    _a: Authenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Bytes,
) -> ApiResult<HttpResponse> {
    let mut db = state.db();
    let mut f = load(&db, &id)?;
    let v = validate_action(NOTE_FIELDS, &req, &payload, &db)?;
    let entry = v.str_of("entry").unwrap_or_default().to_string();
    let private = v.bool_of("private").unwrap_or(false);
    let note_id = db.add_note(&mut f, &entry, private, None, true);
    let date = db.notes.get(&note_id).map(|n| n.date);
    f.last_reviewed = date;
    f.last_reviewed_by = Some(db.admin().id);
    f.updated = clock::now();
    let author = db.admin().stub();
    db.findings.insert(f.id, f);
    let mut body = Map::new();
    body.insert("author".into(), author);
    body.insert("editor".into(), Value::Null);
    body.insert("entry".into(), json!(entry));
    body.insert("private".into(), json!(private));
    body.insert("edit_time".into(), Value::Null);
    Ok(created(Value::Object(body)))
}
