//! `GET /api/wstg/dashboard`: the original design's dashboard (`status`,
//! `statistics` with `by_status`, `by_direction` and `recent_syncs`,
//! `timestamp`), counted from the store, plus progress by category, sync
//! activity per minute over the last hour, items needing attention, the
//! dead-letter count and whether DefectDojo is reachable.
//!
//! The dashboard is per project (`?project=`, else the default project);
//! the queue figures (`status.queue`, `dlq_size`) are the whole bridge's.
//!
//! DefectDojo reachability is judged without calling DefectDojo (wstg-ingest
//! never does, and a page refreshing every few seconds must not add load
//! there), from evidence the other processes leave, in this order:
//! 1. the poller's heartbeat `<prefix>:poller:heartbeat` in Redis, when it is
//!    fresh (written after each poll; its value may say the poll failed);
//! 2. a successful sync, either way, in the audit trail within the last
//!    five minutes → reachable;
//! 3. retries waiting in the delayed set and no success in five minutes →
//!    unreachable (the worker backs off on DefectDojo errors);
//! 4. otherwise unknown (`reachable: null`): nothing has talked to DefectDojo
//!    lately, which on a quiet bridge without a poller is normal.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Duration, DurationRound, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use wstg_domain::Catalogue;
use wstg_store::{AuditEntry, Direction, ItemRecord, SyncState};

use crate::auth::Principal;
use crate::errors::ApiError;
use crate::routes::status::status_body;
use crate::state::AppState;

/// Audit rows listed as `recent_syncs`.
pub const RECENT_SYNCS: u32 = 50;
/// Audit rows read to draw the activity chart (the newest ones).
pub const ACTIVITY_ROWS: u32 = 2_000;
/// Minutes in the activity chart.
pub const ACTIVITY_MINUTES: i64 = 60;
/// A heartbeat or a successful sync younger than this is evidence.
const FRESH_SECS: i64 = 300;
/// A poller heartbeat older than this is stale.
const HEARTBEAT_FRESH_SECS: i64 = 120;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// The project; absent means the default project.
    project: Option<String>,
}

/// The dashboard's figures for one project.
#[utoipa::path(get, path = "/api/wstg/dashboard", tag = "tracker", params(DashboardQuery),
    responses((status = 200, description = "The dashboard", body = crate::api_schemas::Dashboard)),
    security(("bearer" = [])))]
pub async fn get_dashboard(
    principal: Principal,
    query: web::Query<DashboardQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let project = crate::project_access::parse_project(query.project.as_deref(), &state)?;
    let project = crate::project_access::readable(&state, &principal, project).await?;
    let status = status_body(&state, Some(&project)).await?;
    let unavailable = |e: wstg_store::StoreError| {
        tracing::warn!(error = %e, "store unavailable");
        ApiError::Unavailable("store")
    };
    let (items, audit) = tokio::try_join!(
        async { state.store.items(&project).await.map_err(unavailable) },
        async {
            state
                .store
                .recent_audit(Some(&project), ACTIVITY_ROWS)
                .await
                .map_err(unavailable)
        },
    )?;
    let catalogue = crate::project_catalogue::catalogue_of(&state, &project).await?;
    let now = Utc::now();
    let heartbeat = read_heartbeat(&state).await;
    let delayed = status["queue"]["delayed"].as_u64();
    let dojo = reachability(heartbeat.as_ref(), &audit, delayed, now);

    let recent: Vec<&AuditEntry> = audit.iter().take(RECENT_SYNCS as usize).collect();
    let (activity, truncated) = activity(&audit, now);
    let mut statistics = json!({
        "by_status": status["by_status"].clone(),
        "by_direction": status["by_direction"].clone(),
        "by_category": by_category(catalogue, &items),
        "recent_syncs": recent,
        "activity": activity,
        "attention": attention(catalogue, &items),
        "by_assignee": crate::routes::assignment::by_assignee(&items),
    });
    if truncated {
        statistics["activity_truncated"] = json!(true);
    }
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "project": project.as_str(),
            "dlq_size": status["queue"]["dlq"].clone(),
            "status": status,
            "statistics": statistics,
            "dojo": dojo,
            "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        })))
}

