//! `ApiFindingFilter` (dojo/finding/api/filters.py; docs/defectdojo.md §2, §3). Parameters that are not
//! filters are ignored, so `updated__gte` & co. return everything (LIVE 83, 85-87). A
//! parameter repeated keeps its last value (LIVE 82).

use chrono::{Duration, NaiveTime, Timelike};
use serde_json::Value;

use super::common::{self, DateRange, FilterErrors};
use super::ordering::{self, OrderBy};
use crate::clock::Timestamp;
use crate::db::Db;
use crate::drf::query::Query;
use crate::drf::{ApiError, ApiResult};
use crate::model::finding::Finding;
use crate::model::record::Record;
use crate::tags;

type Pred = Box<dyn Fn(&Finding, &Db) -> bool>;

/// A parsed `GET /findings/` query: predicates plus ordering.
pub struct FindingQuery {
    preds: Vec<Pred>,
    order: Vec<OrderBy>,
}

fn bool_field(f: &Finding, name: &str) -> Option<bool> {
    Some(match name {
        "active" => f.active,
        "duplicate" => f.duplicate,
        "dynamic_finding" => f.dynamic_finding,
        "false_p" => f.false_p,
        "is_mitigated" => f.is_mitigated,
        "out_of_scope" => f.out_of_scope,
        "static_finding" => f.static_finding,
        "under_defect_review" => f.under_defect_review,
        "under_review" => f.under_review,
        "verified" => f.verified,
        "risk_accepted" => f.risk_accepted,
        other => return f.extra.get(other).and_then(Value::as_bool),
    })
}

fn text_field<'f>(f: &'f Finding, name: &str) -> Option<&'f str> {
    match name {
        "title" => Some(&f.title),
        "description" => Some(&f.description),
        "hash_code" => f.hash_code.as_deref(),
        "file_path" => f.file_path.as_deref(),
        "unique_id_from_tool" => f.unique_id_from_tool.as_deref(),
        "vuln_id_from_tool" => f.vuln_id_from_tool.as_deref(),
        other => f.extra.get(other).and_then(Value::as_str),
    }
}

fn ids_field(f: &Finding, name: &str, db: &Db) -> Vec<u64> {
    let one = |v: Option<u64>| v.into_iter().collect::<Vec<_>>();
    let int = |name: &str| {
        one(f
            .extra
            .get(name)
            .and_then(Value::as_i64)
            .and_then(|i| u64::try_from(i).ok()))
    };
    match name {
        "id" => vec![f.id],
        "cwe" => one(f.cwe.and_then(|c| u64::try_from(c).ok())),
        "found_by" => f.found_by.clone(),
        "reviewers" => f.reviewers.clone(),
        "reporter" => vec![f.reporter],
        "mitigated_by" => one(f.mitigated_by),
        "last_reviewed_by" => one(f.last_reviewed_by),
        "review_requested_by" => one(f.review_requested_by),
        "defect_review_requested_by" => one(f.defect_review_requested_by),
        "test__engagement" => one(db.engagement_id_of_test(f.test)),
        "test__engagement__product" => one(db.product_id_of_test(f.test)),
        "test__engagement__product__prod_type" => {
            one(db.product_of_test(f.test).and_then(|p| p.u64("prod_type")))
        }
        "test__test_type" => one(db.tests.get(&f.test).and_then(|t| t.u64("test_type"))),
        other => int(other),
    }
}

