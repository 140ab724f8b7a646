//! `?o=` ordering of findings: `MultivaluedOrderingFilter` (dojo/finding/api/filters.py:169-200,
//! dojo/filters.py:909-945). The DRF `ordering` parameter is not installed and is ignored
//! (LIVE 95); `updated` is not an allowed field (LIVE 92).

use std::cmp::Ordering;

use chrono::NaiveDate;

use crate::clock::Timestamp;
use crate::db::Db;
use crate::drf::ErrorItem;
use crate::model::finding::Finding;

pub const FIELDS: &[&str] = &[
    "active",
    "component_name",
    "component_version",
    "created",
    "last_status_update",
    "last_reviewed",
    "cwe",
    "date",
    "duplicate",
    "dynamic_finding",
    "false_p",
    "found_by",
    "id",
    "is_mitigated",
    "numerical_severity",
    "out_of_scope",
    "planned_remediation_date",
    "severity",
    "sla_expiration_date",
    "reviewers",
    "static_finding",
    "test__engagement__product__name",
    "title",
    "under_defect_review",
    "under_review",
    "verified",
];

#[derive(Clone, Debug, PartialEq, PartialOrd)]
enum Key {
    Bool(bool),
    Int(i64),
    Str(String),
    Time(Timestamp),
    Date(NaiveDate),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderBy {
    field: &'static str,
    descending: bool,
}

/// Parses `o=a,-b`; the first value that is not an allowed field is the error (LIVE 92).
pub fn parse(raw: &str) -> Result<Vec<OrderBy>, ErrorItem> {
    raw.split(',')
        .map(|token| {
            let token = token.trim();
            let (descending, name) = match token.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, token),
            };
            FIELDS
                .iter()
                .find(|f| **f == name)
                .map(|field| OrderBy { field, descending })
                .ok_or_else(|| ErrorItem::invalid_choice(token))
        })
        .collect()
}

fn key(f: &Finding, field: &str, db: &Db) -> Option<Key> {
    let extra_str = |name: &str| {
        f.extra
            .get(name)
            .and_then(|v| v.as_str())
            .map(|s| Key::Str(s.to_string()))
    };
    let extra_date = |name: &str| {
        f.extra
            .get(name)
            .and_then(|v| v.as_str())
            .and_then(crate::clock::parse_date)
            .map(Key::Date)
    };
    match field {
        "active" => Some(Key::Bool(f.active)),
        "component_name" | "component_version" => extra_str(field),
        "created" => Some(Key::Time(f.created)),
        "last_status_update" => Some(Key::Time(f.last_status_update)),
        "last_reviewed" => f.last_reviewed.map(Key::Time),
        "cwe" => f.cwe.map(Key::Int),
        "date" => Some(Key::Date(f.date)),
        "duplicate" => Some(Key::Bool(f.duplicate)),
        "dynamic_finding" => Some(Key::Bool(f.dynamic_finding)),
        "false_p" => Some(Key::Bool(f.false_p)),
        // to-many fields sort by their smallest id (`Min(field)`)
        "found_by" => f.found_by.iter().min().map(|id| Key::Int(*id as i64)),
        "reviewers" => f.reviewers.iter().min().map(|id| Key::Int(*id as i64)),
        "id" => Some(Key::Int(f.id as i64)),
        "is_mitigated" => Some(Key::Bool(f.is_mitigated)),
        "numerical_severity" => Some(Key::Str(f.numerical_severity.clone())),
        "out_of_scope" => Some(Key::Bool(f.out_of_scope)),
        "planned_remediation_date" => extra_date(field),
        "severity" => Some(Key::Str(f.severity.clone())),
        "sla_expiration_date" => f.sla_expiration_date.map(Key::Date),
        "static_finding" => Some(Key::Bool(f.static_finding)),
        "test__engagement__product__name" => db
            .product_of_test(f.test)
            .and_then(|p| p.str("name"))
            .map(|s| Key::Str(s.to_string())),
        "title" => Some(Key::Str(f.title.clone())),
        "under_defect_review" => Some(Key::Bool(f.under_defect_review)),
        "under_review" => Some(Key::Bool(f.under_review)),
        "verified" => Some(Key::Bool(f.verified)),
        _ => None,
    }
}

/// PostgreSQL semantics: NULLs sort last ascending and first descending, i.e. NULL is the
/// largest value. Ties keep the default order (id ascending).
fn compare(a: Option<Key>, b: Option<Key>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
    }
}

/// Sorts findings (given in id order) by `order`.
pub fn sort(findings: &mut [&Finding], order: &[OrderBy], db: &Db) {
    if order.is_empty() {
        return;
    }
    findings.sort_by(|a, b| {
        order
            .iter()
            .map(|o| {
                let ord = compare(key(a, o.field, db), key(b, o.field, db));
                if o.descending {
                    ord.reverse()
                } else {
                    ord
                }
            })
            .find(|ord| *ord != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_allowed_fields_only() {
        assert!(parse("-last_status_update").is_ok());
        assert!(parse("id,-created").is_ok());
        let err = parse("-updated").err().map(|e| e.message);
        assert_eq!(
            err.as_deref(),
            Some("Select a valid choice. -updated is not one of the available choices.")
        );
    }
}
