//! Where an item's last change came from (issue 12 item 6): the tracker
//! (who: the tracker user the change named) or DefectDojo (a lead's edit
//! the poller pulled), and when. Derived from the item's row alone, so the
//! page's 400-item answer costs no extra query.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::items::ItemRecord;
use crate::states::Direction;

/// Which side made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeSource {
    Tracker,
    Dojo,
}

/// `last_change` of an item answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastChange {
    pub source: ChangeSource,
    /// Who: the tracker user for a tracker change; for a DefectDojo change,
    /// `None` (DefectDojo's API names no editor of an API or UI edit in the
    /// finding: `last_reviewed_by` is set by some UI pages only).
    pub by: Option<String>,
    pub at: DateTime<Utc>,
}

/// The item's last change: a DefectDojo change pulled into the tracker
/// when it is newer than the tracker's own last change, else the tracker's.
/// `None` for an item neither side has touched.
pub fn last_change(r: &ItemRecord) -> Option<LastChange> {
    let tracker = r.tracker_changed_at.map(|at| LastChange {
        source: ChangeSource::Tracker,
        by: r.tracker_user.clone(),
        at,
    });
    // The tracker holds DefectDojo's state only after a pull; the time is
    // DefectDojo's own (`updated`), else when the bridge stored it.
    let dojo = (r.last_sync_direction == Some(Direction::DojoToTracker))
        .then(|| r.dojo_changed_at.or(r.last_sync_at))
        .flatten()
        .map(|at| LastChange {
            source: ChangeSource::Dojo,
            by: None,
            at,
        });
    match (tracker, dojo) {
        (Some(t), Some(d)) => Some(if d.at > t.at { d } else { t }),
        (t, d) => t.or(d),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::states::SyncState;
    use chrono::TimeZone;
    use wstg_domain::{Catalogue, CatalogueVersion, ProjectName};

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    fn record() -> ItemRecord {
        ItemRecord {
            project: ProjectName::parse("p").unwrap(),
            wstg_id: Catalogue::get(CatalogueVersion::V4_2)
                .parse_id("WSTG-INFO-01")
                .unwrap(),
            tracker: None,
            tracker_changed_at: None,
            tracker_event_id: None,
            tracker_user: None,
            finding_id: None,
            dojo: None,
            dojo_changed_at: None,
            last_synced: None,
            pushed_event_id: None,
            sync_state: SyncState::Pending,
            last_sync_at: None,
            last_sync_direction: None,
            last_error: None,
            updated_at: at(0),
        }
    }

    #[test]
    fn the_newer_side_is_the_source() {
        assert_eq!(last_change(&record()), None);
        let mut r = record();
        r.tracker_changed_at = Some(at(10));
        r.tracker_user = Some("alice".into());
        let t = last_change(&r).unwrap();
        assert_eq!(
            (t.source, t.by.as_deref(), t.at),
            (ChangeSource::Tracker, Some("alice"), at(10))
        );
        // Pushed: still the tracker's change.
        r.last_sync_direction = Some(Direction::TrackerToDojo);
        r.dojo_changed_at = Some(at(11));
        assert_eq!(last_change(&r).unwrap().source, ChangeSource::Tracker);
        // A lead's later edit, pulled.
        r.last_sync_direction = Some(Direction::DojoToTracker);
        r.dojo_changed_at = Some(at(20));
        let d = last_change(&r).unwrap();
        assert_eq!((d.source, d.by, d.at), (ChangeSource::Dojo, None, at(20)));
        // The tester changes it again afterwards.
        r.tracker_changed_at = Some(at(30));
        assert_eq!(last_change(&r).unwrap().source, ChangeSource::Tracker);
    }
}
