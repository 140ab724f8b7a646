//! `Notifications` (NotificationsSerializer): who is told what, per event, on which channel.
//! The row with `user`, `product` null and `template` false is the system row; its lists decide
//! which events reach the system notification webhooks (helper.py:879; docs/defectdojo.md §6,
//! §10). A fresh instance holds only the admin's personal row (id 1, every event `["alert"]`).

use serde_json::{json, Map, Value};

use crate::drf::fields::{parse_bool, parse_pk, Lookup, Target};
use crate::drf::pyrepr;
use crate::drf::{ErrorItem, FieldErrors};

pub const MODEL: &str = "Notifications";

/// The per-event columns (`MultiSelectField`s). An event without a column of its own is routed
/// by `other` (`getattr(notifications, event, notifications.other)`).
pub const EVENT_COLUMNS: &[&str] = &[
    "product_type_added",
    "product_added",
    "engagement_added",
    "test_added",
    "scan_added",
    "jira_update",
    "upcoming_engagement",
    "stale_engagement",
    "auto_close_engagement",
    "close_engagement",
    "user_mentioned",
    "code_review",
    "review_requested",
    "other",
    "sla_breach",
    "sla_breach_combined",
    "risk_acceptance_expiration",
];

pub const CHANNELS: &[&str] = &["slack", "msteams", "mail", "webhooks", "alert"];

/// The column that routes `event`.
pub fn column_for(event: &str) -> &'static str {
    EVENT_COLUMNS
        .iter()
        .find(|c| **c == event)
        .copied()
        .unwrap_or("other")
}

/// A new row's values (`DEFAULT_NOTIFICATION` = alert), without `id`.
pub fn defaults() -> Map<String, Value> {
    let mut map = Map::new();
    for column in EVENT_COLUMNS {
        map.insert((*column).into(), json!(["alert"]));
    }
    map.insert("scan_added_empty".into(), json!([]));
    map.insert("template".into(), json!(false));
    map.insert("user".into(), Value::Null);
    map.insert("product".into(), Value::Null);
    map
}

/// The admin's personal row of a fresh instance.
pub fn admin_row() -> Map<String, Value> {
    let mut map = defaults();
    map.insert("user".into(), json!(crate::model::user::ADMIN_ID));
    map
}

fn multiple_choice(raw: &Value) -> Result<Value, ErrorItem> {
    let Value::Array(items) = raw else {
        return Err(ErrorItem::new(
            format!(
                "Expected a list of items but got type \"{}\".",
                crate::drf::fields::py_type_name(raw)
            ),
            "not_a_list",
        ));
    };
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let text = match item {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if !CHANNELS.contains(&text.as_str()) {
            return Err(ErrorItem::new(
                format!("\"{text}\" is not a valid choice."),
                "invalid_choice",
            ));
        }
        if !out.contains(&text) {
            out.push(text);
        }
    }
    Ok(json!(out))
}

/// `scan_added_empty` is declared as a single `ChoiceField` by the API serializer (a bug,
/// recorded as webhooks/setup-02a): a list is "not a valid choice", one channel is accepted.
fn single_choice(raw: &Value) -> Result<Value, ErrorItem> {
    match raw {
        Value::String(s) if CHANNELS.contains(&s.as_str()) => Ok(json!([s])),
        Value::String(s) if s.is_empty() => Ok(json!([])),
        Value::Array(items) => {
            let texts: Vec<String> = items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| i.to_string())
                })
                .collect();
            Err(ErrorItem::new(
                format!("\"{}\" is not a valid choice.", pyrepr::py_str_list(&texts)),
                "invalid_choice",
            ))
        }
        other => Err(ErrorItem::new(
            format!(
                "\"{}\" is not a valid choice.",
                other
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| other.to_string())
            ),
            "invalid_choice",
        )),
    }
}

fn nullable_pk(raw: &Value, target: Target, lookup: &dyn Lookup) -> Result<Value, ErrorItem> {
    if raw.is_null() {
        return Ok(Value::Null);
    }
    parse_pk(raw, target, lookup).map(Value::from)
}

/// Validates the writable fields present in `input`, in serializer order.
pub fn validate(
    input: &Map<String, Value>,
    lookup: &dyn Lookup,
) -> Result<Map<String, Value>, FieldErrors> {
    let mut out = Map::new();
    let mut errors = FieldErrors::default();
    let mut take = |name: &str, result: Result<Value, ErrorItem>| match result {
        Ok(v) => {
            out.insert(name.to_string(), v);
        }
        Err(item) => errors.add(name, item),
    };
    if let Some(raw) = input.get("product") {
        take("product", nullable_pk(raw, Target::Product, lookup));
    }
    if let Some(raw) = input.get("user") {
        take("user", nullable_pk(raw, Target::User, lookup));
    }
    for column in EVENT_COLUMNS {
        if let Some(raw) = input.get(*column) {
            take(column, multiple_choice(raw));
        }
    }
    if let Some(raw) = input.get("template") {
        take("template", parse_bool(raw).map(Value::Bool));
    }
    if let Some(raw) = input.get("scan_added_empty") {
        take("scan_added_empty", single_choice(raw));
    }
    errors.into_result()?;
    Ok(out)
}

/// Whether the system row of `rows` lists `channel` for `event`.
pub fn system_row_subscribes<'a>(
    mut rows: impl Iterator<Item = &'a Map<String, Value>>,
    event: &str,
    channel: &str,
) -> bool {
    let column = column_for(event);
    rows.find(|r| {
        r.get("user").is_none_or(Value::is_null)
            && r.get("product").is_none_or(Value::is_null)
            && !r.get("template").and_then(Value::as_bool).unwrap_or(false)
    })
    .and_then(|r| r.get(column))
    .and_then(Value::as_array)
    .is_some_and(|list| list.iter().any(|c| c.as_str() == Some(channel)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_without_a_column_use_other() {
        assert_eq!(column_for("product_type_added"), "product_type_added");
        assert_eq!(column_for("finding_added"), "other");
        assert_eq!(column_for("finding_closed"), "other");
        assert_eq!(column_for("engagement_closed"), "other");
    }

    #[test]
    fn only_the_system_row_routes() {
        let mut personal = admin_row();
        personal.insert("other".into(), json!(["webhooks"]));
        assert!(!system_row_subscribes(
            [&personal].into_iter(),
            "finding_added",
            "webhooks"
        ));
        let mut system = defaults();
        system.insert("other".into(), json!(["alert", "webhooks"]));
        assert!(system_row_subscribes(
            [&personal, &system].into_iter(),
            "finding_closed",
            "webhooks"
        ));
        assert!(!system_row_subscribes(
            [&system].into_iter(),
            "product_added",
            "webhooks"
        ));
    }
}
