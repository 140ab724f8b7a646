//! The sync rule of evidence files (docs/sync-rules.md, "Evidence"): pure
//! functions from what the store holds and what DefectDojo lists on a
//! finding to what to do. The worker and the poller only execute them.
//!
//! - Upload once: a file is uploaded only if the finding's file list has no
//!   file titled with its evidence id. A worker that dies after DefectDojo
//!   stored the file but before the store recorded it finds it there on the
//!   retry and adopts it instead of uploading a second copy.
//! - Removed in DefectDojo: a file we uploaded that the finding no longer
//!   lists is marked removed, kept in the tracker and not uploaded again (a
//!   deliberate deletion in DefectDojo wins; the tester still has the file).
//! - Added in DefectDojo: a file on a linked finding that is not ours is
//!   copied to the tracker as origin `dojo`, once.

use std::collections::HashSet;

use uuid::Uuid;

use crate::evidence::{evidence_id_in_title, EvidenceOrigin, EvidenceState};

/// A file as DefectDojo lists it on a finding (`GET /findings/{id}/files/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DojoFile {
    pub id: i64,
    pub title: String,
}

/// What the store holds of one evidence file, as far as the rule needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownEvidence {
    pub id: Uuid,
    pub origin: EvidenceOrigin,
    pub state: EvidenceState,
    pub dojo_file_id: Option<i64>,
}

/// What the worker does with one evidence file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadStep {
    /// Nothing: it is in DefectDojo already, came from there, or was
    /// removed there.
    Nothing,
    /// The target has no finding yet: try again later.
    WaitForFinding,
    /// Our earlier upload is on the finding (its title names this evidence
    /// id): record that file, upload nothing.
    Adopt { file_id: i64 },
    /// Upload it to the finding.
    Upload,
}

/// Decides one upload. `listed` is the finding's file list read just
/// before (`None` when there is no finding to read).
pub fn plan_upload(ev: &KnownEvidence, finding: Option<i64>, listed: &[DojoFile]) -> UploadStep {
    if ev.origin == EvidenceOrigin::Dojo || ev.state != EvidenceState::Pending {
        return UploadStep::Nothing;
    }
    if finding.is_none() {
        return UploadStep::WaitForFinding;
    }
    match listed
        .iter()
        .filter(|f| evidence_id_in_title(&f.title) == Some(ev.id))
        .min_by_key(|f| f.id)
    {
        Some(f) => UploadStep::Adopt { file_id: f.id },
        None => UploadStep::Upload,
    }
}

/// Whether a finding's file list must be read: the file ids the finding
/// carries (`files` in the finding's JSON, free with the poller's listing)
/// differ from those the store knows for it. Equal sets cost no request.
pub fn files_changed(known: &[KnownEvidence], finding_files: &[i64]) -> bool {
    let ours: HashSet<i64> = known
        .iter()
        .filter(|k| k.state == EvidenceState::Uploaded)
        .filter_map(|k| k.dojo_file_id)
        .collect();
    let theirs: HashSet<i64> = finding_files.iter().copied().collect();
    ours != theirs
}

/// What the poller does after reading a linked finding's file list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilesObservation {
    /// Files added in DefectDojo: download and record as origin `dojo`.
    pub added: Vec<DojoFile>,
    /// Our pending uploads already on the finding: record the file id.
    pub adopted: Vec<(Uuid, i64)>,
    /// Files we know as uploaded that the finding no longer lists.
    pub removed: Vec<Uuid>,
}

