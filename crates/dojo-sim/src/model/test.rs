//! `Test` (TestCreateSerializer for POST, TestSerializer otherwise; LIVE 13-15, 26).

use serde_json::{json, Map, Value};

use super::record::{defaults, Record};
use crate::db::Db;
use crate::drf::fields::{Field, Kind, Target};

pub const MODEL: &str = "Test";

pub const FIELDS: &[Field] = &[
    Field::required(
        "engagement",
        Kind::Pk {
            target: Target::Engagement,
            null: false,
        },
    ),
    Field::new("scan_type", Kind::text(true)),
    Field::new("title", Kind::chars(255, true)),
    Field::new("description", Kind::text(true)),
    Field::required("target_start", Kind::DateTime { null: false }),
    Field::required("target_end", Kind::DateTime { null: false }),
    Field::new("percent_complete", Kind::Int { null: true }),
    Field::new("version", Kind::chars(100, true)),
    Field::new("build_id", Kind::chars(150, true)),
    Field::new("commit_hash", Kind::chars(150, true)),
    Field::new("branch_tag", Kind::chars(150, true)),
    Field::new(
        "lead",
        Kind::Pk {
            target: Target::User,
            null: true,
        },
    ),
    Field::required(
        "test_type",
        Kind::Pk {
            target: Target::TestType,
            null: false,
        },
    ),
    Field::new(
        "environment",
        Kind::Pk {
            target: Target::Empty,
            null: true,
        },
    ),
    Field::new(
        "api_scan_configuration",
        Kind::Pk {
            target: Target::Empty,
            null: true,
        },
    ),
    Field::new("tags", Kind::Tags),
];

pub fn defaults_map() -> Map<String, Value> {
    defaults(&[
        ("scan_type", Value::Null),
        ("title", Value::Null),
        ("description", Value::Null),
        ("percent_complete", Value::Null),
        ("version", Value::Null),
        ("build_id", Value::Null),
        ("commit_hash", Value::Null),
        ("branch_tag", Value::Null),
        ("lead", Value::Null),
        ("environment", Value::Null),
        ("api_scan_configuration", Value::Null),
        ("tags", json!([])),
    ])
}

/// The POST response (`TestCreateSerializer`, LIVE 15).
pub fn to_create_json(r: &Record) -> Value {
    let mut map = r.base_json();
    map.insert("created".into(), r.created_json());
    map.insert("updated".into(), r.updated_json());
    map.insert("notes".into(), json!([]));
    map.insert("files".into(), json!([]));
    Value::Object(map)
}

/// `TestSerializer` (retrieve, list, PATCH, prefetch; LIVE 26): adds the test type name and the
/// effective deduplication settings, which are "legacy"/null for a type with no parser config.
pub fn to_json(r: &Record, db: &Db) -> Value {
    let mut map = r.base_json();
    let type_name = r
        .u64("test_type")
        .and_then(|id| db.test_types.get(&id))
        .and_then(|t| t.str("name"))
        .map_or(Value::Null, Value::from);
    map.insert("test_type_name".into(), type_name);
    map.insert("deduplication_algorithm".into(), json!("legacy"));
    map.insert("hash_code_fields".into(), Value::Null);
    map.insert("created".into(), r.created_json());
    map.insert("updated".into(), r.updated_json());
    map.insert("notes".into(), json!([]));
    map.insert("files".into(), json!([]));
    map.insert("finding_groups".into(), json!([]));
    Value::Object(map)
}
