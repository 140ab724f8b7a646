//! Our own writes, told apart from edits made in DefectDojo.
//!
//! Every write is recorded, field by field, BEFORE it is sent (the worker
//! keeps the list per item in Redis with a TTL, `wstg_queue::Keys::intents`)
//! and forgotten once its answer is known good. What stays in the list is a
//! write whose outcome is unknown (timed out, connection broken after
//! sending: it may land seconds later), or partial: DefectDojo 3.2.0 answers
//! 500 to a PATCH carrying a tag with a case twin but still saves the other
//! fields of the PATCH and wipes the finding's tags to `[]`
//! (docs/defectdojo.md §7).
//!
//! A DefectDojo state is OURS when every field that differs from the last
//! synced state holds a value one of those writes carried, or, for the
//! status, the value the flags give once the status tag was wiped. Such a
//! state is never pulled into the tracker: the tracker's state is pushed
//! again. The price: while a write is remembered, an edit made in DefectDojo
//! that sets exactly a value of that write is taken for ours.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::dojo_state::DojoItem;
use crate::mapping::{status_from_tag, status_of};
use crate::notes::Notes;
use crate::status::Status;

use super::{state_of, ItemState};

/// One write to DefectDojo, as recorded before it was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlightWrite {
    pub id: Uuid,
    /// The finding written; `None` for a create.
    pub finding_id: Option<i64>,
    /// The status the write set (through flags or the status tag), if it
    /// touched the status.
    pub status: Option<Status>,
    /// The notes it set, if it carried notes.
    pub notes: Option<Notes>,
    /// The full tag list it carried, if it carried tags.
    pub tags: Option<Vec<String>>,
    pub sent_at: DateTime<Utc>,
}

/// True when `dojo` differs from `base` (the last synced state; `snapshot`
/// is our last view of the finding) only by values our remembered writes
/// carried, field by field: a late PATCH carries only the fields it changed
/// and lands on whatever the finding held by then.
pub fn explained_by_our_writes(
    dojo: &DojoItem,
    base: Option<&ItemState>,
    snapshot: Option<&DojoItem>,
    writes: &[InFlightWrite],
) -> bool {
    if writes.is_empty() {
        return false;
    }
    let mut now = state_of(dojo);
    now.assignee = super::assignee_against(dojo, base);
    if base == Some(&now) {
        return false;
    }
    let status_ok = base.is_some_and(|b| b.status == now.status)
        || writes.iter().any(|w| w.status == Some(now.status))
        || tags_wiped_by_us(dojo, base, snapshot, writes);
    let notes_ok = base.is_some_and(|b| b.notes == now.notes)
        || writes.iter().any(|w| w.notes.as_ref() == Some(&now.notes));
    // The assignee travels in the tags: ours if a write of ours carried it.
    let assignee_ok = base.is_some_and(|b| b.assignee == now.assignee)
        || writes.iter().any(|w| {
            w.tags
                .as_ref()
                .is_some_and(|t| crate::mapping::assignee_from_tags(t) == now.assignee)
        });
    status_ok && notes_ok && assignee_ok
}

/// The finding holds no status tag although we always write one, and one of
/// our writes carried tags: DefectDojo's failed tag write wiped them. Its
/// flags, read with the tags that write (or our snapshot) carried, give a
/// status that write or the last sync set.
fn tags_wiped_by_us(
    dojo: &DojoItem,
    base: Option<&ItemState>,
    snapshot: Option<&DojoItem>,
    writes: &[InFlightWrite],
) -> bool {
    if dojo.tags.iter().any(|t| status_from_tag(t).is_some()) {
        return false;
    }
    let wanted: Vec<Status> = writes
        .iter()
        .filter_map(|w| w.status)
        .chain(base.map(|b| b.status))
        .collect();
    writes
        .iter()
        .filter_map(|w| w.tags.as_ref())
        .chain(snapshot.map(|s| &s.tags))
        .any(|tags| wanted.contains(&status_of(&dojo.flags, tags)))
        && writes.iter().any(|w| w.tags.is_some())
}