/// Compares a linked finding's file list with what the store knows of it.
pub fn observe_files(known: &[KnownEvidence], listed: &[DojoFile]) -> FilesObservation {
    let mut out = FilesObservation::default();
    let known_files: HashSet<i64> = known.iter().filter_map(|k| k.dojo_file_id).collect();
    let listed_ids: HashSet<i64> = listed.iter().map(|f| f.id).collect();
    for f in listed {
        if known_files.contains(&f.id) {
            continue;
        }
        let pending_ours = evidence_id_in_title(&f.title).and_then(|id| {
            known
                .iter()
                .find(|k| k.id == id && k.state == EvidenceState::Pending)
        });
        match pending_ours {
            Some(k) => out.adopted.push((k.id, f.id)),
            None => out.added.push(f.clone()),
        }
    }
    for k in known {
        if k.state == EvidenceState::Uploaded {
            if let Some(id) = k.dojo_file_id {
                if !listed_ids.contains(&id) {
                    out.removed.push(k.id);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{dojo_title, EvidenceName};

    fn ev(origin: EvidenceOrigin, state: EvidenceState, file: Option<i64>) -> KnownEvidence {
        KnownEvidence {
            id: Uuid::from_u128(7),
            origin,
            state,
            dojo_file_id: file,
        }
    }

    fn ours(id: i64) -> DojoFile {
        DojoFile {
            id,
            title: dojo_title(Uuid::from_u128(7), &EvidenceName::sanitise("shot.png")),
        }
    }

    fn theirs(id: i64) -> DojoFile {
        DojoFile {
            id,
            title: format!("screenshot-{id}.png"),
        }
    }

    use EvidenceOrigin::{Dojo, Tracker};
    use EvidenceState::{Pending, RemovedInDojo, Uploaded};

    #[test]
    fn upload_table() {
        let other_ours = DojoFile {
            id: 9,
            title: dojo_title(Uuid::from_u128(8), &EvidenceName::sanitise("a.txt")),
        };
        type Case = (
            &'static str,
            KnownEvidence,
            Option<i64>,
            Vec<DojoFile>,
            UploadStep,
        );
        let cases: Vec<Case> = vec![
            (
                "first upload",
                ev(Tracker, Pending, None),
                Some(1),
                vec![],
                UploadStep::Upload,
            ),
            (
                "others' files do not count",
                ev(Tracker, Pending, None),
                Some(1),
                vec![theirs(3), other_ours],
                UploadStep::Upload,
            ),
            (
                "worker died after DefectDojo stored it: adopt, no second copy",
                ev(Tracker, Pending, None),
                Some(1),
                vec![theirs(3), ours(4)],
                UploadStep::Adopt { file_id: 4 },
            ),
            (
                "two copies (an older bridge raced): the oldest is adopted",
                ev(Tracker, Pending, None),
                Some(1),
                vec![ours(6), ours(4)],
                UploadStep::Adopt { file_id: 4 },
            ),
            (
                "no finding yet",
                ev(Tracker, Pending, None),
                None,
                vec![],
                UploadStep::WaitForFinding,
            ),
            (
                "already uploaded (redelivery)",
                ev(Tracker, Uploaded, Some(4)),
                Some(1),
                vec![],
                UploadStep::Nothing,
            ),
            (
                "removed in DefectDojo: not again",
                ev(Tracker, RemovedInDojo, Some(4)),
                Some(1),
                vec![],
                UploadStep::Nothing,
            ),
            (
                "came from DefectDojo",
                ev(Dojo, Uploaded, Some(4)),
                Some(1),
                vec![theirs(4)],
                UploadStep::Nothing,
            ),
        ];
        for (why, known, finding, listed, want) in cases {
            assert_eq!(plan_upload(&known, finding, &listed), want, "{why}");
        }
    }

    #[test]
    fn observe_table() {
        let cases: Vec<(&str, Vec<KnownEvidence>, Vec<DojoFile>, FilesObservation)> = vec![
            (
                "nothing anywhere",
                vec![],
                vec![],
                FilesObservation::default(),
            ),
            (
                "added in DefectDojo",
                vec![],
                vec![theirs(3)],
                FilesObservation {
                    added: vec![theirs(3)],
                    ..Default::default()
                },
            ),
            (
                "already recorded from DefectDojo: once",
                vec![KnownEvidence {
                    id: Uuid::from_u128(1),
                    ..ev(Dojo, Uploaded, Some(3))
                }],
                vec![theirs(3)],
                FilesObservation::default(),
            ),
            (
                "our pending upload landed: adopted, not added",
                vec![ev(Tracker, Pending, None)],
                vec![ours(4)],
                FilesObservation {
                    adopted: vec![(Uuid::from_u128(7), 4)],
                    ..Default::default()
                },
            ),
            (
                "deleted in DefectDojo",
                vec![ev(Tracker, Uploaded, Some(4))],
                vec![],
                FilesObservation {
                    removed: vec![Uuid::from_u128(7)],
                    ..Default::default()
                },
            ),
            (
                "already marked removed: no news",
                vec![ev(Tracker, RemovedInDojo, Some(4))],
                vec![],
                FilesObservation::default(),
            ),
        ];
        for (why, known, listed, want) in cases {
            assert_eq!(observe_files(&known, &listed), want, "{why}");
        }
    }

    #[test]
    fn listing_is_read_only_when_the_ids_differ() {
        let known = vec![ev(Tracker, Uploaded, Some(4))];
        assert!(!files_changed(&known, &[4]));
        assert!(files_changed(&known, &[4, 5]), "added in DefectDojo");
        assert!(files_changed(&known, &[]), "deleted in DefectDojo");
        assert!(!files_changed(&[ev(Tracker, RemovedInDojo, Some(4))], &[]));
        assert!(!files_changed(&[ev(Tracker, Pending, None)], &[]));
    }
}
