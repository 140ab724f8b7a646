//! `/api/v2/findings/` and `/api/v2/findings/{id}/`: list, retrieve, create, PUT, PATCH,
//! DELETE (FindingViewSet, dojo/finding/api/views.py; docs/defectdojo.md §1-§3).

use crate::latency::ListedFindings;
use actix_web::{http::header, web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::{created, ok, permission_parent, pk, request_url, resource};
use crate::auth::Authenticated;
use crate::db::{Db, Table};
use crate::drf::fields::{self, Mode, Validated, ValidatedExt};
use crate::drf::pagination;
use crate::drf::{body, ApiError, ApiResult, ErrorItem, FieldErrors};
use crate::filters::findings::FindingQuery;
use crate::model::finding::{self, with_assigned_tags, Finding, View, FIELDS, MODEL};
use crate::prefetch;
use crate::state::AppState;
use crate::status::{self, Proposed, Tracked};
use crate::tags::TagAssignment;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/findings/")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        resource("/findings/{id}/")
            .route(web::get().to(retrieve))
            .route(web::put().to(put))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    );
}

/// `?related_fields=true` (exactly "true", serializer.py `get_related_fields`).
pub(crate) fn related_fields(req: &HttpRequest) -> bool {
    super::query(req).get("related_fields") == Some("true")
}

async fn list(
    _a: Authenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let db = state.db();
    let url = request_url(&req);
    let found = FindingQuery::parse(&url.query, &db)?.run(&db);
    let related = related_fields(&req);
    let page = pagination::paginate(found, &url);
    let listed = ListedFindings(page.results.len());
    let prefetched = prefetch::collect(&page.results, &prefetch::params(&url.query), &db);
    let mut body = page.into_body(|f| f.to_json(&db, View::Read, related));
    body.insert("prefetch".into(), prefetched);
    let mut res = ok(Value::Object(body));
    res.extensions_mut().insert(listed);
    Ok(res)
}

async fn retrieve(
    _a: Authenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = pk(&id, MODEL)?;
    let db = state.db();
    let f = db
        .findings
        .get(&id)
        .ok_or_else(|| ApiError::not_found(MODEL))?;
    let mut body = f.to_json(&db, View::Read, related_fields(&req));
    let prefetched = prefetch::collect(&[f], &prefetch::params(&super::query(&req)), &db);
    if let Some(map) = body.as_object_mut() {
        map.insert("prefetch".into(), prefetched);
    }
    Ok(ok(body))
}

/// Both serializers refuse non-null `mitigated`/`mitigated_by` unless
/// `EDITABLE_MITIGATED_DATA` is on for a superuser, which it is not (helper.py:203-204,
/// LIVE 48). A null is accepted.
fn check_mitigated_not_edited(v: &Validated) -> ApiResult<()> {
    let mut errors = FieldErrors::default();
    let set = |name: &str| v.get(name).is_some_and(|x| !x.is_null());
    if set("mitigated") {
        errors.add(
            "mitigated",
            ErrorItem::invalid(status::MSG_MITIGATED_NOT_EDITABLE),
        );
    }
    if set("mitigated_by") {
        errors.add(
            "mitigated_by",
            ErrorItem::invalid(status::MSG_MITIGATED_BY_NOT_EDITABLE),
        );
    }
    errors.into_result().map_err(ApiError::Validation)
}

fn check_severity(v: &Validated) -> ApiResult<()> {
    match v.str_of("severity") {
        Some(s) if !finding::SEVERITIES.contains(&s) => Err(ApiError::Validation(
            FieldErrors::single("severity", ErrorItem::invalid(finding::severity_error())),
        )),
        _ => Ok(()),
    }
}

/// Field validation plus `validate_severity`, reported together as DRF does.
fn validate_fields(
    fields: &[fields::Field],
    input: &serde_json::Map<String, Value>,
    mode: Mode,
    db: &Db,
) -> ApiResult<Validated> {
    match fields::validate(fields, input, mode, db) {
        Ok(v) => {
            check_severity(&v)?;
            Ok(v)
        }
        Err(ApiError::Validation(mut errors)) => {
            // `validate_severity` runs as part of the field's validation, so its error sits with
            // the other field errors when the value passed the CharField checks.
            if let Some(s) = input.get("severity").and_then(Value::as_str) {
                let s = s.trim();
                let field_failed = errors.iter().any(|(name, _)| name == "severity");
                if !field_failed && !s.is_empty() && !finding::SEVERITIES.contains(&s) {
                    errors.add("severity", ErrorItem::invalid(finding::severity_error()));
                }
            }
            Err(ApiError::Validation(errors))
        }
        Err(other) => Err(other),
    }
}

/// Plans the create's tag assignment; a case-twin lookup is a 500 that writes nothing
/// (docs/defectdojo.md §7, §9).
fn plan_tags(db: &Db, old: &[String], new: &[String], lowercase: bool) -> ApiResult<TagAssignment> {
    db.finding_tags
        .assign(old, new, lowercase)
        .map_err(|_| ApiError::Internal)
}

