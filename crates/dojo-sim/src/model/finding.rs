//! `Finding`: the row, its writable fields, `save()` and its representations
//! (dojo/finding/models.py, dojo/finding/api/serializer.py; docs/defectdojo.md §1).

use chrono::{Duration, NaiveDate};
use serde_json::{json, Map, Value};

use crate::clock::{self, Timestamp};
use crate::db::Db;
use crate::drf::fields::{Field, Kind, Target, Validated, ValidatedExt};
use crate::hash;
use crate::status::{self, Changed, Tracked};
use crate::tags;
use crate::titlecase::titlecase;

pub const MODEL: &str = "Finding";

/// `dojo.models.SEVERITIES`, quoted verbatim in the 400 (LIVE 20, 49).
pub const SEVERITIES: &[&str] = &["Info", "Low", "Medium", "High", "Critical"];

pub fn severity_error() -> String {
    "Severity must be one of the following: ['Info', 'Low', 'Medium', 'High', 'Critical']".into()
}

/// `Finding.get_numerical_severity`, recomputed on every save (models.py:584).
pub fn numerical_severity(severity: &str) -> &'static str {
    match severity {
        "Critical" => "S0",
        "High" => "S1",
        "Medium" => "S2",
        "Low" => "S3",
        "Info" => "S4",
        _ => "S5",
    }
}

const USER: Kind = Kind::Pk {
    target: Target::User,
    null: true,
};

/// The writable fields of `FindingSerializer`, in serializer order (declared fields, then
/// model fields): this order is the order of keys in a 400's `"message"`. Read-only fields
/// (`id`, `created`, `updated`, `last_status_update`, `hash_code`, `test`, `notes`, ...) are
/// not listed and are silently ignored on input (LIVE 50).
pub const FIELDS: &[Field] = &[
    Field::new("mitigated", Kind::DateTime { null: true }),
    Field::new("mitigated_by", USER),
    Field::new("push_to_jira", Kind::Bool),
    Field::required(
        "found_by",
        Kind::PkList {
            target: Target::TestType,
        },
    ),
    Field::new("vulnerability_ids", Kind::Json),
    Field::new("cwes", Kind::Json),
    Field::new(
        "reporter",
        Kind::Pk {
            target: Target::User,
            null: false,
        },
    ),
    Field::new(
        "endpoints",
        Kind::PkList {
            target: Target::Empty,
        },
    ),
    Field::required("title", Kind::chars(511, false)),
    Field::new("date", Kind::Date { null: false }),
    Field::new("sla_start_date", Kind::Date { null: true }),
    Field::new("sla_expiration_date", Kind::Date { null: true }),
    Field::new("cwe", Kind::Int { null: true }),
    Field::new("epss_score", Kind::Float { null: true }),
    Field::new("epss_percentile", Kind::Float { null: true }),
    Field::new("known_exploited", Kind::Bool),
    Field::new("ransomware_used", Kind::Bool),
    Field::new("kev_date", Kind::Date { null: true }),
    Field::new("cvssv3", Kind::chars(117, true)),
    Field::new("cvssv3_score", Kind::Float { null: true }),
    Field::new("cvssv4", Kind::chars(255, true)),
    Field::new("cvssv4_score", Kind::Float { null: true }),
    Field::new("url", Kind::text(true)),
    Field::required("severity", Kind::chars(200, false)),
    Field::required("description", Kind::text(false)),
    Field::new("mitigation", Kind::text(true)),
    Field::new("fix_available", Kind::NullBool),
    Field::new("fix_version", Kind::chars(100, true)),
    Field::new("impact", Kind::text(true)),
    Field::new("steps_to_reproduce", Kind::text(true)),
    Field::new("severity_justification", Kind::text(true)),
    Field::new("references", Kind::text(true)),
    Field::required_on_create("active", Kind::Bool),
    Field::required_on_create("verified", Kind::Bool),
    Field::new("false_p", Kind::Bool),
    Field::new("duplicate", Kind::Bool),
    Field::new("out_of_scope", Kind::Bool),
    Field::new("risk_accepted", Kind::Bool),
    Field::new("under_review", Kind::Bool),
    Field::new("under_defect_review", Kind::Bool),
    Field::new("is_mitigated", Kind::Bool),
    Field::new("thread_id", Kind::Int { null: false }),
    Field::required("numerical_severity", Kind::chars(4, false)),
    Field::new("last_reviewed", Kind::DateTime { null: true }),
    Field::new("param", Kind::text(true)),
    Field::new("payload", Kind::text(true)),
    Field::new("line", Kind::Int { null: true }),
    Field::new("file_path", Kind::chars(4000, true)),
    Field::new("component_name", Kind::chars(500, true)),
    Field::new("component_version", Kind::chars(100, true)),
    Field::new("static_finding", Kind::Bool),
    Field::new("dynamic_finding", Kind::Bool),
    Field::new("scanner_confidence", Kind::Int { null: true }),
    Field::new("unique_id_from_tool", Kind::chars(500, true)),
    Field::new("vuln_id_from_tool", Kind::chars(500, true)),
    Field::new("sast_source_object", Kind::chars(500, true)),
    Field::new("sast_sink_object", Kind::chars(500, true)),
    Field::new("sast_source_line", Kind::Int { null: true }),
    Field::new("sast_source_file_path", Kind::chars(4000, true)),
    Field::new("nb_occurences", Kind::Int { null: true }),
    Field::new("publish_date", Kind::Date { null: true }),
    Field::new("service", Kind::chars(200, true)),
    Field::new("planned_remediation_date", Kind::Date { null: true }),
    Field::new("planned_remediation_version", Kind::chars(99, true)),
    Field::new("effort_for_fixing", Kind::chars(99, true)),
    Field::new(
        "duplicate_finding",
        Kind::Pk {
            target: Target::Finding,
            null: true,
        },
    ),
    Field::new("review_requested_by", USER),
    Field::new("defect_review_requested_by", USER),
    Field::new("last_reviewed_by", USER),
    Field::new(
        "sonarqube_issue",
        Kind::Pk {
            target: Target::Empty,
            null: true,
        },
    ),
    Field::new(
        "reviewers",
        Kind::PkList {
            target: Target::User,
        },
    ),
    Field::new("tags", Kind::Tags),
];

