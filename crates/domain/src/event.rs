//! The event envelope carried on the queue.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::dojo_state::DojoItem;
use crate::notes::Notes;
use crate::project::ProjectName;
use crate::status::Status;
use crate::vulnerability::{VulnFields, VulnStatus};
use crate::wstg_id::WstgId;

/// The envelope layout this build writes, and the newest it reads.
///
/// Raise it when a change to [`Envelope`] or [`EventKind`] would be misread
/// by a worker of the previous release (a new event kind, a field whose
/// absence changes the meaning). An older worker then dead-letters such an
/// event with [`EnvelopeError::UnsupportedVersion`] instead of misapplying
/// it, and an operator replays it once every worker is upgraded
/// (docs/redis-keys.md, "The event envelope").
pub const ENVELOPE_VERSION: u32 = 2;

/// The version of envelopes queued before the field existed: their layout is
/// version 1's, so nothing queued before an upgrade is lost.
const UNVERSIONED: u32 = 1;

fn unversioned() -> u32 {
    UNVERSIONED
}

/// Why a queued payload is not an envelope this build can apply. Both are
/// permanent: the payload goes to the dead-letter queue as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Written by a newer (or unknown) release: replay it after upgrading.
    #[error(
        "envelope version {found} is not supported by this build (it reads versions 1 to {supported}); \
         replay it after upgrading every worker"
    )]
    UnsupportedVersion { found: u64, supported: u32 },
    /// Not an envelope at all.
    #[error("envelope JSON: {0}")]
    Malformed(String),
}

/// One unit of work on the queue. The envelope is self-contained JSON so an
/// operator can read it with `redis-cli XRANGE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The envelope layout ([`ENVELOPE_VERSION`] when written by this build;
    /// absent, and read as 1, in events queued before versions existed).
    #[serde(default = "unversioned")]
    pub version: u32,
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
    /// Upload one evidence file to its target's finding (issue 12 item 2).
    /// Only the id travels: the bytes are in the store, never in Redis.
    /// (Added in envelope version 2.)
    Evidence { wstg_id: WstgId, evidence_id: Uuid },
    /// A vulnerability under an item (envelope version 2): sync the stored
    /// one (`vulnerability_id`: recorded or edited in the tracker), or bring
    /// back a finding the poller saw (`observed`).
    Vulnerability {
        wstg_id: WstgId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vulnerability_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        observed: Option<VulnObservation>,
    },
    /// The item's discussion has tracker comments to post as DefectDojo
    /// notes (issue 12 item 4; `wstg_domain::sync::comments`).
    SyncComments { wstg_id: WstgId },
}

/// A vulnerability finding as the poller saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "finding", rename_all = "snake_case")]
pub enum VulnObservation {
    /// Listed under the item's id tag.
    Present {
        finding_id: i64,
        fields: VulnFields,
        status: VulnStatus,
        /// DefectDojo's `updated`, as it wrote it.
        #[serde(default)]
        updated: Option<String>,
    },
    /// A linked vulnerability finding no longer listed: read it again.
    Missing { finding_id: i64 },
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
    /// Issue 12 item 3: absent keeps the assignee, `null` clears it, a
    /// username sets it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub assignee: Option<Option<crate::Username>>,
}

/// A field that is present (even as `null`) is `Some`.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

impl Envelope {
    pub fn new(project: ProjectName, kind: EventKind, received_at: DateTime<Utc>) -> Envelope {
        Envelope {
            version: ENVELOPE_VERSION,
            event_id: Uuid::now_v7(),
            project,
            received_at,
            attempt: 0,
            kind,
        }
    }

