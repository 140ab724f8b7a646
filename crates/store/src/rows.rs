//! Conversions between domain values and the portable column types.
//!
//! sqlx's `Any` driver moves only integers, floats, text, blobs and bools
//! across both backends (no UUID, no timestamp types), and we use only TEXT
//! and BIGINT: timestamps are unix milliseconds, UUIDs their lowercase
//! hyphenated text, enumerations their `as_str` spelling, JSON text.

use chrono::{DateTime, SubsecRound, Utc};
use serde::de::IntoDeserializer;
use serde::Deserialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;
use wstg_domain::{Notes, ProjectName, Status, WstgId};

use crate::error::StoreError;

/// `t` at the precision the store keeps (milliseconds): what a value reads
/// back as. Times are compared at this precision too, so two tracker changes
/// in the same millisecond are ordered by their event ids.
pub fn to_store_precision(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(3)
}

pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn time(ms: i64, what: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::corrupt(what, format!("{ms} is not a time in milliseconds")))
}

pub(crate) fn opt_time(ms: Option<i64>, what: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    ms.map(|ms| time(ms, what)).transpose()
}

pub(crate) fn uuid_text(id: Uuid) -> String {
    // `Display` is the lowercase hyphenated form, whose string order is the
    // byte order: for UUID v7, time order. Comparisons in SQL rely on it.
    id.to_string()
}

pub(crate) fn uuid(text: &str, what: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| StoreError::corrupt(what, e))
}

pub(crate) fn opt_uuid(text: Option<String>, what: &str) -> Result<Option<Uuid>, StoreError> {
    text.map(|t| uuid(&t, what)).transpose()
}

pub(crate) fn project(text: &str) -> Result<ProjectName, StoreError> {
    ProjectName::parse(text).map_err(|e| StoreError::corrupt("project name", e))
}

/// A `WstgId` is built only by parsing against a catalogue; the store does
/// not know which catalogue is configured, so it trusts the stored value the
/// way the domain's `Deserialize` does (it was checked when first accepted).
pub(crate) fn wstg_id(text: String) -> Result<WstgId, StoreError> {
    let de: serde::de::value::StringDeserializer<serde::de::value::Error> =
        text.into_deserializer();
    WstgId::deserialize(de).map_err(|e| StoreError::corrupt("WSTG id", e))
}

pub(crate) fn status(text: &str) -> Result<Status, StoreError> {
    text.parse().map_err(|e| StoreError::corrupt("status", e))
}

pub(crate) fn opt_status(text: Option<String>) -> Result<Option<Status>, StoreError> {
    text.as_deref().map(status).transpose()
}

pub(crate) fn notes(text: String) -> Result<Notes, StoreError> {
    Notes::parse(text).map_err(|e| StoreError::corrupt("notes", e))
}

/// Reads column `col`; a type mismatch is a corrupt value, not a failed query.
pub(crate) fn get<'r, T>(row: &'r AnyRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col)
        .map_err(|e| StoreError::corrupt(format!("column {col}"), e))
}

/// A count from SQL (`BIGINT`) as an unsigned number.
pub(crate) fn count(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|e| StoreError::corrupt("count", e))
}

/// Bounds free text from outside (error messages) so one failing item cannot
/// grow a row without limit. Cuts on a character boundary.
pub(crate) fn bounded(text: &str) -> &str {
    const MAX_BYTES: usize = 8 * 1024;
    if text.len() <= MAX_BYTES {
        return text;
    }
    let mut end = MAX_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn uuid_v7_text_sorts_in_time_order() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        assert!(a < b);
        assert!(uuid_text(a) < uuid_text(b));
    }

    #[test]
    fn bounded_cuts_on_a_char_boundary() {
        let long = "é".repeat(5000);
        let cut = bounded(&long);
        assert!(cut.len() <= 8 * 1024);
        assert!(cut.chars().all(|c| c == 'é'));
        assert_eq!(bounded("short"), "short");
    }
}