/// `FindingCreateSerializer` adds the writable `test` FK (checked first by the permission
/// class, LIVE 17).
pub fn create_fields() -> Vec<Field> {
    let mut fields = vec![Field::required_on_create(
        "test",
        Kind::Pk {
            target: Target::Test,
            null: false,
        },
    )];
    fields.extend_from_slice(FIELDS);
    fields
}

/// Fields without behaviour in the simulator, stored as validated JSON and echoed back, with
/// the model defaults a new finding starts from.
fn passthrough_defaults() -> Map<String, Value> {
    [
        ("vulnerability_ids", json!([])),
        ("cwes", json!([])),
        ("endpoints", json!([])),
        ("epss_score", Value::Null),
        ("epss_percentile", Value::Null),
        ("known_exploited", json!(false)),
        ("ransomware_used", json!(false)),
        ("kev_date", Value::Null),
        ("cvssv3", Value::Null),
        ("cvssv3_score", Value::Null),
        ("cvssv4", Value::Null),
        ("cvssv4_score", Value::Null),
        ("url", Value::Null),
        ("mitigation", Value::Null),
        ("fix_available", Value::Null),
        ("fix_version", Value::Null),
        ("impact", Value::Null),
        ("steps_to_reproduce", Value::Null),
        ("severity_justification", Value::Null),
        ("references", Value::Null),
        ("thread_id", json!(0)),
        ("param", Value::Null),
        ("payload", Value::Null),
        ("component_name", Value::Null),
        ("component_version", Value::Null),
        ("scanner_confidence", Value::Null),
        ("sast_source_object", Value::Null),
        ("sast_sink_object", Value::Null),
        ("sast_source_line", Value::Null),
        ("sast_source_file_path", Value::Null),
        ("nb_occurences", Value::Null),
        ("publish_date", Value::Null),
        ("service", Value::Null),
        ("planned_remediation_date", Value::Null),
        ("planned_remediation_version", Value::Null),
        ("effort_for_fixing", Value::Null),
        ("sonarqube_issue", Value::Null),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[derive(Clone, Debug)]
pub struct Finding {
    pub id: u64,
    pub test: u64,
    pub title: String,
    pub severity: String,
    pub numerical_severity: String,
    pub description: String,
    pub date: NaiveDate,
    pub active: bool,
    pub verified: bool,
    pub false_p: bool,
    pub duplicate: bool,
    pub out_of_scope: bool,
    pub risk_accepted: bool,
    pub under_review: bool,
    pub under_defect_review: bool,
    pub is_mitigated: bool,
    pub mitigated: Option<Timestamp>,
    pub mitigated_by: Option<u64>,
    pub duplicate_finding: Option<u64>,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub last_status_update: Timestamp,
    pub last_reviewed: Option<Timestamp>,
    pub last_reviewed_by: Option<u64>,
    pub review_requested_by: Option<u64>,
    pub defect_review_requested_by: Option<u64>,
    pub reporter: u64,
    pub found_by: Vec<u64>,
    pub reviewers: Vec<u64>,
    /// Tag names (exact spelling as stored in the tag table).
    pub tags: Vec<String>,
    pub notes: Vec<u64>,
    pub hash_code: Option<String>,
    pub sla_start_date: Option<NaiveDate>,
    pub sla_expiration_date: Option<NaiveDate>,
    pub cwe: Option<i64>,
    pub line: Option<i64>,
    pub file_path: Option<String>,
    pub unique_id_from_tool: Option<String>,
    pub vuln_id_from_tool: Option<String>,
    pub static_finding: bool,
    pub dynamic_finding: bool,
    /// Everything in [`passthrough_defaults`].
    pub extra: Map<String, Value>,
}

/// Which serializer renders the finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// `FindingCreateSerializer` (POST response, LIVE 19).
    Create,
    /// `FindingSerializer` as used by retrieve, list and `/verify/` (has `push_to_jira`).
    Read,
    /// `FindingSerializer` after PUT/PATCH: `push_to_jira` was popped from validated data and
    /// is missing from the response (LIVE 28).
    Update,
}

impl Finding {
    /// An unsaved finding with the model defaults.
    pub fn new(test: u64, reporter: u64) -> Self {
        let now = clock::now();
        Self {
            id: 0,
            test,
            title: String::new(),
            severity: String::new(),
            numerical_severity: String::new(),
            description: String::new(),
            date: now.date_naive(),
            active: true,
            verified: false,
            false_p: false,
            duplicate: false,
            out_of_scope: false,
            risk_accepted: false,
            under_review: false,
            under_defect_review: false,
            is_mitigated: false,
            mitigated: None,
            mitigated_by: None,
            duplicate_finding: None,
            created: now,
            updated: now,
            last_status_update: now,
            last_reviewed: None,
            last_reviewed_by: None,
            review_requested_by: None,
            defect_review_requested_by: None,
            reporter,
            found_by: Vec::new(),
            reviewers: Vec::new(),
            tags: Vec::new(),
            notes: Vec::new(),
            hash_code: None,
            sla_start_date: None,
            sla_expiration_date: None,
            cwe: Some(0),
            line: None,
            file_path: None,
            unique_id_from_tool: None,
            vuln_id_from_tool: None,
            static_finding: false,
            dynamic_finding: true,
            extra: passthrough_defaults(),
        }
    }

    pub fn tracked(&self) -> Tracked {
        Tracked {
            active: self.active,
            verified: self.verified,
            false_p: self.false_p,
            is_mitigated: self.is_mitigated,
            mitigated: self.mitigated,
            mitigated_by: self.mitigated_by,
            out_of_scope: self.out_of_scope,
            risk_accepted: self.risk_accepted,
        }
    }

    /// `setattr(instance, field, value)` for every validated field except the relations the
    /// serializer handles itself (`found_by`, `tags`, `push_to_jira`).
    pub fn apply(&mut self, v: &Validated) {
        for (name, value) in v {
            match name.as_str() {
                "found_by" | "tags" | "push_to_jira" | "test" => {}
                "title" => self.title = value.as_str().unwrap_or_default().to_string(),
                "severity" => self.severity = value.as_str().unwrap_or_default().to_string(),
                "numerical_severity" => {
                    self.numerical_severity = value.as_str().unwrap_or_default().to_string()
                }
                "description" => self.description = value.as_str().unwrap_or_default().to_string(),
                "date" => {
                    if let Some(Some(d)) = v.date_of(name) {
                        self.date = d;
                    }
                }
                "active" => self.active = value.as_bool().unwrap_or(self.active),
                "verified" => self.verified = value.as_bool().unwrap_or(self.verified),
                "false_p" => self.false_p = value.as_bool().unwrap_or(self.false_p),
                "duplicate" => self.duplicate = value.as_bool().unwrap_or(self.duplicate),
                "out_of_scope" => self.out_of_scope = value.as_bool().unwrap_or(self.out_of_scope),
                "risk_accepted" => {
                    self.risk_accepted = value.as_bool().unwrap_or(self.risk_accepted)
                }
                "under_review" => self.under_review = value.as_bool().unwrap_or(self.under_review),
                "under_defect_review" => {
                    self.under_defect_review = value.as_bool().unwrap_or(self.under_defect_review)
                }
                "is_mitigated" => self.is_mitigated = value.as_bool().unwrap_or(self.is_mitigated),
                "static_finding" => {
                    self.static_finding = value.as_bool().unwrap_or(self.static_finding)
                }
                "dynamic_finding" => {
                    self.dynamic_finding = value.as_bool().unwrap_or(self.dynamic_finding)
                }
                "mitigated" => self.mitigated = v.datetime_of(name).flatten(),
                "mitigated_by" => self.mitigated_by = value.as_u64(),
                "duplicate_finding" => self.duplicate_finding = value.as_u64(),
                "last_reviewed" => self.last_reviewed = v.datetime_of(name).flatten(),
                "last_reviewed_by" => self.last_reviewed_by = value.as_u64(),
                "review_requested_by" => self.review_requested_by = value.as_u64(),
                "defect_review_requested_by" => self.defect_review_requested_by = value.as_u64(),
                "reporter" => self.reporter = value.as_u64().unwrap_or(self.reporter),
                "reviewers" => self.reviewers = v.ids_of(name).unwrap_or_default(),
                "sla_start_date" => self.sla_start_date = v.date_of(name).flatten(),
                "sla_expiration_date" => self.sla_expiration_date = v.date_of(name).flatten(),
                "cwe" => self.cwe = value.as_i64(),
                "line" => self.line = value.as_i64(),
                "file_path" => self.file_path = value.as_str().map(str::to_string),
                "unique_id_from_tool" => {
                    self.unique_id_from_tool = value.as_str().map(str::to_string)
                }
                "vuln_id_from_tool" => self.vuln_id_from_tool = value.as_str().map(str::to_string),
                other => {
                    self.extra.insert(other.to_string(), value.clone());
                }
            }
        }
    }

    /// `Finding.save()` (models.py:558-670): title-case the title, recompute the numerical
    /// severity, hash a new finding, run the status rules when a watched field changed (always
    /// for a new finding), recompute the SLA date and bump `updated` (`auto_now`).
    ///
    /// `before` is the stored row's watched fields, `None` for a new finding.
    pub fn save(&mut self, before: Option<&Tracked>, ctx: &SaveContext) {
        let now = clock::now();
        self.title = titlecase(&self.title.chars().take(511).collect::<String>());
        self.numerical_severity = numerical_severity(&self.severity).to_string();
        let changed = match before {
            None => {
                if self.hash_code.is_none() {
                    self.hash_code = Some(hash::legacy_hash_code(
                        &self.title,
                        self.cwe,
                        self.line,
                        self.file_path.as_deref(),
                        &self.description,
                    ));
                }
                self.created = now;
                Changed::new_finding()
            }
            Some(before) => Changed::between(before, &self.tracked()),
        };
        if changed.any() {
            status::update_finding_status(self, ctx.user, changed, now);
        }
        // (a date near the end of the calendar has no expiration instead of overflowing)
        self.sla_expiration_date = ctx.sla_days(&self.severity).and_then(|days| {
            self.sla_start_date
                .unwrap_or(self.date)
                .checked_add_signed(Duration::days(days))
        });
        self.updated = now;
    }

    /// `Finding.age`: days from `date` to the mitigation day or today, never negative.
    fn age(&self) -> i64 {
        let end = self.mitigated.map_or_else(clock::today, |m| m.date_naive());
        (end - self.date).num_days().max(0)
    }

    fn sla_days_remaining(&self) -> Option<i64> {
        let expiration = self.sla_expiration_date?;
        let from = self.mitigated.map_or_else(clock::today, |m| m.date_naive());
        Some((expiration - from).num_days())
    }

    /// The finding as `view` renders it (without the retrieve-only `prefetch` key).
    pub fn to_json(&self, db: &Db, view: View, related_fields: bool) -> Value {
        let fmt_opt = |ts: &Option<Timestamp>| ts.as_ref().map(clock::format_datetime);
        let fmt_date = |d: &Option<NaiveDate>| d.as_ref().map(clock::format_date);
        let mut map = self.extra.clone();
        let mut put = |k: &str, v: Value| {
            map.insert(k.to_string(), v);
        };
        put("id", json!(self.id));
        put("test", json!(self.test));
        put("title", json!(self.title));
        put("severity", json!(self.severity));
        put("numerical_severity", json!(self.numerical_severity));
        put("description", json!(self.description));
        put("date", json!(clock::format_date(&self.date)));
        put("active", json!(self.active));
        put("verified", json!(self.verified));
        put("false_p", json!(self.false_p));
        put("duplicate", json!(self.duplicate));
        put("out_of_scope", json!(self.out_of_scope));
        put("risk_accepted", json!(self.risk_accepted));
        put("under_review", json!(self.under_review));
        put("under_defect_review", json!(self.under_defect_review));
        put("is_mitigated", json!(self.is_mitigated));
        put("mitigated", json!(fmt_opt(&self.mitigated)));
        put("mitigated_by", json!(self.mitigated_by));
        put("duplicate_finding", json!(self.duplicate_finding));
        put("created", json!(clock::format_datetime(&self.created)));
        put("updated", json!(clock::format_datetime(&self.updated)));
        put(
            "last_status_update",
            json!(clock::format_datetime(&self.last_status_update)),
        );
        put("last_reviewed", json!(fmt_opt(&self.last_reviewed)));
        put("last_reviewed_by", json!(self.last_reviewed_by));
        put("review_requested_by", json!(self.review_requested_by));
        put(
            "defect_review_requested_by",
            json!(self.defect_review_requested_by),
        );
        put("reporter", json!(self.reporter));
        put("found_by", json!(self.found_by));
        put("reviewers", json!(self.reviewers));
        put("hash_code", json!(self.hash_code));
        put("sla_start_date", json!(fmt_date(&self.sla_start_date)));
        put(
            "sla_expiration_date",
            json!(fmt_date(&self.sla_expiration_date)),
        );
        put("cwe", json!(self.cwe));
        put("line", json!(self.line));
        put("file_path", json!(self.file_path));
        put("unique_id_from_tool", json!(self.unique_id_from_tool));
        put("vuln_id_from_tool", json!(self.vuln_id_from_tool));
        put("static_finding", json!(self.static_finding));
        put("dynamic_finding", json!(self.dynamic_finding));
        put("files", json!(db.finding_file_ids(self.id)));
        put("push_to_jira", json!(false));

        // Read back from the database, tags come ordered by name; a response to a write that
        // assigned tags echoes them in the order sent instead (see `with_assigned_tags`).
        put("tags", json!(tags::sorted(&self.tags)));
        match view {
            View::Create => {
                // notes are a read-only list of ids in the create serializer
                put("notes", json!(self.notes));
            }
            View::Read | View::Update => {
                put("notes", Value::Array(db.finding_notes_desc(self)));
                put("request_response", json!({ "req_resp": [] }));
                // A simple risk acceptance creates no Risk_Acceptance object (ra_helper
                // `simple_risk_accept`), so this stays empty even when risk_accepted (LIVE 43).
                put("accepted_risks", json!([]));
                put("age", json!(self.age()));
                put("sla_days_remaining", json!(self.sla_days_remaining()));
                put("finding_meta", json!([]));
                put(
                    "related_fields",
                    if related_fields {
                        db.finding_related_fields(self)
                    } else {
                        Value::Null
                    },
                );
                put("jira_creation", Value::Null);
                put("jira_change", Value::Null);
                put("display_status", json!(status::display_status(self)));
                put("finding_groups", json!([]));
                if view == View::Update {
                    map.remove("push_to_jira");
                }
            }
        }
        Value::Object(map)
    }
}

/// A write response that assigned tags lists them in assignment order (LIVE 19, 24, 51, 66),
/// not sorted as a read does.
pub fn with_assigned_tags(mut body: Value, assigned: &[String]) -> Value {
    if let Some(map) = body.as_object_mut() {
        map.insert("tags".into(), json!(assigned));
    }
    body
}

/// What `save()` needs to know about its surroundings.
pub struct SaveContext {
    pub user: u64,
    /// `(critical, high, medium, low)` SLA days of the product's SLA configuration, `None` if
    /// it enforces none.
    pub sla: Option<[i64; 4]>,
}

impl SaveContext {
    /// `get_sla_period`: the product's SLA configuration, per severity; Info has none.
    fn sla_days(&self, severity: &str) -> Option<i64> {
        let [critical, high, medium, low] = self.sla?;
        match severity {
            "Critical" => Some(critical),
            "High" => Some(high),
            "Medium" => Some(medium),
            "Low" => Some(low),
            _ => None,
        }
    }
}
