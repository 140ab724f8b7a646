//! Assignment on the read side (issue 12 item 3): the items filter by
//! assignee and the dashboard's counts by assignee. Setting and clearing
//! an assignee is a field of the tracker change (`POST /api/wstg/sync`,
//! `assignee`), so it is ordered with the item's other changes.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use wstg_domain::Username;
use wstg_store::ItemRecord;

use crate::errors::ApiError;

/// `?assignee=`: nobody asked, one username, or `-` for the unassigned.
pub enum AssigneeFilter {
    All,
    Unassigned,
    Only(Username),
}

impl AssigneeFilter {
    pub fn parse(raw: Option<&str>) -> Result<AssigneeFilter, ApiError> {
        match raw.map(str::trim) {
            None | Some("") => Ok(AssigneeFilter::All),
            Some("-") => Ok(AssigneeFilter::Unassigned),
            Some(name) => Username::parse(name)
                .map(AssigneeFilter::Only)
                .map_err(|e| ApiError::invalid("assignee", e)),
        }
    }

    pub fn keeps(&self, assignee: Option<&str>) -> bool {
        match self {
            AssigneeFilter::All => true,
            AssigneeFilter::Unassigned => assignee.is_none(),
            AssigneeFilter::Only(who) => assignee == Some(who.as_str()),
        }
    }
}

/// Items per assignee among the items that have a state (`-`: unassigned).
pub fn by_assignee(items: &[ItemRecord]) -> Value {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for t in items.iter().filter_map(|i| i.tracker.as_ref()) {
        let key = t
            .assignee
            .as_ref()
            .map_or_else(|| "-".to_owned(), |a| a.as_str().to_owned());
        *counts.entry(key).or_default() += 1;
    }
    json!(counts)
}
