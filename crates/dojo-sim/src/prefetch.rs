//! `?prefetch=` on finding list/retrieve (dojo/api_v2/prefetch/; docs/defectdojo.md §3, LIVE 26, 100):
//! `{"prefetch": {"<field>": {"<id>": <object>}}}`. A key appears once a requested field is
//! non-null on some entry (to-many fields: always). Fields the simulator cannot expand are
//! left out, as DefectDojo does for fields without a serializer or policy.

use serde_json::{Map, Value};

use crate::db::Db;
use crate::drf::query::Query;
use crate::model::finding::{Finding, View};
use crate::model::{test, test_type};

/// `prefetch=a,b` or `prefetch=a&prefetch=b` (mixins.py: split on commas if there is one).
pub fn params(query: &Query) -> Vec<String> {
    let single = query.get("prefetch").unwrap_or("");
    if single.contains(',') {
        single.split(',').map(str::to_string).collect()
    } else {
        query
            .get_all("prefetch")
            .into_iter()
            .map(str::to_string)
            .collect()
    }
}

enum Related {
    One(Option<u64>),
    Many(Vec<u64>),
}

fn related(f: &Finding, field: &str) -> Option<Related> {
    Some(match field {
        "test" => Related::One(Some(f.test)),
        "reporter" => Related::One(Some(f.reporter)),
        "mitigated_by" => Related::One(f.mitigated_by),
        "last_reviewed_by" => Related::One(f.last_reviewed_by),
        "review_requested_by" => Related::One(f.review_requested_by),
        "defect_review_requested_by" => Related::One(f.defect_review_requested_by),
        "duplicate_finding" => Related::One(f.duplicate_finding),
        "found_by" => Related::Many(f.found_by.clone()),
        "reviewers" => Related::Many(f.reviewers.clone()),
        "notes" => Related::Many(f.notes.clone()),
        _ => return None,
    })
}

fn render(field: &str, id: u64, db: &Db) -> Option<Value> {
    match field {
        "test" => db.tests.get(&id).map(|t| test::to_json(t, db)),
        "found_by" => db.test_types.get(&id).map(test_type::to_json),
        "notes" => db.notes.get(&id).map(|n| n.to_json(db)),
        "duplicate_finding" => db
            .findings
            .get(&id)
            .map(|f| f.to_json(db, View::Read, false)),
        _ => db.users.get(&id).map(|u| u.stub()),
    }
}

/// The `prefetch` object for the findings of one response.
pub fn collect(findings: &[&Finding], fields: &[String], db: &Db) -> Value {
    let mut out = Map::new();
    for f in findings {
        for field in fields {
            let ids = match related(f, field) {
                None | Some(Related::One(None)) => continue,
                Some(Related::One(Some(id))) => vec![id],
                Some(Related::Many(ids)) => ids,
            };
            let entry = out
                .entry(field.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            for id in ids {
                if let (Some(map), Some(obj)) = (entry.as_object_mut(), render(field, id, db)) {
                    map.insert(id.to_string(), obj);
                }
            }
        }
    }
    Value::Object(out)
}
