//! [`plan()`]: what to do with one item, decided from everything known about it.
//!
//! The worker calls it in a loop: load the inputs, plan, carry the plan out,
//! and, for [`Plan::Read`] or after a write's answer ([`super::interpret`]),
//! plan again with what it learnt. Every step of the table in
//! docs/sync-rules.md is a branch of this file.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::dojo_state::{DojoFlags, DojoItem};
use crate::event::DojoObservation;
use crate::mapping::{
    desired_tags_avoiding, flags_for, plan_patch_avoiding, status_of, tag_write, DesiredItem,
    FindingPatch,
};
use crate::status::Status;
use crate::wstg_id::WstgId;

use super::explain::{explained_by_our_writes, InFlightWrite};
use super::{dojo_changed_at, parse_time, state_against, ConflictPolicy, ItemState, SideChange};

/// Why an item is being synced.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// The tracker recorded a change: push its latest state.
    TrackerChanged,
    /// The poller saw the item's finding change (or vanish).
    Observed(DojoObservation),
    /// Look again: read the finding from DefectDojo and decide.
    Recheck,
}

/// What the store holds for the item (read under the item's lease).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordSide {
    /// The tracker's state; `None` until the tracker or a pull set it.
    pub tracker: Option<ItemState>,
    /// When the tracker side last changed (the tracker's clock).
    pub tracker_changed_at: Option<DateTime<Utc>>,
    /// The recorded tracker version is the one already pushed.
    pub tracker_pushed: bool,
    /// What both sides held after the last sync.
    pub last_synced: Option<ItemState>,
    /// Our last view of the linked finding (`None`: not linked).
    pub snapshot: Option<DojoItem>,
    /// When the item was last synced (written either way).
    pub last_write_at: Option<DateTime<Utc>>,
    /// The store already counts the item as synced.
    pub in_sync: bool,
}

/// What DefectDojo holds now, as far as this sync has read it.
#[derive(Debug, Clone, PartialEq)]
pub enum DojoRead {
    /// Not read in this sync (the trigger may bring it, or the snapshot do).
    NotRead,
    /// Read: there is no finding for the item.
    Absent,
    /// Read (or observed by the poller): the item's finding.
    Present(DojoItem),
}

/// The inputs of one planning step.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub wstg_id: WstgId,
    pub trigger: Trigger,
    /// `None`: the store has no row for the item.
    pub record: Option<RecordSide>,
    pub dojo: DojoRead,
    /// Our writes whose outcome is unknown, partial or late.
    pub in_flight: Vec<InFlightWrite>,
    /// Tags DefectDojo refused in this sync (a case twin, docs/defectdojo.md §7).
    pub avoid_tags: Vec<String>,
    pub policy: ConflictPolicy,
    pub now: DateTime<Utc>,
    /// Least time between two writes to one item.
    pub write_interval: Duration,
}

/// What to read from DefectDojo before deciding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// `GET findings/<id>/` (404: absent).
    Finding(i64),
    /// Look the item's finding up in the project's test.
    Search,
}

/// Which way a sync went (the store's `Direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    TrackerToDojo,
    DojoToTracker,
}

/// The audit row a plan asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub direction: Direction,
    pub old_status: Option<Status>,
    pub new_status: Option<Status>,
    /// `Some(policy)` when both sides changed differently and `policy` chose.
    pub conflict: Option<ConflictPolicy>,
    pub detail: String,
}

/// How a [`Plan::Link`] is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordedAs {
    /// The tracker's recorded version is in DefectDojo: mark it pushed.
    Pushed,
    /// DefectDojo's state is the synced one: record it as pulled.
    Pulled,
}

/// What to do with an item.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Nothing to do and nothing to record.
    NoOp,
    /// Read DefectDojo, then plan again with what was read.
    Read(Read),
    /// The item was written less than the write interval ago: push at `due`
    /// (changes until then coalesce).
    Defer { due: DateTime<Utc> },
    /// Make the finding.
    Create {
        sent: ItemState,
        flags: DojoFlags,
        tags: Vec<String>,
        audit: Audit,
    },
    /// PATCH exactly these fields (never empty).
    Patch {
        finding_id: i64,
        patch: FindingPatch,
        sent: ItemState,
        audit: Audit,
    },
    /// Copy DefectDojo's state to the tracker; first, if `align` is set, put
    /// the finding's status tag in line with its flags (one write).
    Pull {
        dojo: DojoItem,
        state: ItemState,
        align: Option<FindingPatch>,
        audit: Audit,
    },
    /// Both sides agree: record the link and DefectDojo's snapshot, no write.
    Link {
        dojo: DojoItem,
        state: ItemState,
        recorded_as: RecordedAs,
        audit: Option<Audit>,
    },
    /// The finding is gone from DefectDojo and the tracker did not change:
    /// forget the link; the next tracker change re-creates the finding.
    Unlink { audit: Audit },
}

