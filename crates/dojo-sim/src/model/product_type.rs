//! `Product_Type` (ProductTypeSerializer; LIVE 07-08).

use serde_json::{json, Map, Value};

use super::record::{defaults, Record};
use crate::drf::fields::{Field, Kind};

pub const MODEL: &str = "Product_Type";

pub const FIELDS: &[Field] = &[
    Field::required("name", Kind::chars(255, false)),
    Field::new("description", Kind::chars(4000, true)),
    Field::new("critical_product", Kind::Bool),
    Field::new("key_product", Kind::Bool),
];

pub fn defaults_map() -> Map<String, Value> {
    defaults(&[
        ("description", Value::Null),
        ("critical_product", json!(false)),
        ("key_product", json!(false)),
    ])
}

pub fn to_json(r: &Record) -> Value {
    let mut map = r.base_json();
    map.insert("created".into(), r.created_json());
    map.insert("updated".into(), r.updated_json());
    map.insert("authorized_users".into(), json!([]));
    Value::Object(map)
}