/// Per catalogue category: how many items, by tracker status (`unset` for
/// never set) and by sync state, and the share complete (done or not
/// applicable). `position` is the category's place in the catalogue.
fn by_category(catalogue: &Catalogue, items: &[ItemRecord]) -> Map<String, Value> {
    let by_id: BTreeMap<&str, &ItemRecord> =
        items.iter().map(|i| (i.wstg_id.as_str(), i)).collect();
    let mut out = Map::new();
    for entry in catalogue.entries() {
        let position = out.len();
        let cat = out.entry(entry.category_id.clone()).or_insert_with(|| {
            json!({
                "name": entry.category_name,
                "position": position,
                "total": 0, "unset": 0,
                "not_started": 0, "in_progress": 0, "blocked": 0, "done": 0, "not_applicable": 0,
                "synced": 0, "pending": 0, "conflict": 0, "failed": 0,
                "complete": 0,
            })
        });
        let bump = |cat: &mut Value, k: &str| {
            cat[k] = json!(cat[k].as_u64().unwrap_or(0) + 1);
        };
        bump(cat, "total");
        let record = by_id.get(entry.id.as_str());
        match record.and_then(|r| r.tracker.as_ref()) {
            Some(t) => {
                bump(cat, t.status.as_str());
                if matches!(
                    t.status,
                    wstg_domain::Status::Done | wstg_domain::Status::NotApplicable
                ) {
                    bump(cat, "complete");
                }
            }
            None => bump(cat, "unset"),
        }
        if let Some(r) = record {
            bump(cat, r.sync_state.as_str());
        }
    }
    out
}

/// Items in conflict or failed, with what the store says about them.
fn attention(catalogue: &Catalogue, items: &[ItemRecord]) -> Vec<Value> {
    items
        .iter()
        .filter(|i| matches!(i.sync_state, SyncState::Conflict | SyncState::Failed))
        .map(|i| {
            let title = catalogue
                .entry(&i.wstg_id)
                .map(|e| e.title.as_str())
                .unwrap_or("");
            json!({
                "wstg_id": i.wstg_id,
                "title": title,
                "sync_state": i.sync_state,
                "last_error": i.last_error,
                "updated_at": i.updated_at,
                "finding_id": i.finding_id,
            })
        })
        .collect()
}

/// Syncs per minute over the last hour, oldest first, every minute present.
/// The second value says the rows read did not reach back an hour.
fn activity(audit: &[AuditEntry], now: DateTime<Utc>) -> (Vec<Value>, bool) {
    let this_minute = now.duration_trunc(Duration::minutes(1)).unwrap_or(now);
    let first = this_minute - Duration::minutes(ACTIVITY_MINUTES - 1);
    let mut buckets = vec![(0u64, 0u64, 0u64); ACTIVITY_MINUTES as usize];
    for e in audit {
        if e.timestamp < first {
            continue;
        }
        let i = (e.timestamp - first).num_minutes();
        let Some(b) = usize::try_from(i).ok().and_then(|i| buckets.get_mut(i)) else {
            continue;
        };
        if !e.success {
            b.2 += 1;
        } else if e.direction == Direction::TrackerToDojo {
            b.0 += 1;
        } else {
            b.1 += 1;
        }
    }
    let truncated =
        audit.len() >= ACTIVITY_ROWS as usize && audit.last().is_some_and(|e| e.timestamp >= first);
    let rows = buckets
        .into_iter()
        .enumerate()
        .map(|(i, (to_dd, to_tracker, failed))| {
            let minute = first + Duration::minutes(i as i64);
            json!({
                "minute": minute.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "tracker_to_dd": to_dd,
                "dd_to_tracker": to_tracker,
                "failed": failed,
            })
        })
        .collect();
    (rows, truncated)
}

/// What the poller's heartbeat says.
#[derive(Debug, Clone, PartialEq)]
pub struct Heartbeat {
    pub at: DateTime<Utc>,
    /// Whether the poller's last pass reached DefectDojo; `None` when it
    /// polled no project (none linked yet, or another replica holds them).
    pub ok: Option<bool>,
    pub error: Option<String>,
    /// The poller's interval, when it says: a beat older than three
    /// intervals is stale.
    pub interval_secs: Option<i64>,
}