    /// Reads an envelope as queued, checking its version first, so a
    /// newer release's event is refused by its version rather than misread
    /// (or refused for a field it does not know).
    pub fn from_json(raw: &str) -> Result<Envelope, EnvelopeError> {
        /// Only the version, whatever else the payload holds.
        #[derive(Deserialize)]
        struct Probe {
            version: Option<serde_json::Value>,
        }
        let unsupported = |found: u64| EnvelopeError::UnsupportedVersion {
            found,
            supported: ENVELOPE_VERSION,
        };
        let supported =
            |v: u64| (u64::from(UNVERSIONED)..=u64::from(ENVELOPE_VERSION)).contains(&v);
        match serde_json::from_str::<Envelope>(raw) {
            Ok(env) if supported(u64::from(env.version)) => Ok(env),
            Ok(env) => Err(unsupported(u64::from(env.version))),
            // A newer layout may not decode at all: its version says why.
            Err(e) => match serde_json::from_str::<Probe>(raw) {
                Ok(Probe {
                    version: Some(serde_json::Value::Number(n)),
                }) if n.as_u64().is_some_and(|v| !supported(v)) => {
                    Err(unsupported(n.as_u64().unwrap_or_default()))
                }
                _ => Err(EnvelopeError::Malformed(e.to_string())),
            },
        }
    }

    /// The item this event concerns, if it concerns one item.
    pub fn wstg_id(&self) -> Option<&WstgId> {
        match &self.kind {
            EventKind::TrackerChange(c) => Some(&c.wstg_id),
            EventKind::Reconcile { wstg_id, .. } => wstg_id.as_ref(),
            EventKind::PushItem { wstg_id } => Some(wstg_id),
            EventKind::Evidence { wstg_id, .. } => Some(wstg_id),
            EventKind::Vulnerability { wstg_id, .. } => Some(wstg_id),
            EventKind::SyncComments { wstg_id } => Some(wstg_id),
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
                assignee: Some(Some(crate::Username::parse("bob").unwrap())),
            }),
            Utc::now(),
        );
        let json = serde_json::to_value(&env).unwrap();
        assert_eq!(json["version"], ENVELOPE_VERSION);
        assert_eq!(json["type"], "tracker_change");
        assert_eq!(json["wstg_id"], "WSTG-INFO-02");
        assert_eq!(json["status"], "blocked");
        let back: Envelope = serde_json::from_value(json).unwrap();
        assert_eq!(back, env);
    }

    fn reconcile_json(extra: &str) -> String {
        format!(
            r#"{{{extra}"event_id":"0190b5e4-5c4e-7000-8000-000000000001","project":"default","received_at":"2026-03-01T09:00:00Z","type":"reconcile","reason":"poll"}}"#
        )
    }

    #[test]
    fn an_envelope_queued_before_versions_existed_reads_as_version_1() {
        let env = Envelope::from_json(&reconcile_json("")).unwrap();
        assert_eq!(env.version, 1);
        let env = Envelope::from_json(&reconcile_json(r#""version":1,"#)).unwrap();
        assert_eq!(env.version, 1);
    }

    #[test]
    fn a_newer_version_is_refused_by_its_version_even_when_it_would_decode() {
        let newer = format!(r#""version":{},"#, ENVELOPE_VERSION + 1);
        let err = Envelope::from_json(&reconcile_json(&newer)).unwrap_err();
        assert_eq!(
            err,
            EnvelopeError::UnsupportedVersion {
                found: u64::from(ENVELOPE_VERSION + 1),
                supported: ENVELOPE_VERSION
            }
        );
        // A layout this build cannot decode at all still names its version.
        let err = Envelope::from_json(r#"{"version":7,"type":"teleport"}"#).unwrap_err();
        assert!(matches!(
            err,
            EnvelopeError::UnsupportedVersion { found: 7, .. }
        ));
        let err = Envelope::from_json(r#"{"version":0}"#).unwrap_err();
        assert!(matches!(
            err,
            EnvelopeError::UnsupportedVersion { found: 0, .. }
        ));
    }

    #[test]
    fn what_is_not_an_envelope_is_malformed() {
        for raw in ["not json", r#"{"version":1}"#, r#"{"version":"x"}"#, "[]"] {
            assert!(
                matches!(Envelope::from_json(raw), Err(EnvelopeError::Malformed(_))),
                "{raw}"
            );
        }
    }
}
