//! The sync decision: a pure function from the two sides' states, relative
//! to the last synced state, to what to do (after vdirsyncer's sync plan).
//!
//! "Changed" always means "differs from what both sides held at the last
//! sync". After every write we record what we wrote as the last synced
//! state, so our own write, read back from the other side, compares equal
//! and comes out as a no-op: that is the loop prevention.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::notes::Notes;
use crate::status::Status;

/// What one side holds for an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemState {
    pub status: Status,
    pub notes: Notes,
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
    /// The side whose change is newer wins; a tie goes to DefectDojo.
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

/// What to do with an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncAction {
    /// Both sides agree with the last sync (or with each other).
    NoOp,
    /// Write the tracker's state to DefectDojo (creating the finding if absent).
    PushToDojo,
    /// Write DefectDojo's state to the tracker.
    PullToTracker,
    /// The finding is gone from DefectDojo and the tracker did not change:
    /// forget the link; the next tracker change re-creates the finding.
    Unlink,
}

/// The decision and whether it settled a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub action: SyncAction,
    /// `Some(policy)` when both sides changed differently and `policy` chose.
    pub conflict: Option<ConflictPolicy>,
}

/// The inputs of one decision.
#[derive(Debug, Clone, Copy)]
pub struct SyncInputs<'a> {
    pub tracker: Option<&'a ItemState>,
    pub dojo: Option<&'a ItemState>,
    pub last_synced: Option<&'a ItemState>,
    /// When the tracker side last changed.
    pub tracker_changed_at: Option<DateTime<Utc>>,
    /// When the DefectDojo side last changed.
    pub dojo_changed_at: Option<DateTime<Utc>>,
}

pub fn decide(input: SyncInputs<'_>, policy: ConflictPolicy) -> Decision {
    use SideChange::*;
    let plain = |action| Decision {
        action,
        conflict: None,
    };
    let tracker = SideChange::of(input.tracker, input.last_synced);
    let dojo = SideChange::of(input.dojo, input.last_synced);
    match (tracker, dojo) {
        (Unchanged, Unchanged) | (Absent, Absent) => plain(SyncAction::NoOp),
        (Changed, Unchanged) => plain(SyncAction::PushToDojo),
        (Unchanged | Absent, Changed) => plain(SyncAction::PullToTracker),
        // Never linked (or deleted) and the tracker has something to say.
        (Changed, Absent) => plain(SyncAction::PushToDojo),
        (Unchanged, Absent) => plain(SyncAction::Unlink),
        (Absent, Unchanged) => plain(SyncAction::PullToTracker),
        (Changed, Changed) if input.tracker == input.dojo => plain(SyncAction::NoOp),
        (Changed, Changed) => {
            let dojo_wins = match policy {
                ConflictPolicy::DojoWins => true,
                ConflictPolicy::TrackerWins => false,
                ConflictPolicy::NewestWins => {
                    match (input.tracker_changed_at, input.dojo_changed_at) {
                        (Some(t), Some(d)) => d >= t,
                        (Some(_), None) => false,
                        _ => true,
                    }
                }
            };
            Decision {
                action: if dojo_wins {
                    SyncAction::PullToTracker
                } else {
                    SyncAction::PushToDojo
                },
                conflict: Some(policy),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(status: Status) -> ItemState {
        ItemState {
            status,
            notes: Notes::default(),
        }
    }

    fn run(
        t: Option<&ItemState>,
        d: Option<&ItemState>,
        l: Option<&ItemState>,
        p: ConflictPolicy,
    ) -> Decision {
        decide(
            SyncInputs {
                tracker: t,
                dojo: d,
                last_synced: l,
                tracker_changed_at: None,
                dojo_changed_at: None,
            },
            p,
        )
    }

    #[test]
    fn echoes_of_our_own_writes_are_no_ops() {
        let done = st(Status::Done);
        // We pushed `done`; both sides and the last sync now say done.
        assert_eq!(
            run(
                Some(&done),
                Some(&done),
                Some(&done),
                ConflictPolicy::DojoWins
            )
            .action,
            SyncAction::NoOp
        );
    }

    #[test]
    fn one_sided_changes_are_copied() {
        let (a, b) = (st(Status::InProgress), st(Status::Done));
        assert_eq!(
            run(Some(&b), Some(&a), Some(&a), ConflictPolicy::DojoWins).action,
            SyncAction::PushToDojo
        );
        assert_eq!(
            run(Some(&a), Some(&b), Some(&a), ConflictPolicy::TrackerWins).action,
            SyncAction::PullToTracker
        );
        assert_eq!(
            run(Some(&a), None, None, ConflictPolicy::DojoWins).action,
            SyncAction::PushToDojo
        );
        assert_eq!(
            run(None, Some(&a), None, ConflictPolicy::DojoWins).action,
            SyncAction::PullToTracker
        );
    }

    #[test]
    fn a_deleted_finding_unlinks_unless_the_tracker_changed() {
        let (a, b) = (st(Status::InProgress), st(Status::Done));
        assert_eq!(
            run(Some(&a), None, Some(&a), ConflictPolicy::DojoWins).action,
            SyncAction::Unlink
        );
        assert_eq!(
            run(Some(&b), None, Some(&a), ConflictPolicy::DojoWins).action,
            SyncAction::PushToDojo
        );
    }

    #[test]
    fn conflicts_follow_the_policy_and_are_reported() {
        let (l, t, d) = (
            st(Status::InProgress),
            st(Status::Blocked),
            st(Status::Done),
        );
        let dojo = run(Some(&t), Some(&d), Some(&l), ConflictPolicy::DojoWins);
        assert_eq!(
            dojo,
            Decision {
                action: SyncAction::PullToTracker,
                conflict: Some(ConflictPolicy::DojoWins)
            }
        );
        let tracker = run(Some(&t), Some(&d), Some(&l), ConflictPolicy::TrackerWins);
        assert_eq!(tracker.action, SyncAction::PushToDojo);
        let now = Utc::now();
        let newest = |t_at, d_at| {
            decide(
                SyncInputs {
                    tracker: Some(&t),
                    dojo: Some(&d),
                    last_synced: Some(&l),
                    tracker_changed_at: Some(t_at),
                    dojo_changed_at: Some(d_at),
                },
                ConflictPolicy::NewestWins,
            )
            .action
        };
        assert_eq!(
            newest(now, now - chrono::Duration::seconds(5)),
            SyncAction::PushToDojo
        );
        assert_eq!(
            newest(now - chrono::Duration::seconds(5), now),
            SyncAction::PullToTracker
        );
        assert_eq!(newest(now, now), SyncAction::PullToTracker);
    }

    #[test]
    fn both_sides_changed_to_the_same_state_is_not_a_conflict() {
        let (l, d) = (st(Status::InProgress), st(Status::Done));
        assert_eq!(
            run(Some(&d), Some(&d), Some(&l), ConflictPolicy::TrackerWins),
            Decision {
                action: SyncAction::NoOp,
                conflict: None
            }
        );
    }
}