async fn read_heartbeat(state: &AppState) -> Option<Heartbeat> {
    let key = state.queue.keys().poller_heartbeat.clone();
    let mut conn = state.queue.connection();
    let raw: Option<String> = match redis::cmd("GET").arg(&key).query_async(&mut conn).await {
        Ok(v) => v,
        // A key of another type (a hash) is read as one.
        Err(_) => {
            let map: BTreeMap<String, String> = redis::cmd("HGETALL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .ok()?;
            if map.is_empty() {
                return None;
            }
            Some(serde_json::to_string(&map).ok()?)
        }
    };
    parse_heartbeat(&raw?)
}

/// Reads a heartbeat written as RFC 3339 text, unix seconds or
/// milliseconds, or a JSON object with the time under `at`, `ts`, `time`,
/// `timestamp` or `last_poll` and optionally `dojo_reachable`/`ok`/
/// `reachable` (a boolean), `last_error`/`error` and `interval_secs`
/// (wstg-poller writes `{holder, at, dojo_reachable, last_error,
/// interval_secs}` after each pass, with a TTL of three intervals).
pub fn parse_heartbeat(raw: &str) -> Option<Heartbeat> {
    let raw = raw.trim();
    if let Some(at) = parse_time(&Value::String(raw.to_owned())) {
        return Some(Heartbeat {
            at,
            ok: None,
            error: None,
            interval_secs: None,
        });
    }
    let obj: Map<String, Value> = serde_json::from_str(raw).ok()?;
    let at = ["at", "ts", "time", "timestamp", "last_poll", "last_poll_at"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(parse_time))?;
    let ok = ["dojo_reachable", "ok", "dojo_ok", "reachable"]
        .iter()
        .find_map(|k| match obj.get(*k) {
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) if s == "true" || s == "false" => Some(s == "true"),
            _ => None,
        });
    let error = ["last_error", "error"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let interval_secs = obj.get("interval_secs").and_then(Value::as_i64);
    Some(Heartbeat {
        at,
        ok,
        error,
        interval_secs,
    })
}

fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    let from_number = |n: i64| {
        // Seconds until the year 5138; milliseconds after.
        if n < 100_000_000_000 {
            Utc.timestamp_opt(n, 0).single()
        } else {
            Utc.timestamp_millis_opt(n).single()
        }
    };
    match v {
        Value::String(s) => {
            let s = s.trim();
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .ok()
                .or_else(|| s.parse::<i64>().ok().and_then(from_number))
                .or_else(|| {
                    s.parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .and_then(|f| from_number(f as i64))
                })
        }
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .and_then(from_number),
        _ => None,
    }
}