/// `POST /findings/` with `FindingCreateSerializer` (LIVE 17-24, 70-73).
async fn create(
    _a: Authenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Bytes,
) -> ApiResult<HttpResponse> {
    let input = body::parse_object_or_500(&req, &payload)?;
    let mut db = state.db();
    let test = permission_parent(&input, "test", "Test", |id| db.tests.contains_key(&id))?;
    let v = validate_fields(&finding::create_fields(), &input, Mode::Create, &db)?;

    // FindingCreateSerializer.validate (serializer.py:766-810)
    check_mitigated_not_edited(&v)?;
    let flag = |name: &str| v.bool_of(name).unwrap_or(false);
    let proposed = Proposed {
        active: flag("active"),
        verified: flag("verified"),
        duplicate: flag("duplicate"),
        false_p: flag("false_p"),
        risk_accepted: flag("risk_accepted"),
    };
    status::check_rules(
        proposed,
        proposed.risk_accepted,
        db.simple_risk_acceptance(test),
    )
    .map_err(ApiError::non_field)?;

    let requested_tags = v.strings_of("tags").unwrap_or_default();
    let assignment = plan_tags(&db, &[], &requested_tags, true)?;

    let reporter = v.u64_of("reporter").unwrap_or(db.admin().id);
    let mut f = Finding::new(test, reporter);
    f.apply(&v);
    f.tags = assignment.tags.clone();
    f.id = db.next_id(Table::Finding);
    let ctx = db.save_context(test);
    f.save(None, &ctx);
    // `found_by.add(test.test_type)` on the first save, then `found_by.set(...)` if non-empty
    f.found_by = match v.ids_of("found_by") {
        Some(ids) if !ids.is_empty() => ids,
        _ => db
            .tests
            .get(&test)
            .and_then(|t| t.u64("test_type"))
            .into_iter()
            .collect(),
    };
    db.finding_tags = assignment.table;

    let body = with_assigned_tags(f.to_json(&db, View::Create, false), &assignment.tags);
    let reporter_name = db
        .users
        .get(&f.reporter)
        .map(|u| u.username.clone())
        .unwrap_or_default();
    let event = state
        .webhooks
        .events()
        .finding_added(f.id, &f.title, &reporter_name);
    db.findings.insert(f.id, f);
    drop(db);
    state.notify(event);
    // DRF's get_success_headers uses the serialized `url` field, which is null (LIVE 19)
    let mut res = created(body);
    res.headers_mut()
        .insert(header::LOCATION, header::HeaderValue::from_static("None"));
    Ok(res)
}

/// `ra_helper.simple_risk_accept` (risk_acceptance/helper.py:365-389): saves, then adds the
/// "... has risk accepted this finding" note. No Risk_Acceptance row is created.
fn simple_risk_accept(db: &mut Db, f: &mut Finding, before: &mut Tracked) {
    f.risk_accepted = true;
    f.active = false;
    f.save(Some(before), &db.save_context(f.test));
    *before = f.tracked();
    let entry = format!(
        "{} ({}) has risk accepted this finding",
        db.admin().full_name(),
        db.admin().id
    );
    db.add_note(f, &entry, false, None, false);
}

/// `ra_helper.risk_unaccept` (helper.py:391-420): reactivates unless mitigated, false positive
/// or out of scope, optionally saves, adds the "... removed a risk exception" note.
pub(crate) fn risk_unaccept(
    db: &mut Db,
    f: &mut Finding,
    before: &mut Tracked,
    perform_save: bool,
) {
    if !f.risk_accepted {
        return;
    }
    if f.mitigated.is_none() && !f.false_p && !f.out_of_scope {
        f.active = true;
    }
    f.risk_accepted = false;
    if perform_save {
        f.save(Some(before), &db.save_context(f.test));
        *before = f.tracked();
    }
    let entry = format!(
        "{} ({}) removed a risk exception from this finding",
        db.admin().full_name(),
        db.admin().id
    );
    db.add_note(f, &entry, false, None, false);
}

/// PUT/PATCH with `FindingSerializer` (serializer.py:505-629; LIVE 28-53, 68, 84, 106, 110).
async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: String,
    payload: web::Bytes,
    mode: Mode,
) -> ApiResult<HttpResponse> {
    match save_then_tag(&state, &req, id, &payload, mode)? {
        Updated::Answered(response) => Ok(response),
        Updated::TagStepPending { id, tags, step } => {
            // Between the two steps a reader sees the saved finding with no tags (recorded:
            // tests/fixtures/recorded/torn-tags/03-list-torn.json).
            tokio::time::sleep(step).await;
            link_tags(&state, &req, id, tags)
        }
    }
}

/// What [`save_then_tag`] did.
enum Updated {
    Answered(HttpResponse),
    /// The finding is saved and shown without tags; `tags` are linked after `step`
    /// (`/__sim/tag-step`).
    TagStepPending {
        id: u64,
        tags: Vec<String>,
        step: std::time::Duration,
    },
}

