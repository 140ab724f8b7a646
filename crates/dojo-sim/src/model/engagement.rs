//! `Engagement` (EngagementSerializer; LIVE 11-12).

use serde_json::{json, Map, Value};

use super::record::{defaults, Record};
use crate::drf::fields::{Field, Kind, Target};

pub const MODEL: &str = "Engagement";

const STATUS: &[&str] = &[
    "Not Started",
    "Blocked",
    "Cancelled",
    "Completed",
    "In Progress",
    "On Hold",
    "Scheduled",
    "Waiting for Resource",
];
const ENGAGEMENT_TYPE: &[&str] = &["Interactive", "CI/CD"];

pub const FIELDS: &[Field] = &[
    Field::new("name", Kind::chars(300, true)),
    Field::new("description", Kind::chars(2000, true)),
    Field::new("version", Kind::chars(100, true)),
    Field::new("first_contacted", Kind::Date { null: true }),
    Field::required("target_start", Kind::Date { null: false }),
    Field::required("target_end", Kind::Date { null: false }),
    Field::new("reason", Kind::chars(2000, true)),
    Field::new("tracker", Kind::chars(200, true)),
    Field::new("test_strategy", Kind::text(true)),
    Field::new("threat_model", Kind::Bool),
    Field::new("api_test", Kind::Bool),
    Field::new("pen_test", Kind::Bool),
    Field::new("check_list", Kind::Bool),
    Field::new(
        "status",
        Kind::Choice {
            choices: STATUS,
            null: true,
        },
    ),
    Field::new("progress", Kind::chars(100, false)),
    Field::new("tmodel_path", Kind::chars(1000, false)),
    Field::new(
        "engagement_type",
        Kind::Choice {
            choices: ENGAGEMENT_TYPE,
            null: true,
        },
    ),
    Field::new("build_id", Kind::chars(150, true)),
    Field::new("commit_hash", Kind::chars(150, true)),
    Field::new("branch_tag", Kind::chars(150, true)),
    Field::new("source_code_management_uri", Kind::chars(600, true)),
    Field::new("deduplication_on_engagement", Kind::Bool),
    Field::new(
        "lead",
        Kind::Pk {
            target: Target::User,
            null: true,
        },
    ),
    Field::new(
        "requester",
        Kind::Pk {
            target: Target::Empty,
            null: true,
        },
    ),
    Field::new(
        "preset",
        Kind::Pk {
            target: Target::Empty,
            null: true,
        },
    ),
    Field::new(
        "report_type",
        Kind::Pk {
            target: Target::Empty,
            null: true,
        },
    ),
    Field::required(
        "product",
        Kind::Pk {
            target: Target::Product,
            null: false,
        },
    ),
    Field::new(
        "cicd_scm_server",
        Kind::Pk {
            target: Target::Empty,
            null: true,
        },
    ),
    Field::new(
        "cicd_build_server",
        Kind::Pk {
            target: Target::Empty,
            null: true,
        },
    ),
    Field::new(
        "cicd_orchestration_engine",
        Kind::Pk {
            target: Target::Empty,
            null: true,
        },
    ),
    Field::new("tags", Kind::Tags),
];

pub fn defaults_map() -> Map<String, Value> {
    defaults(&[
        ("name", Value::Null),
        ("description", Value::Null),
        ("version", Value::Null),
        ("first_contacted", Value::Null),
        ("reason", Value::Null),
        ("active", json!(true)),
        ("tracker", Value::Null),
        ("test_strategy", Value::Null),
        ("threat_model", json!(true)),
        ("api_test", json!(true)),
        ("pen_test", json!(true)),
        ("check_list", json!(true)),
        ("status", json!("Not Started")),
        ("progress", json!("threat_model")),
        ("tmodel_path", json!("none")),
        ("done_testing", json!(false)),
        ("engagement_type", json!("Interactive")),
        ("build_id", Value::Null),
        ("commit_hash", Value::Null),
        ("branch_tag", Value::Null),
        ("source_code_management_uri", Value::Null),
        ("deduplication_on_engagement", json!(false)),
        ("lead", Value::Null),
        ("requester", Value::Null),
        ("preset", Value::Null),
        ("report_type", Value::Null),
        ("cicd_scm_server", Value::Null),
        ("cicd_build_server", Value::Null),
        ("cicd_orchestration_engine", Value::Null),
        ("tags", json!([])),
    ])
}

pub const MSG_START_AFTER_END: &str = "Your target start date exceeds your target end date";

pub fn to_json(r: &Record) -> Value {
    let mut map = r.base_json();
    map.insert("created".into(), r.created_json());
    map.insert("updated".into(), r.updated_json());
    map.insert("notes".into(), json!([]));
    map.insert("files".into(), json!([]));
    map.insert("risk_acceptance".into(), json!([]));
    Value::Object(map)
}
