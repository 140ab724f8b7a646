//! How an envelope is laid out in a stream entry, and reading entries back.
//!
//! An entry of `P:events` has two fields: `data`, the envelope JSON exactly as
//! serde wrote it (so `redis-cli XRANGE P:events - +` is readable), and
//! `event_id`, repeated outside the JSON so a dead letter or an operator can
//! name an event whose JSON no longer decodes.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use redis::Value;
use uuid::Uuid;
use wstg_domain::{Envelope, EnvelopeError};

use crate::error::QueueError;

pub const FIELD_DATA: &str = "data";
pub const FIELD_EVENT_ID: &str = "event_id";

/// The JSON stored in `data`.
pub fn encode(env: &Envelope) -> Result<String, QueueError> {
    Ok(serde_json::to_string(env)?)
}

/// Decodes `data`, its version checked first: the error is what a poison
/// delivery carries (a newer release's event, or not an envelope).
pub fn decode(raw: &str) -> Result<Envelope, EnvelopeError> {
    Envelope::from_json(raw)
}

/// A field of an entry as text. Non-UTF-8 bytes (someone XADDed binary) are
/// replaced rather than failing, so the entry can still be dead-lettered and
/// shown to an operator.
pub fn field(map: &HashMap<String, Value>, name: &str) -> Option<String> {
    map.get(name).and_then(value_text)
}

pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Okay => Some("OK".to_owned()),
        _ => None,
    }
}

/// The payload of an entry and its decoded envelope. An entry without `data`
/// is reported as poison with a readable rendering of whatever fields it had.
pub fn payload(map: &HashMap<String, Value>) -> (String, Result<Envelope, EnvelopeError>) {
    match field(map, FIELD_DATA) {
        Some(raw) => {
            let env = decode(&raw);
            (raw, env)
        }
        None => {
            let mut names: Vec<&str> = map.keys().map(String::as_str).collect();
            names.sort_unstable();
            (
                String::new(),
                Err(EnvelopeError::Malformed(format!(
                    "entry has no '{FIELD_DATA}' field (fields: {})",
                    names.join(", ")
                ))),
            )
        }
    }
}

/// The `event_id` field, if present and a UUID.
pub fn event_id(map: &HashMap<String, Value>) -> Option<Uuid> {
    field(map, FIELD_EVENT_ID).and_then(|s| Uuid::parse_str(&s).ok())
}

/// Timestamps are stored as RFC 3339 (readable in `redis-cli`), to the ms.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The time encoded in a stream id (`<unix ms>-<seq>`): when Redis added it.
pub fn id_time(id: &str) -> Option<DateTime<Utc>> {
    let ms: i64 = id.split('-').next()?.parse().ok()?;
    DateTime::from_timestamp_millis(ms)
}

/// Unix milliseconds of a time, as the delayed zset scores them.
pub fn unix_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_of_missing_data_names_the_fields() {
        let mut m = HashMap::new();
        m.insert("other".to_owned(), Value::BulkString(b"x".to_vec()));
        let (raw, env) = payload(&m);
        assert_eq!(raw, "");
        assert!(env
            .expect_err("no data is poison")
            .to_string()
            .contains("other"));
    }

    #[test]
    fn binary_data_is_poison_not_a_crash() {
        let mut m = HashMap::new();
        m.insert(FIELD_DATA.to_owned(), Value::BulkString(vec![0xff, 0xfe]));
        let (raw, env) = payload(&m);
        assert!(!raw.is_empty());
        assert!(env.is_err());
    }

    #[test]
    fn times_round_trip_and_ids_carry_time() {
        let t = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap_or_default();
        assert_eq!(parse_time(&format_time(t)), Some(t));
        assert_eq!(id_time("1700000000123-7"), Some(t));
        assert_eq!(id_time("garbage"), None);
    }
}
