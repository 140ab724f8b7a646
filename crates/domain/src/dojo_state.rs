//! What wstg-bridge knows about an item's DefectDojo finding.

use serde::{Deserialize, Serialize};

/// The status flags of a DefectDojo finding that carry meaning for the
/// checklist. `risk_accepted` and `duplicate` are only ever read (set by a
/// lead in DefectDojo), never set by the bridge, but we still clear them when
/// the tracker reopens an item, as DefectDojo requires (see `mapping`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DojoFlags {
    pub active: bool,
    pub verified: bool,
    pub false_p: bool,
    pub out_of_scope: bool,
    pub risk_accepted: bool,
    pub is_mitigated: bool,
    pub duplicate: bool,
    #[serde(default)]
    pub under_review: bool,
}

/// The DefectDojo side of one checklist item, as last read or written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DojoItem {
    pub finding_id: i64,
    pub flags: DojoFlags,
    /// Tags exactly as DefectDojo returned them (case preserved).
    pub tags: Vec<String>,
    /// The text of the finding field that holds the tracker notes.
    pub notes: String,
    /// DefectDojo's `updated` timestamp (bumped by every save).
    #[serde(default)]
    pub updated: Option<String>,
    /// DefectDojo's `last_status_update` (bumped by status changes only).
    #[serde(default)]
    pub last_status_update: Option<String>,
}
