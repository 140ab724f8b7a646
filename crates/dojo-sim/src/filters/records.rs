//! Filters of the hierarchy list endpoints (`filterset_fields` / the Api*Filter classes of
//! dojo/{product_type,product,engagement,test}/api). Unknown parameters are ignored.

use serde_json::Value;

use super::common::{self, FilterErrors};
use crate::db::Db;
use crate::drf::fields::{Lookup, Target};
use crate::drf::query::Query;
use crate::drf::{ApiError, ApiResult};
use crate::model::record::Record;

#[derive(Clone, Copy, Debug)]
pub enum Filter {
    /// auto-generated `exact` lookup on a model field
    Exact(&'static str),
    IExact(&'static str),
    IContains(&'static str),
    Bool(&'static str),
    NumberIn(&'static str),
    ModelChoice(&'static str, Target),
}

/// `(query parameter, filter)`
pub type Spec = (&'static str, Filter);

fn exact_matches(value: &Value, raw: &str) -> bool {
    match value {
        Value::String(s) => s == raw,
        Value::Number(n) => raw.trim().parse::<f64>().ok() == n.as_f64(),
        Value::Bool(b) => common::boolean(raw) == Some(*b),
        Value::Null => false,
        _ => false,
    }
}

/// Filters `records` (already in list order) by the parameters of `specs` present in `query`.
pub fn apply<'a>(
    records: impl Iterator<Item = &'a Record>,
    specs: &[Spec],
    query: &Query,
    db: &Db,
) -> ApiResult<Vec<&'a Record>> {
    type Pred<'p> = Box<dyn Fn(&Record) -> bool + 'p>;
    let mut preds: Vec<Pred> = Vec::new();
    let mut errors = FilterErrors::default();
    for (param, filter) in specs {
        let Some(raw) = query.get_nonempty(param) else {
            continue;
        };
        let raw = raw.to_string();
        match *filter {
            Filter::Exact(field) => preds.push(Box::new(move |r: &Record| {
                exact_matches(r.get(field), &raw)
            })),
            Filter::IExact(field) => {
                let want = raw.to_lowercase();
                preds.push(Box::new(move |r: &Record| {
                    r.str(field).is_some_and(|s| s.to_lowercase() == want)
                }))
            }
            Filter::IContains(field) => {
                let want = raw.to_lowercase();
                preds.push(Box::new(move |r: &Record| {
                    r.str(field)
                        .is_some_and(|s| s.to_lowercase().contains(&want))
                }))
            }
            Filter::Bool(field) => {
                if let Some(b) = common::boolean(&raw) {
                    preds.push(Box::new(move |r: &Record| {
                        r.get(field).as_bool() == Some(b)
                    }))
                }
            }
            Filter::NumberIn(field) => match common::number_in(&raw) {
                Ok(ids) => preds.push(Box::new(move |r: &Record| {
                    let id = if field == "id" {
                        Some(r.id)
                    } else {
                        r.u64(field)
                    };
                    id.and_then(|id| i64::try_from(id).ok())
                        .is_some_and(|id| ids.contains(&id))
                })),
                Err(e) => errors.add(param, e),
            },
            Filter::ModelChoice(field, target) => {
                match common::model_choice(&raw, |id| db.exists(target, id)) {
                    Ok(id) => preds.push(Box::new(move |r: &Record| r.u64(field) == Some(id))),
                    Err(e) => errors.add(param, e),
                }
            }
        }
    }
    errors.0.into_result().map_err(ApiError::Validation)?;
    Ok(records.filter(|r| preds.iter().all(|p| p(r))).collect())
}
