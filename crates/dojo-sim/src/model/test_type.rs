//! `Test_Type` (TestTypeSerializer / TestTypeCreateSerializer; LIVE 06, 14, 16).

use serde_json::{json, Map, Value};

use super::record::{defaults, Record};
use crate::drf::fields::{Field, Kind};

pub const MODEL: &str = "Test_Type";

pub const FIELDS: &[Field] = &[
    Field::required("name", Kind::chars(200, false)),
    Field::new("static_tool", Kind::Bool),
    Field::new("dynamic_tool", Kind::Bool),
    Field::new("active", Kind::Bool),
];

pub fn defaults_map() -> Map<String, Value> {
    defaults(&[
        ("static_tool", json!(false)),
        ("dynamic_tool", json!(false)),
        ("active", json!(true)),
    ])
}

pub fn to_json(r: &Record) -> Value {
    Value::Object(r.base_json())
}

/// The test types of dojo/fixtures/test_type.json, loaded by every fresh instance. A real
/// instance also registers one type per scan parser at start-up (ids 9..=279 on the recorded
/// instance, which is why the first user-created type got id 280, LIVE 14); the simulator does
/// not list those, it only reserves their ids.
pub const FIXTURE: &[(u64, &str)] = &[
    (1, "API Test"),
    (2, "Static Check"),
    (3, "Pen Test"),
    (4, "Web Application Test"),
    (5, "Security Research"),
    (6, "Threat Modeling"),
    (7, "Manual Code Review"),
    (8, "Prowler"),
];

/// The id the next created test type gets on a fresh instance (LIVE 14).
pub const FIRST_CREATED_ID: u64 = 280;
