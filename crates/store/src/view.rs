//! `ItemView`: one checklist item as the tracker sees it, the catalogue
//! entry merged with what the store knows. The same shape is served by
//! `GET /api/wstg/items` and pushed on the change feed, so a page can apply
//! either without knowing which it got.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use wstg_domain::{CatalogueEntry, ProjectName};

use crate::items::ItemRecord;
use crate::states::{Direction, SyncState};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemView {
    pub project: ProjectName,
    pub wstg_id: String,
    pub title: String,
    pub category_id: String,
    pub category_name: String,
    /// `None` until the item is first set on either side.
    pub status: Option<String>,
    pub notes: String,
    /// Who the item is assigned to (a lowercase username), if anyone.
    #[serde(default)]
    pub assignee: Option<String>,
    pub finding_id: Option<i64>,
    /// The finding's page in DefectDojo's UI.
    pub finding_url: Option<String>,
    pub sync_state: Option<SyncState>,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub last_sync_direction: Option<Direction>,
    pub last_error: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Where the last change came from, who made it and when (issue 12
    /// item 6); `None` for an item neither side has touched.
    #[serde(default)]
    pub last_change: Option<crate::provenance::LastChange>,
}

impl ItemView {
    /// `dojo_ui` is DefectDojo's base URL (no trailing slash needed).
    pub fn new(
        project: &ProjectName,
        entry: &CatalogueEntry,
        record: Option<&ItemRecord>,
        dojo_ui: &str,
    ) -> ItemView {
        let base = dojo_ui.trim_end_matches('/');
        ItemView {
            project: project.clone(),
            wstg_id: entry.id.clone(),
            title: entry.title.clone(),
            category_id: entry.category_id.clone(),
            category_name: entry.category_name.clone(),
            status: record
                .and_then(|r| r.tracker.as_ref())
                .map(|t| t.status.as_str().to_owned()),
            notes: record
                .and_then(|r| r.tracker.as_ref())
                .map(|t| t.notes.as_str().to_owned())
                .unwrap_or_default(),
            assignee: record
                .and_then(|r| r.tracker.as_ref())
                .and_then(|t| t.assignee.as_ref())
                .map(|a| a.as_str().to_owned()),
            finding_id: record.and_then(|r| r.finding_id),
            finding_url: record
                .and_then(|r| r.finding_id)
                .map(|id| format!("{base}/finding/{id}")),
            sync_state: record.map(|r| r.sync_state),
            last_sync_at: record.and_then(|r| r.last_sync_at),
            last_sync_direction: record.and_then(|r| r.last_sync_direction),
            last_error: record.and_then(|r| r.last_error.clone()),
            updated_at: record.map(|r| r.updated_at),
            last_change: record.and_then(crate::provenance::last_change),
        }
    }
}
