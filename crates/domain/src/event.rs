//! The event envelope carried on the queue.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::dojo_state::DojoItem;
use crate::notes::Notes;
use crate::project::ProjectName;
use crate::status::Status;
use crate::wstg_id::WstgId;

/// One unit of work on the queue. The envelope is self-contained JSON so an
/// operator can read it with `redis-cli XRANGE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Stable identity: kept through retries and dead-letter replays, so an
    /// event is applied once however often it is delivered.
    pub event_id: Uuid,
    pub project: ProjectName,
    /// When wstg-bridge accepted the event.
    pub received_at: DateTime<Utc>,
    /// How many times applying it has failed so far.
    #[serde(default)]
    pub attempt: u32,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A tester changed an item in the tracker.
    TrackerChange(TrackerChange),
    /// Bring one item, or a whole project, in line with DefectDojo now
    /// (emitted by the poller and by `wstgctl sync`).
    Reconcile {
        #[serde(default)]
        wstg_id: Option<WstgId>,
        reason: String,
        /// What the poller saw in DefectDojo, so the worker needs no call to
        /// read it again. Absent for a plain "look again" request.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        observed: Option<DojoObservation>,
    },
    /// Push the item's latest recorded tracker state (a write deferred to
    /// coalesce changes; see `worker.item_write_interval_ms`).
    PushItem { wstg_id: WstgId },
}

impl EventKind {
    /// A deferred "push this item's latest tracker state", with an id that
    /// is the same for every deferral of one item, so waiting deferrals of
    /// an item collapse into one.
    pub fn push_item(project: &ProjectName, wstg_id: &WstgId) -> (Uuid, EventKind) {
        let name = format!("wstg-bridge/push/{project}/{wstg_id}");
        (
            Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes()),
            EventKind::PushItem {
                wstg_id: wstg_id.clone(),
            },
        )
    }
}

/// The DefectDojo side of an item as the poller observed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "finding", rename_all = "snake_case")]
pub enum DojoObservation {
    /// The item's finding, as listed.
    Present(DojoItem),
    /// The finding the item was linked to is no longer in the test.
    Deleted { finding_id: i64 },
}

/// The tracker's new state for one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackerChange {
    pub wstg_id: WstgId,
    pub status: Status,
    /// `None` leaves the notes as they are.
    #[serde(default)]
    pub notes: Option<Notes>,
    /// When the tester made the change (the tracker's clock), used to order
    /// changes to one item: an older change never overwrites a newer one.
    pub occurred_at: DateTime<Utc>,
    #[serde(default)]
    pub user: Option<String>,
}

impl Envelope {
    pub fn new(project: ProjectName, kind: EventKind, received_at: DateTime<Utc>) -> Envelope {
        Envelope {
            event_id: Uuid::now_v7(),
            project,
            received_at,
            attempt: 0,
            kind,
        }
    }

    /// The item this event concerns, if it concerns one item.
    pub fn wstg_id(&self) -> Option<&WstgId> {
        match &self.kind {
            EventKind::TrackerChange(c) => Some(&c.wstg_id),
            EventKind::Reconcile { wstg_id, .. } => wstg_id.as_ref(),
            EventKind::PushItem { wstg_id } => Some(wstg_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{Catalogue, CatalogueVersion};

    #[test]
    fn round_trips_through_json_with_a_readable_shape() {
        let id = Catalogue::get(CatalogueVersion::V4_2)
            .parse_id("WSTG-INFO-02")
            .unwrap();
        let env = Envelope::new(
            ProjectName::default_project(),
            EventKind::TrackerChange(TrackerChange {
                wstg_id: id,
                status: Status::Blocked,
                notes: Some(Notes::parse("waiting for creds").unwrap()),
                occurred_at: Utc::now(),
                user: Some("alice".into()),
            }),
            Utc::now(),
        );
        let json = serde_json::to_value(&env).unwrap();
        assert_eq!(json["type"], "tracker_change");
        assert_eq!(json["wstg_id"], "WSTG-INFO-02");
        assert_eq!(json["status"], "blocked");
        let back: Envelope = serde_json::from_value(json).unwrap();
        assert_eq!(back, env);
    }
}