/// How DefectDojo's side stands against the last synced state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DojoSide {
    Absent,
    Unchanged,
    Changed,
    /// Differs, but only by values our own unknown, partial or late writes
    /// carried: not an edit made in DefectDojo.
    Ours,
}

/// Decides one step. Pure: same inputs, same plan.
pub fn plan(input: &PlanInput) -> Plan {
    let empty = RecordSide::default();
    let record = input.record.as_ref().unwrap_or(&empty);

    if input.trigger == Trigger::TrackerChanged {
        // Nothing recorded, or the recorded version is already in DefectDojo.
        if input.record.is_none() || record.tracker_pushed {
            return Plan::NoOp;
        }
        // Coalescing: too soon after the last write, push at the interval's end.
        if let Some(due) = record
            .last_write_at
            .map(|last| last + input.write_interval)
            .filter(|due| *due > input.now)
        {
            return Plan::Defer { due };
        }
    }

    let dojo = match dojo_now(input, record) {
        Ok(d) => d,
        Err(read) => return Plan::Read(read),
    };

    let tracker = record.tracker.as_ref();
    let base = record.last_synced.as_ref();
    let dojo_state = dojo.as_ref().map(|d| state_against(d, base));
    let tracker_side = SideChange::of(tracker, base);
    let dojo_side = match (&dojo, &dojo_state) {
        (None, _) | (_, None) => DojoSide::Absent,
        (Some(d), Some(s)) => {
            // DefectDojo equal to our last view of it has not been edited
            // since, even where its state reads otherwise than the synced
            // one (a status tag that could not be written).
            if base == Some(s) || record.snapshot.as_ref() == Some(d) {
                DojoSide::Unchanged
            } else if explained_by_our_writes(d, base, record.snapshot.as_ref(), &input.in_flight) {
                DojoSide::Ours
            } else {
                DojoSide::Changed
            }
        }
    };

    // A change the poller saw in a list is confirmed by reading the finding
    // itself before anything is decided on it. DefectDojo saves a finding
    // and replaces its tags in two steps (docs/defectdojo.md §9), and a list
    // read in between shows the tags half replaced: taken for an edit, it
    // was pulled and its tags written back over the edit being saved (a
    // lead's reassignment lost on the real DefectDojo). One GET per change
    // seen; unchanged findings still cost nothing.
    if let (Trigger::Observed(DojoObservation::Present(_)), DojoRead::NotRead, Some(d)) =
        (&input.trigger, &input.dojo, &dojo)
    {
        if dojo_side == DojoSide::Changed {
            return Plan::Read(Read::Finding(d.finding_id));
        }
    }

    // The tester acted and there is no finding: make it.
    if input.trigger == Trigger::TrackerChanged && dojo.is_none() {
        return match tracker {
            Some(t) => create(input, t, None),
            None => Plan::NoOp,
        };
    }

    use SideChange as T;
    match (tracker_side, dojo_side, dojo) {
        (T::Absent, DojoSide::Absent, _) => Plan::NoOp,
        (T::Changed, DojoSide::Absent, _) => match tracker {
            Some(t) => create(input, t, None),
            None => Plan::NoOp,
        },
        (T::Unchanged, DojoSide::Absent, _) => match &record.snapshot {
            Some(s) => Plan::Unlink {
                audit: Audit {
                    direction: Direction::DojoToTracker,
                    old_status: tracker.map(|t| t.status),
                    new_status: tracker.map(|t| t.status),
                    conflict: None,
                    detail: format!(
                        "finding {} deleted in DefectDojo: unlinked; the next tracker change re-creates it",
                        s.finding_id
                    ),
                },
            },
            None => Plan::NoOp,
        },
        (_, _, None) => Plan::NoOp,
        (T::Unchanged, DojoSide::Unchanged, Some(d)) => link_if_new(record, d, RecordedAs::Pulled),
        (T::Changed, DojoSide::Unchanged, Some(d)) => match tracker {
            Some(t) => push(input, record, t, d, None, "finding updated"),
            None => Plan::NoOp,
        },
        (_, DojoSide::Ours, Some(d)) => match tracker {
            // Our own write, not an edit: the tracker's state goes again.
            Some(t) => push(
                input,
                record,
                t,
                d,
                None,
                "DefectDojo held what our own failed, partial or late write left; the tracker's state written again",
            ),
            None => link_if_new(record, d, RecordedAs::Pulled),
        },
        (T::Unchanged | T::Absent, DojoSide::Changed, Some(d)) => {
            pull(input, record, d, None, "DefectDojo change copied to the tracker")
        }
        (T::Absent, DojoSide::Unchanged, Some(d)) => {
            pull(input, record, d, None, "DefectDojo state copied to the tracker")
        }
        (T::Changed, DojoSide::Changed, Some(d)) => {
            let t = tracker.expect("a changed tracker side holds a state");
            if Some(t) == dojo_state.as_ref() {
                // Both sides moved to the same state: no conflict.
                return link_if_new(record, d, recorded_as(record));
            }
            let policy = input.policy;
            let dojo_at = dojo_state
                .as_ref()
                .and_then(|s| dojo_changed_at(&d, s, base));
            if dojo_wins(policy, record.tracker_changed_at, dojo_at) {
                pull(
                    input,
                    record,
                    d,
                    Some(policy),
                    "conflict: both sides changed; DefectDojo's state kept",
                )
            } else {
                push(
                    input,
                    record,
                    t,
                    d,
                    Some(policy),
                    "conflict: both sides changed; the tracker's state kept",
                )
            }
        }
    }
}

