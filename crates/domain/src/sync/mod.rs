//! The sync rule, in one place: pure functions, no I/O (after vdirsyncer's
//! sync planning).
//!
//! - [`plan()`]: from an item's record, what DefectDojo holds now, our writes
//!   whose outcome is unknown, partial or late, the policy and the clock, to a
//!   [`Plan`]: no-op, defer, read first, create, patch, pull, link, unlink,
//!   with what to audit;
//! - [`interpret()`]: after a write, what DefectDojo's answer (or failure)
//!   means;
//! - [`observe`]: what the poller counts as a change, and which finding
//!   stands for an item.
//!
//! "Changed" always means "differs from what both sides held at the last
//! sync". After every write we record what we wrote as the last synced
//! state, so our own write, read back from the other side, compares equal
//! and comes out as a no-op: that is the loop prevention. A DefectDojo state
//! that our own failed, partial or late writes explain field by field is not
//! a change made in DefectDojo either ([`explain`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::notes::Notes;
use crate::status::Status;

mod answer;
pub mod comments;
pub mod evidence;
pub mod explain;
pub mod observe;
mod plan;
#[cfg(test)]
mod tests;
pub mod vulnerability;

pub use answer::{collision_warning, interpret, Answer, Verdict, WriteKind};
pub use explain::{explained_by_our_writes, InFlightWrite};
pub use plan::{
    is_fresh, plan, Audit, Direction, DojoRead, Plan, PlanInput, Read, RecordSide, RecordedAs,
    Trigger,
};

/// What one side holds for an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemState {
    pub status: Status,
    pub notes: Notes,
    /// Who the item is assigned to (issue 12 item 3); in DefectDojo the
    /// finding's `wstg-assignee:<username>` tag (docs/sync-rules.md).
    #[serde(default)]
    pub assignee: Option<crate::Username>,
}

/// How one side stands against the last synced state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideChange {
    Unchanged,
    Changed,
    /// The side holds nothing: never set in the tracker, or no finding (never
    /// created, or deleted in DefectDojo).
    Absent,
}

impl SideChange {
    pub fn of(side: Option<&ItemState>, last_synced: Option<&ItemState>) -> SideChange {
        match (side, last_synced) {
            (None, _) => SideChange::Absent,
            (Some(s), Some(l)) if s == l => SideChange::Unchanged,
            (Some(_), _) => SideChange::Changed,
        }
    }
}

/// Who wins when both sides changed the same item differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// DefectDojo is the record of findings: its state wins (the original design).
    #[default]
    DojoWins,
    TrackerWins,
    /// The side whose change is newer wins; a tie goes to DefectDojo, and
    /// a DefectDojo change with no time loses to a tracker change with one.
    NewestWins,
}

impl ConflictPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictPolicy::DojoWins => "dojo_wins",
            ConflictPolicy::TrackerWins => "tracker_wins",
            ConflictPolicy::NewestWins => "newest_wins",
        }
    }
}

impl fmt::Display for ConflictPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not a conflict policy (expected dojo_wins, tracker_wins or newest_wins)")]
pub struct UnknownConflictPolicy(pub String);

impl FromStr for ConflictPolicy {
    type Err = UnknownConflictPolicy;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "dojo_wins" | "defectdojo_wins" => Ok(ConflictPolicy::DojoWins),
            "tracker_wins" => Ok(ConflictPolicy::TrackerWins),
            "newest_wins" => Ok(ConflictPolicy::NewestWins),
            _ => Err(UnknownConflictPolicy(s.to_owned())),
        }
    }
}

/// The checklist state a finding stands for (the reverse mapping).
pub fn state_of(d: &crate::DojoItem) -> ItemState {
    ItemState {
        status: crate::mapping::status_of(&d.flags, &d.tags),
        notes: Notes::parse(d.notes.clone()).unwrap_or_default(),
        assignee: crate::mapping::assignee_from_tags(&d.tags),
    }
}

/// [`state_of`], read against what the bridge knows the item to be. A
/// finding with no status tag (one whose tags the bridge must not write:
/// `mapping::holds_foreign_case_tags`) cannot tell the open statuses apart:
/// while its flags say "open" and `known` is an open status, it says
/// `known`, not Not Started. Without this, a tester's Blocked written to such
/// a finding would read back as a change made in DefectDojo.
pub fn state_against(d: &crate::DojoItem, known: Option<&ItemState>) -> ItemState {
    let mut state = state_of(d);
    state.assignee = assignee_against(d, known);
    let untagged = !d
        .tags
        .iter()
        .any(|t| crate::mapping::status_from_tag(t).is_some());
    if let Some(known) = known {
        if untagged && is_open(state.status) && is_open(known.status) {
            state.status = known.status;
        }
    }
    state
}

/// The finding's assignee, read against what the bridge knows. It keeps
/// `known`'s while the finding has no assignee tag and:
/// - its tags are ones the bridge must not write
///   (`mapping::holds_foreign_case_tags`), so it cannot carry the tag; or
/// - it has no tags at all. DefectDojo saves a finding first and replaces
///   its tags in a second step, and a read in between shows none
///   (docs/defectdojo.md §9). That is a torn read, not an unassignment (a
///   lead unassigning removes one tag), and read as one it once overwrote a
///   lead's reassignment made a moment before.
pub fn assignee_against(d: &crate::DojoItem, known: Option<&ItemState>) -> Option<crate::Username> {
    let tagged = crate::mapping::assignee_from_tags(&d.tags);
    if tagged.is_none() && (d.tags.is_empty() || crate::mapping::holds_foreign_case_tags(&d.tags)) {
        return known.and_then(|k| k.assignee.clone());
    }
    tagged
}

/// The statuses DefectDojo shows alike, as an active finding.
fn is_open(status: crate::Status) -> bool {
    matches!(
        status,
        crate::Status::NotStarted | crate::Status::InProgress | crate::Status::Blocked
    )
}

/// An RFC 3339 time as DefectDojo writes it, if it parses.
pub fn parse_time(t: Option<&str>) -> Option<chrono::DateTime<chrono::Utc>> {
    t.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// When DefectDojo's side last changed, as DefectDojo says, given its state
/// now (`state`) and the last synced one (`base`). A status change moves
/// `last_status_update`; a notes or tag edit (the assignee) moves only
/// `updated`, which every save moves (docs/defectdojo.md §1). So a change of
/// the status alone is dated by `last_status_update`, and any other change
/// by `updated` (a notes edit made after the last status change would
/// otherwise look as old as that status change, and lose under
/// `newest_wins` to an older tracker change). Each falls back on the other.
pub fn dojo_changed_at(
    d: &crate::DojoItem,
    state: &ItemState,
    base: Option<&ItemState>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let status_time = parse_time(d.last_status_update.as_deref());
    let save_time = parse_time(d.updated.as_deref());
    let status_alone = base.is_some_and(|b| {
        b.status != state.status && b.notes == state.notes && b.assignee == state.assignee
    });
    if status_alone {
        status_time.or(save_time)
    } else {
        save_time.or(status_time)
    }
}