fn record_tags(r: Option<&Record>) -> Vec<String> {
    r.and_then(|r| r.get("tags").as_array())
        .map(|tags| {
            tags.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The tag names of the object a `*tags*` filter looks at.
fn tags_of(f: &Finding, prefix: &str, db: &Db) -> Vec<String> {
    let engagement = db
        .engagement_id_of_test(f.test)
        .and_then(|id| db.engagements.get(&id));
    match prefix {
        "" => f.tags.clone(),
        "test__" => record_tags(db.tests.get(&f.test)),
        "test__engagement__" => record_tags(engagement),
        _ => record_tags(db.product_of_test(f.test)),
    }
}

const BOOL_FILTERS: &[&str] = &[
    "active",
    "duplicate",
    "dynamic_finding",
    "false_p",
    "is_mitigated",
    "out_of_scope",
    "static_finding",
    "under_defect_review",
    "under_review",
    "verified",
    "fix_available",
    "risk_accepted",
    "known_exploited",
    "ransomware_used",
];

const ICONTAINS_FILTERS: &[&str] = &[
    "component_version",
    "component_name",
    "description",
    "file_path",
    "hash_code",
    "impact",
    "mitigation",
    "param",
    "payload",
    "references",
    "severity_justification",
    "steps_to_reproduce",
    "unique_id_from_tool",
    "title",
];

const NUMBER_IN_FILTERS: &[&str] = &[
    "cwe",
    "defect_review_requested_by",
    "found_by",
    "id",
    "last_reviewed_by",
    "mitigated_by",
    "nb_occurences",
    "reporter",
    "scanner_confidence",
    "review_requested_by",
    "reviewers",
    "sast_source_line",
    "sonarqube_issue",
    "test__test_type",
    "test__engagement",
    "test__engagement__product",
    "test__engagement__product__prod_type",
];

const TAG_PREFIXES: &[&str] = &[
    "",
    "test__",
    "test__engagement__",
    "test__engagement__product__",
];

impl FindingQuery {
    pub fn parse(query: &Query, db: &Db) -> ApiResult<Self> {
        let mut preds: Vec<Pred> = Vec::new();
        let mut errors = FilterErrors::default();
        let get = |name: &str| query.get_nonempty(name).map(str::to_string);

        for name in BOOL_FILTERS {
            if let Some(b) = get(name).as_deref().and_then(common::boolean) {
                preds.push(Box::new(move |f, _| bool_field(f, name) == Some(b)));
            }
        }
        if let Some(b) = get("has_jira").as_deref().and_then(common::boolean) {
            // no finding has a JIRA issue in the simulator
            preds.push(Box::new(move |_, _| !b));
        }
        if let Some(b) = get("mitigation_available")
            .as_deref()
            .and_then(common::boolean)
        {
            preds.push(Box::new(move |f, _| {
                let has = text_field(f, "mitigation").is_some_and(|m| !m.is_empty());
                has == b
            }));
        }

        for name in ICONTAINS_FILTERS {
            if let Some(raw) = get(name) {
                let want = raw.to_lowercase();
                preds.push(Box::new(move |f, _| {
                    text_field(f, name).is_some_and(|v| v.to_lowercase().contains(&want))
                }));
            }
        }
        if let Some(raw) = get("exact_title") {
            let want = raw.to_lowercase();
            preds.push(Box::new(move |f, _| f.title.to_lowercase() == want));
        }
        if let Some(raw) = get("vuln_id_from_tool") {
            preds.push(Box::new(move |f, _| {
                f.vuln_id_from_tool.as_deref() == Some(raw.as_str())
            }));
        }
        for name in ["severity", "numerical_severity"] {
            if let Some(raw) = get(name) {
                let values: Vec<String> = raw.split(',').map(str::to_string).collect();
                preds.push(Box::new(move |f, _| {
                    let v = if name == "severity" {
                        &f.severity
                    } else {
                        &f.numerical_severity
                    };
                    values.contains(v)
                }));
            }
        }

        // DateRangeFilter choices (LIVE 89, 90, 94)
        for name in [
            "created",
            "date",
            "last_reviewed",
            "mitigated",
            "jira_creation",
            "jira_change",
        ] {
            let Some(raw) = get(name) else { continue };
            match DateRange::parse(&raw) {
                Ok(range) => preds.push(Box::new(move |f, _| match name {
                    "created" => range.contains(&f.created),
                    "date" => range.contains_date(&f.date),
                    "last_reviewed" => f.last_reviewed.is_some_and(|t| range.contains(&t)),
                    "mitigated" => f.mitigated.is_some_and(|t| range.contains(&t)),
                    _ => false,
                })),
                Err(e) => errors.add(name, e),
            }
        }
        for (name, cmp) in [
            ("discovered_on", 0i8),
            ("discovered_before", -1),
            ("discovered_after", 1),
        ] {
            let Some(raw) = get(name) else { continue };
            match common::date(&raw) {
                Ok(d) => preds.push(Box::new(move |f, _| f.date.cmp(&d) as i8 == cmp)),
                Err(e) => errors.add(name, e),
            }
        }
        for name in ["mitigated_on", "mitigated_before", "mitigated_after"] {
            let Some(raw) = get(name) else { continue };
            match common::datetime(&raw) {
                Ok(ts) => preds.push(mitigated_pred(name, ts)),
                Err(e) => errors.add(name, e),
            }
        }

        for name in NUMBER_IN_FILTERS {
            let Some(raw) = get(name) else { continue };
            match common::number_in(&raw) {
                Ok(values) => preds.push(Box::new(move |f, db| {
                    ids_field(f, name, db)
                        .iter()
                        .any(|id| i64::try_from(*id).is_ok_and(|id| values.contains(&id)))
                })),
                Err(e) => errors.add(name, e),
            }
        }

        for prefix in TAG_PREFIXES {
            tag_filters(prefix, query, &mut preds);
        }
        if let Some(b) = get("has_tags").as_deref().and_then(common::boolean) {
            preds.push(Box::new(move |f, _| f.tags.is_empty() != b));
        }

        // auto-generated exact filters on model fields
        if let Some(raw) = get("test") {
            match common::model_choice(&raw, |id| db.tests.contains_key(&id)) {
                Ok(id) => preds.push(Box::new(move |f, _| f.test == id)),
                Err(e) => errors.add("test", e),
            }
        }
        if let Some(raw) = get("duplicate_finding") {
            match common::model_choice(&raw, |id| db.findings.contains_key(&id)) {
                Ok(id) => preds.push(Box::new(move |f, _| f.duplicate_finding == Some(id))),
                Err(e) => errors.add("duplicate_finding", e),
            }
        }
        for name in ["last_status_update", "updated"] {
            let Some(raw) = get(name) else { continue };
            match common::datetime(&raw) {
                // LIVE 88: exact match only, useless for polling
                Ok(ts) => preds.push(Box::new(move |f, _| {
                    let v = if name == "updated" {
                        f.updated
                    } else {
                        f.last_status_update
                    };
                    v == ts
                })),
                Err(e) => errors.add(name, e),
            }
        }

        let order = match get("o") {
            Some(raw) => match ordering::parse(&raw) {
                Ok(order) => order,
                Err(e) => {
                    errors.add("o", e);
                    Vec::new()
                }
            },
            None => Vec::new(),
        };

        errors.0.into_result().map_err(ApiError::Validation)?;
        Ok(Self { preds, order })
    }

    /// The matching findings, ordered (default: id ascending, as the recordings show).
    pub fn run<'d>(&self, db: &'d Db) -> Vec<&'d Finding> {
        let mut out: Vec<&Finding> = db
            .findings
            .values()
            .filter(|f| self.preds.iter().all(|p| p(f, db)))
            .collect();
        ordering::sort(&mut out, &self.order, db);
        out
    }
}

/// `mitigated_on` (a date-only value means the whole day), `mitigated_before` (`lt`) and
/// `mitigated_after` (`gt`; a date-only value means after that day, filters.py:226-230).
fn mitigated_pred(name: &'static str, ts: Timestamp) -> Pred {
    let midnight = ts.time() == NaiveTime::MIN;
    Box::new(move |f, _| {
        let Some(m) = f.mitigated else { return false };
        match name {
            "mitigated_on" if midnight => {
                m >= ts
                    && ts
                        .checked_add_signed(Duration::days(1))
                        .is_none_or(|end| m < end)
            }
            "mitigated_on" => m == ts,
            "mitigated_before" => m < ts,
            _ => {
                let bound = if ts.hour() == 0 && ts.minute() == 0 && ts.second() == 0 {
                    ts.with_hour(23)
                        .and_then(|t| t.with_minute(59))
                        .and_then(|t| t.with_second(59))
                        .unwrap_or(ts)
                } else {
                    ts
                };
                m > bound
            }
        }
    })
}

/// `tag` (icontains), `tags` (OR, exact, input lowercased), `tags__and` (AND, exact case),
/// `not_tag`, `not_tags` for one of the four tagged objects (docs/defectdojo.md §2, LIVE 74-81, 108-111).
fn tag_filters(prefix: &'static str, query: &Query, preds: &mut Vec<Pred>) {
    let get = |suffix: &str| {
        query
            .get_nonempty(&format!("{prefix}{suffix}"))
            .map(str::to_string)
    };
    if let Some(raw) = get("tag") {
        let want = raw.to_lowercase();
        preds.push(Box::new(move |f, db| {
            tags_of(f, prefix, db)
                .iter()
                .any(|t| t.to_lowercase().contains(&want))
        }));
    }
    if let Some(raw) = get("tags") {
        // The form field lowercases the input, the lookup is exact: a tag stored with capitals
        // can never match (LIVE 74, 108).
        let wanted = tags::parse_filter_value(&raw);
        preds.push(Box::new(move |f, db| {
            tags_of(f, prefix, db).iter().any(|t| wanted.contains(t))
        }));
    }
    if let Some(raw) = get("tags__and") {
        let wanted: Vec<String> = raw.split(',').map(str::to_string).collect();
        preds.push(Box::new(move |f, db| {
            let have = tags_of(f, prefix, db);
            wanted.iter().all(|w| have.contains(w))
        }));
    }
    if let Some(raw) = query
        .get_nonempty(&format!("not_{prefix}tag"))
        .map(str::to_string)
    {
        let want = raw.to_lowercase();
        preds.push(Box::new(move |f, db| {
            !tags_of(f, prefix, db)
                .iter()
                .any(|t| t.to_lowercase().contains(&want))
        }));
    }
    if let Some(raw) = query
        .get_nonempty(&format!("not_{prefix}tags"))
        .map(str::to_string)
    {
        let unwanted = tags::parse_filter_value(&raw);
        preds.push(Box::new(move |f, db| {
            !tags_of(f, prefix, db).iter().any(|t| unwanted.contains(t))
        }));
    }
}
