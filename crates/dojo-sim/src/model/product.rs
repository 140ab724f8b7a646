//! `Product` (ProductSerializer; LIVE 09-10, 41).

use serde_json::{json, Map, Value};

use super::record::{defaults, Record};
use crate::db::Db;
use crate::drf::fields::{Field, Kind, Target};

pub const MODEL: &str = "Product";

const BUSINESS_CRITICALITY: &[&str] = &["very high", "high", "medium", "low", "very low", "none"];
const PLATFORM: &[&str] = &["web service", "desktop", "iot", "mobile", "web"];
const LIFECYCLE: &[&str] = &["construction", "production", "retirement"];
const ORIGIN: &[&str] = &[
    "third party library",
    "purchased",
    "contractor",
    "internal",
    "open source",
    "outsourced",
];

pub const FIELDS: &[Field] = &[
    Field::new(
        "business_criticality",
        Kind::Choice {
            choices: BUSINESS_CRITICALITY,
            null: true,
        },
    ),
    Field::new(
        "platform",
        Kind::Choice {
            choices: PLATFORM,
            null: true,
        },
    ),
    Field::new(
        "lifecycle",
        Kind::Choice {
            choices: LIFECYCLE,
            null: true,
        },
    ),
    Field::new(
        "origin",
        Kind::Choice {
            choices: ORIGIN,
            null: true,
        },
    ),
    Field::required("name", Kind::chars(255, false)),
    Field::required("description", Kind::chars(4000, false)),
    Field::new("prod_numeric_grade", Kind::Int { null: true }),
    Field::new("user_records", Kind::Int { null: true }),
    Field::new("revenue", Kind::Json),
    Field::new("external_audience", Kind::Bool),
    Field::new("internet_accessible", Kind::Bool),
    Field::new("enable_product_tag_inheritance", Kind::Bool),
    Field::new("enable_simple_risk_acceptance", Kind::Bool),
    Field::new("enable_full_risk_acceptance", Kind::Bool),
    Field::new("disable_sla_breach_notifications", Kind::Bool),
    Field::new(
        "product_manager",
        Kind::Pk {
            target: Target::User,
            null: true,
        },
    ),
    Field::new(
        "technical_contact",
        Kind::Pk {
            target: Target::User,
            null: true,
        },
    ),
    Field::new(
        "team_manager",
        Kind::Pk {
            target: Target::User,
            null: true,
        },
    ),
    Field::required(
        "prod_type",
        Kind::Pk {
            target: Target::ProductType,
            null: false,
        },
    ),
    Field::new(
        "sla_configuration",
        Kind::Pk {
            target: Target::SlaConfiguration,
            null: false,
        },
    ),
    Field::new(
        "regulations",
        Kind::PkList {
            target: Target::Empty,
        },
    ),
    Field::new("tags", Kind::Tags),
];

pub fn defaults_map() -> Map<String, Value> {
    defaults(&[
        ("business_criticality", Value::Null),
        ("platform", Value::Null),
        ("lifecycle", Value::Null),
        ("origin", Value::Null),
        ("prod_numeric_grade", Value::Null),
        ("user_records", Value::Null),
        ("revenue", Value::Null),
        ("external_audience", json!(false)),
        ("internet_accessible", json!(false)),
        ("enable_product_tag_inheritance", json!(false)),
        ("enable_simple_risk_acceptance", json!(false)),
        ("enable_full_risk_acceptance", json!(true)),
        ("disable_sla_breach_notifications", json!(false)),
        ("product_manager", Value::Null),
        ("technical_contact", Value::Null),
        ("team_manager", Value::Null),
        ("sla_configuration", json!(1)),
        ("regulations", json!([])),
        ("tags", json!([])),
    ])
}

pub fn to_json(r: &Record, db: &Db) -> Value {
    let findings: Vec<u64> = db
        .findings
        .values()
        .filter(|f| db.product_id_of_test(f.test) == Some(r.id))
        .map(|f| f.id)
        .collect();
    let mut map = r.base_json();
    map.insert("findings_count".into(), json!(findings.len()));
    map.insert("findings_list".into(), json!(findings));
    map.insert("product_meta".into(), json!([]));
    map.insert("created".into(), r.created_json());
    map.insert("authorized_users".into(), json!([]));
    Value::Object(map)
}