/// Under `newest_wins`: DefectDojo's change wins when it is not older than
/// the tracker's (a tie goes to DefectDojo); a side with no time loses to a
/// side with one (we cannot call an undated change newer); with no time on
/// either side, DefectDojo wins.
pub(super) fn dojo_wins(
    policy: ConflictPolicy,
    tracker_at: Option<DateTime<Utc>>,
    dojo_at: Option<DateTime<Utc>>,
) -> bool {
    match policy {
        ConflictPolicy::DojoWins => true,
        ConflictPolicy::TrackerWins => false,
        ConflictPolicy::NewestWins => match (tracker_at, dojo_at) {
            (Some(t), Some(d)) => d >= t,
            (Some(_), None) => false,
            (None, _) => true,
        },
    }
}

/// DefectDojo's side for this decision, or what to read first.
fn dojo_now(input: &PlanInput, record: &RecordSide) -> Result<Option<DojoItem>, Read> {
    match &input.dojo {
        DojoRead::Absent => return Ok(None),
        DojoRead::Present(d) => return Ok(Some(d.clone())),
        DojoRead::NotRead => {}
    }
    let snapshot = record.snapshot.as_ref();
    match (&input.trigger, snapshot) {
        (Trigger::Observed(DojoObservation::Present(o)), Some(known)) if !is_fresh(o, known) => {
            // A reading older than our snapshot (it raced our write).
            Ok(Some(known.clone()))
        }
        (Trigger::Observed(DojoObservation::Present(o)), _) => Ok(Some(o.clone())),
        (Trigger::Observed(DojoObservation::Deleted { finding_id }), Some(s))
            if s.finding_id == *finding_id =>
        {
            Ok(None)
        }
        (Trigger::Observed(DojoObservation::Deleted { .. }), other) => Ok(other.cloned()),
        // A tracker change trusts the snapshot: one PATCH per change, no GET.
        (Trigger::TrackerChanged, Some(s)) => Ok(Some(s.clone())),
        (Trigger::TrackerChanged, None) => Err(Read::Search),
        (Trigger::Recheck, Some(s)) => Err(Read::Finding(s.finding_id)),
        (Trigger::Recheck, None) => Err(Read::Search),
    }
}