/// The second step of a PUT/PATCH with `tags`, on the finding as it is now (another save may
/// have come in between).
fn link_tags(
    state: &AppState,
    req: &HttpRequest,
    id: u64,
    tags: Vec<String>,
) -> ApiResult<HttpResponse> {
    let mut db = state.db();
    let mut f = db
        .findings
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(MODEL))?;
    f.tags = tags.clone();
    let body = with_assigned_tags(f.to_json(&db, View::Update, related_fields(req)), &tags);
    db.findings.insert(id, f);
    Ok(ok(body))
}

fn save_then_tag(
    state: &AppState,
    req: &HttpRequest,
    id: String,
    payload: &web::Bytes,
    mode: Mode,
) -> ApiResult<Updated> {
    let id = pk(&id, MODEL)?;
    let input = body::parse_object(req, payload)?;
    let mut db = state.db();
    let stored = db
        .findings
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(MODEL))?;
    let v = validate_fields(FIELDS, &input, mode, &db)?;

    // FindingSerializer.validate: on PATCH missing flags come from the instance (LIVE 29); on
    // PUT from the serializer defaults.
    check_mitigated_not_edited(&v)?;
    let flag = |name: &str, current: bool, default: bool| {
        v.bool_of(name).unwrap_or(if mode == Mode::Patch {
            current
        } else {
            default
        })
    };
    let proposed = Proposed {
        active: flag("active", stored.active, true),
        verified: flag("verified", stored.verified, false),
        duplicate: flag("duplicate", stored.duplicate, false),
        false_p: flag("false_p", stored.false_p, false),
        risk_accepted: flag("risk_accepted", stored.risk_accepted, false),
    };
    let simple_ra = db.simple_risk_acceptance(stored.test);
    status::check_rules(
        proposed,
        proposed.risk_accepted && !stored.risk_accepted,
        simple_ra,
    )
    .map_err(ApiError::non_field)?;

    let mut f = stored.clone();
    let mut before = stored.tracked();

    // process_risk_acceptance, called from validate() (serializer.py:491-503)
    match v.bool_of("risk_accepted") {
        Some(true) if !f.risk_accepted && simple_ra && !v.bool_of("active").unwrap_or(false) => {
            simple_risk_accept(&mut db, &mut f, &mut before)
        }
        Some(false) if f.risk_accepted => risk_unaccept(&mut db, &mut f, &mut before, true),
        _ => {}
    }

    // update(): a non-empty found_by replaces the list, an empty one clears it
    // (serializer.py:536-544); then the plain fields and a single save
    if let Some(ids) = v.ids_of("found_by") {
        f.found_by = ids;
    }
    f.apply(&v);
    f.save(Some(&before), &db.save_context(f.test));

    // ModelSerializer.update: the save above is committed before `tags.set(...)` runs, and
    // nothing wraps the two in a transaction. A case-twin lookup then answers 500 with the
    // finding saved and its tags gone (docs/defectdojo.md §9).
    let assigned = match v.strings_of("tags") {
        None => None,
        Some(new) => match db.finding_tags.set(&f.tags, &new) {
            Ok(a) => {
                db.finding_tags = a.table;
                let step = state.knobs().tag_step;
                if !step.is_zero() {
                    f.tags = Vec::new();
                    db.findings.insert(id, f);
                    return Ok(Updated::TagStepPending {
                        id,
                        tags: a.tags,
                        step,
                    });
                }
                f.tags = a.tags.clone();
                Some(a.tags)
            }
            Err(partial) => {
                tracing::debug!(tag = %partial.ambiguous.0, "case-twin tag rows: partial write");
                db.finding_tags = partial.table;
                f.tags = Vec::new();
                db.findings.insert(id, f);
                return Err(ApiError::Internal);
            }
        },
    };
    let mut body = f.to_json(&db, View::Update, related_fields(req));
    if let Some(tags) = assigned {
        body = with_assigned_tags(body, &tags);
    }
    db.findings.insert(id, f);
    Ok(Updated::Answered(ok(body)))
}

async fn patch(
    _a: Authenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Bytes,
) -> ApiResult<HttpResponse> {
    update(state, req, id.into_inner(), payload, Mode::Patch).await
}

async fn put(
    _a: Authenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Bytes,
) -> ApiResult<HttpResponse> {
    update(state, req, id.into_inner(), payload, Mode::Put).await
}

/// `DELETE /findings/{id}/` -> 204. No notification for API deletes (docs/defectdojo.md §6, trigger-A9).
async fn delete(
    _a: Authenticated,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = pk(&id, MODEL)?;
    let mut db = state.db();
    let f = db
        .findings
        .remove(&id)
        .ok_or_else(|| ApiError::not_found(MODEL))?;
    db.finding_tags.release_all(&f.tags);
    Ok(HttpResponse::NoContent().finish())
}