/// Whether DefectDojo is reachable, and on what evidence (module docs).
pub fn reachability(
    heartbeat: Option<&Heartbeat>,
    audit: &[AuditEntry],
    delayed: Option<u64>,
    now: DateTime<Utc>,
) -> Value {
    let last_success = audit.iter().find(|e| e.success).map(|e| e.timestamp);
    let last_failure = audit.iter().find(|e| !e.success);
    let base = |reachable: Option<bool>, basis: &str, detail: String| {
        json!({
            "reachable": reachable,
            "basis": basis,
            "detail": detail,
            "last_success_at": last_success,
            "poller_heartbeat_at": heartbeat.map(|h| h.at),
            "last_error": last_failure.and_then(|e| e.error_message.clone()),
        })
    };
    if let Some(h) = heartbeat {
        let age = (now - h.at).num_seconds();
        let fresh = HEARTBEAT_FRESH_SECS.max(h.interval_secs.unwrap_or(0).saturating_mul(3));
        if age <= fresh {
            match h.ok {
                Some(false) => {
                    return base(
                        Some(false),
                        "poller_heartbeat",
                        format!(
                            "the poller's last poll ({age} s ago) failed{}",
                            h.error
                                .as_deref()
                                .map(|e| format!(": {e}"))
                                .unwrap_or_default()
                        ),
                    )
                }
                Some(true) => {
                    return base(
                        Some(true),
                        "poller_heartbeat",
                        format!("the poller read DefectDojo {age} s ago"),
                    )
                }
                // The poller is alive but polled no project: no evidence.
                None => {}
            }
        }
    }
    if let Some(t) = last_success {
        let age = (now - t).num_seconds();
        if age <= FRESH_SECS {
            return base(
                Some(true),
                "recent_sync",
                format!("a sync with DefectDojo succeeded {age} s ago"),
            );
        }
    }
    if delayed.unwrap_or(0) > 0 {
        return base(
            Some(false),
            "retries_waiting",
            format!(
                "{} change(s) wait for a retry and no sync succeeded in the last {} minutes",
                delayed.unwrap_or(0),
                FRESH_SECS / 60
            ),
        );
    }
    let stale = heartbeat.map(|h| {
        format!(
            "; the poller's heartbeat is {} s old",
            (now - h.at).num_seconds()
        )
    });
    base(
        None,
        "no_evidence",
        format!(
            "nothing talked to DefectDojo in the last {} minutes{}",
            FRESH_SECS / 60,
            stale.unwrap_or_default()
        ),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use wstg_domain::ProjectName;
    use wstg_domain::{Catalogue, CatalogueVersion};

    fn audit(at: DateTime<Utc>, direction: Direction, success: bool) -> AuditEntry {
        let id = Catalogue::get(CatalogueVersion::V4_2)
            .parse_id("WSTG-INFO-01")
            .unwrap();
        let mut e = AuditEntry::new(ProjectName::default_project(), id, direction);
        e.timestamp = at;
        e.success = success;
        if !success {
            e.error_message = Some("boom".into());
        }
        e
    }

    #[test]
    fn heartbeats_parse_in_the_usual_shapes() {
        let t = Utc.with_ymd_and_hms(2025, 12, 3, 17, 30, 0).unwrap();
        for raw in [
            "2025-12-03T17:30:00Z".to_owned(),
            t.timestamp().to_string(),
            t.timestamp_millis().to_string(),
            format!("{{\"at\": \"{}\", \"ok\": true}}", t.to_rfc3339()),
            format!("{{\"ts\": {}}}", t.timestamp_millis()),
        ] {
            assert_eq!(parse_heartbeat(&raw).unwrap().at, t, "{raw}");
        }
        let failed =
            parse_heartbeat(r#"{"at": 1764783000, "ok": false, "error": "timeout"}"#).unwrap();
        assert_eq!(failed.ok, Some(false));
        assert_eq!(failed.error.as_deref(), Some("timeout"));
        // What wstg-poller writes.
        let beat = parse_heartbeat(
            r#"{"holder":"h1","at":"2025-12-03T17:30:00Z","dojo_reachable":null,"last_error":null,"interval_secs":10}"#,
        )
        .unwrap();
        assert_eq!((beat.at, beat.ok, beat.interval_secs), (t, None, Some(10)));
        let down = parse_heartbeat(
            r#"{"at":"2025-12-03T17:30:00Z","dojo_reachable":false,"last_error":"connect refused","interval_secs":10}"#,
        )
        .unwrap();
        assert_eq!(down.ok, Some(false));
        assert_eq!(down.error.as_deref(), Some("connect refused"));
        assert!(parse_heartbeat("garbage").is_none());
    }

    #[test]
    fn reachability_follows_the_evidence_in_order() {
        let now = Utc::now();
        let fresh = Heartbeat {
            at: now - Duration::seconds(5),
            ok: Some(true),
            error: None,
            interval_secs: Some(10),
        };
        let idle = Heartbeat {
            ok: None,
            ..fresh.clone()
        };
        let failing = Heartbeat {
            ok: Some(false),
            ..fresh.clone()
        };
        let stale = Heartbeat {
            at: now - Duration::seconds(900),
            ..fresh.clone()
        };
        let ok_sync = [audit(
            now - Duration::seconds(30),
            Direction::TrackerToDojo,
            true,
        )];
        let old_sync = [audit(
            now - Duration::hours(2),
            Direction::TrackerToDojo,
            true,
        )];

        let r = |h: Option<&Heartbeat>, a: &[AuditEntry], d: u64| reachability(h, a, Some(d), now);
        assert_eq!(r(Some(&fresh), &[], 0)["reachable"], json!(true));
        assert_eq!(r(Some(&idle), &[], 0)["basis"], "no_evidence");
        assert_eq!(r(Some(&idle), &ok_sync, 0)["basis"], "recent_sync");
        assert_eq!(r(Some(&failing), &ok_sync, 0)["reachable"], json!(false));
        assert_eq!(r(Some(&stale), &ok_sync, 0)["basis"], "recent_sync");
        assert_eq!(r(None, &ok_sync, 3)["reachable"], json!(true));
        assert_eq!(r(None, &old_sync, 3)["reachable"], json!(false));
        assert_eq!(r(None, &old_sync, 0)["reachable"], Value::Null);
        assert_eq!(r(None, &[], 0)["basis"], "no_evidence");
    }

    #[test]
    fn activity_has_every_minute_of_the_hour() {
        let now = Utc::now();
        let rows = [
            audit(now, Direction::TrackerToDojo, true),
            audit(now, Direction::DojoToTracker, true),
            audit(now - Duration::minutes(10), Direction::TrackerToDojo, false),
            audit(now - Duration::hours(3), Direction::TrackerToDojo, true),
        ];
        let (a, truncated) = activity(&rows, now);
        assert!(!truncated);
        assert_eq!(a.len(), ACTIVITY_MINUTES as usize);
        let last = &a[a.len() - 1];
        assert_eq!(last["tracker_to_dd"], 1);
        assert_eq!(last["dd_to_tracker"], 1);
        assert_eq!(a[a.len() - 11]["failed"], 1);
        let total: u64 = a
            .iter()
            .map(|m| {
                m["tracker_to_dd"].as_u64().unwrap()
                    + m["dd_to_tracker"].as_u64().unwrap()
                    + m["failed"].as_u64().unwrap()
            })
            .sum();
        assert_eq!(total, 3);
    }
}
