//! A plain row for the hierarchy resources (product types, products, engagements, tests, test
//! types): id, timestamps and the writable fields as validated JSON. Each resource module
//! declares its fields (for validation) and renders its own representation.

use serde_json::{Map, Value};

use crate::clock::{self, Timestamp};
use crate::drf::fields::Validated;

#[derive(Clone, Debug)]
pub struct Record {
    pub id: u64,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub fields: Map<String, Value>,
}

impl Record {
    /// A new row: `defaults` overlaid with the validated input.
    pub fn new(id: u64, defaults: Map<String, Value>, input: Validated) -> Self {
        let now = clock::now();
        let mut record = Self {
            id,
            created: now,
            updated: now,
            fields: defaults,
        };
        record.fields.extend(input);
        record
    }

    /// Applies an update and bumps `updated` (`auto_now`).
    pub fn update(&mut self, input: Validated) {
        self.fields.extend(input);
        self.updated = clock::now();
    }

    pub fn get(&self, name: &str) -> &Value {
        self.fields.get(name).unwrap_or(&Value::Null)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).as_str()
    }

    pub fn u64(&self, name: &str) -> Option<u64> {
        self.get(name).as_u64()
    }

    pub fn bool(&self, name: &str) -> bool {
        self.get(name).as_bool().unwrap_or(false)
    }

    /// `fields` as a JSON object plus `id`, ready for a resource to add its computed keys.
    pub fn base_json(&self) -> Map<String, Value> {
        let mut map = self.fields.clone();
        map.insert("id".into(), Value::from(self.id));
        map
    }

    pub fn created_json(&self) -> Value {
        Value::from(clock::format_datetime(&self.created))
    }

    pub fn updated_json(&self) -> Value {
        Value::from(clock::format_datetime(&self.updated))
    }
}

/// Builds a defaults map from `(name, value)` pairs.
pub fn defaults(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}