/// True when `observed` is not older than `known`. DefectDojo bumps
/// `updated` on every save, so an older `updated` is an old reading. At the
/// same `updated` the two are readings of one save, which can differ in
/// their tags alone: DefectDojo replaces the tags after the save
/// (docs/defectdojo.md §9). A reading with no tags is the one taken in
/// between; one with tags that differs has the tag step done.
pub fn is_fresh(observed: &DojoItem, known: &DojoItem) -> bool {
    if observed.finding_id != known.finding_id {
        return true;
    }
    match (
        parse_time(observed.updated.as_deref()),
        parse_time(known.updated.as_deref()),
    ) {
        (Some(o), Some(k)) if o == k => observed != known && !observed.tags.is_empty(),
        (Some(o), Some(k)) => o > k,
        _ => observed != known,
    }
}

fn recorded_as(record: &RecordSide) -> RecordedAs {
    if record.tracker_pushed {
        RecordedAs::Pulled
    } else {
        RecordedAs::Pushed
    }
}

/// Both sides agree: record the snapshot only if it is news.
fn link_if_new(record: &RecordSide, d: DojoItem, as_: RecordedAs) -> Plan {
    if record.snapshot.as_ref() == Some(&d) && record.in_sync {
        return Plan::NoOp;
    }
    let state = state_against(&d, record.last_synced.as_ref().or(record.tracker.as_ref()));
    Plan::Link {
        state,
        dojo: d,
        recorded_as: as_,
        audit: None,
    }
}

fn create(input: &PlanInput, t: &ItemState, conflict: Option<ConflictPolicy>) -> Plan {
    Plan::Create {
        sent: t.clone(),
        flags: flags_for(t.status),
        tags: crate::mapping::with_assignee(
            &desired_tags_avoiding(&[], &input.wstg_id, t.status, &input.avoid_tags),
            t.assignee.as_ref(),
        ),
        audit: Audit {
            direction: Direction::TrackerToDojo,
            old_status: None,
            new_status: Some(t.status),
            conflict,
            detail: "finding created".to_owned(),
        },
    }
}

fn push(
    input: &PlanInput,
    record: &RecordSide,
    t: &ItemState,
    d: DojoItem,
    conflict: Option<ConflictPolicy>,
    detail: &str,
) -> Plan {
    let old = status_of(&d.flags, &d.tags);
    let patch = plan_patch_avoiding(
        &d,
        &DesiredItem {
            wstg_id: &input.wstg_id,
            status: t.status,
            notes: &t.notes,
            assignee: t.assignee.as_ref(),
        },
        &input.avoid_tags,
    );
    let audit = Audit {
        direction: Direction::TrackerToDojo,
        old_status: Some(old),
        new_status: Some(t.status),
        conflict,
        detail: detail.to_owned(),
    };
    if patch.is_empty() {
        // DefectDojo already says what the tracker says.
        let quiet = old == t.status && conflict.is_none();
        return Plan::Link {
            state: t.clone(),
            dojo: d,
            recorded_as: if record.tracker_pushed {
                RecordedAs::Pulled
            } else {
                RecordedAs::Pushed
            },
            audit: (!quiet).then(|| Audit {
                detail: if conflict.is_some() {
                    detail.to_owned()
                } else {
                    "finding already matched".to_owned()
                },
                ..audit
            }),
        };
    }
    Plan::Patch {
        finding_id: d.finding_id,
        patch,
        sent: t.clone(),
        audit,
    }
}

fn pull(
    input: &PlanInput,
    record: &RecordSide,
    d: DojoItem,
    conflict: Option<ConflictPolicy>,
    detail: &str,
) -> Plan {
    // Read against the last synced state, as the decision was: a finding
    // with no status tag is the open status it was (not Not Started).
    let state = state_against(&d, record.last_synced.as_ref().or(record.tracker.as_ref()));
    // After a pull the status tag says what the flags say (one write; the
    // recorded answer compares equal next time, so it never loops).
    let align =
        tag_write(&d, &input.wstg_id, state.status, &input.avoid_tags).map(|tags| FindingPatch {
            tags: Some(tags),
            ..FindingPatch::default()
        });
    Plan::Pull {
        audit: Audit {
            direction: Direction::DojoToTracker,
            old_status: record.tracker.as_ref().map(|t| t.status),
            new_status: Some(state.status),
            conflict,
            detail: if align.is_some() {
                format!("{detail}; status tag aligned")
            } else {
                detail.to_owned()
            },
        },
        align,
        state,
        dojo: d,
    }
}
