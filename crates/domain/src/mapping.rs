//! The lossless mapping between checklist statuses and DefectDojo findings.
//!
//! DefectDojo has no field for "in progress" or "blocked", and the original
//! design collapsed Not Started / In Progress / Blocked into one state. We
//! carry the exact status in one lowercase tag, `wstg-status:<status>`, and
//! set the status flags to the closest DefectDojo meaning:
//!
//! | status          | active | verified | is_mitigated | out_of_scope | DefectDojo shows            |
//! |-----------------|--------|----------|--------------|--------------|-----------------------------|
//! | not_started     | true   | false    | false        | false        | Active                      |
//! | in_progress     | true   | false    | false        | false        | Active                      |
//! | blocked         | true   | false    | false        | false        | Active                      |
//! | done            | false  | false    | true         | false        | Inactive, Mitigated         |
//! | not_applicable  | false  | false    | true         | true         | Inactive, Out Of Scope, Mitigated |
//!
//! `false_p`, `risk_accepted` and `duplicate` are always false in what we send.
//! Every row is a fixed point of DefectDojo's rules (docs/defectdojo.md §1): no rule in its
//! serializer rejects it and no pre-save rewrite changes it, whatever the
//! previous state, as long as we send every flag that differs from the
//! current finding (a PATCH is validated against the merged state).
//!
//! Reading back (`status_of`) the flags decide first, because a lead who acts
//! in DefectDojo changes flags, not our tag; the tag only splits the states
//! that flags cannot tell apart.

use crate::dojo_state::{DojoFlags, DojoItem};
use crate::notes::Notes;
use crate::status::Status;
use crate::username::Username;
use crate::wstg_id::WstgId;

/// The prefix of the status tag.
pub const STATUS_TAG_PREFIX: &str = "wstg-status:";

/// The tag every bridge finding carries.
pub const BRIDGE_TAG: &str = "wstg";

/// The prefix of the assignee tag (issue 12 item 3).
pub const ASSIGNEE_TAG_PREFIX: &str = "wstg-assignee:";

/// `wstg-assignee:alice`.
pub fn assignee_tag(who: &Username) -> String {
    format!("{ASSIGNEE_TAG_PREFIX}{who}")
}

/// The assignee the finding's tags name: the first `wstg-assignee:` tag (in
/// any case) whose rest is a username; none, or none that parses, is no
/// assignee.
pub fn assignee_from_tags(tags: &[String]) -> Option<Username> {
    tags.iter().find_map(|t| {
        let lower = t.to_ascii_lowercase();
        Username::parse(lower.strip_prefix(ASSIGNEE_TAG_PREFIX)?).ok()
    })
}

/// `tags` with every assignee tag replaced by `who`'s (or removed).
pub fn with_assignee(tags: &[String], who: Option<&Username>) -> Vec<String> {
    let mut out: Vec<String> = tags
        .iter()
        .filter(|t| !t.to_ascii_lowercase().starts_with(ASSIGNEE_TAG_PREFIX))
        .cloned()
        .collect();
    out.extend(who.map(assignee_tag));
    out
}

/// `wstg-status:in_progress`.
pub fn status_tag(status: Status) -> String {
    format!("{STATUS_TAG_PREFIX}{}", status.as_str())
}

/// The status a tag names, if it is a status tag (case-insensitive: a tag
/// PATCHed by a person may keep its case, docs/defectdojo.md §2).
pub fn status_from_tag(tag: &str) -> Option<Status> {
    let lower = tag.to_ascii_lowercase();
    let rest = lower.strip_prefix(STATUS_TAG_PREFIX)?;
    Status::ALL.into_iter().find(|s| s.as_str() == rest)
}

/// The flags wstg-bridge sends for a status.
pub fn flags_for(status: Status) -> DojoFlags {
    let open = DojoFlags {
        active: true,
        ..DojoFlags::default()
    };
    match status {
        Status::NotStarted | Status::InProgress | Status::Blocked => open,
        // DefectDojo's "close": inactive and mitigated. Not verified, so a
        // lead who reopens it (active again) is seen as work resumed, while a
        // lead who verifies an open finding is seen as done.
        Status::Done => DojoFlags {
            is_mitigated: true,
            ..DojoFlags::default()
        },
        Status::NotApplicable => DojoFlags {
            out_of_scope: true,
            is_mitigated: true,
            ..DojoFlags::default()
        },
    }
}

/// The checklist status a DefectDojo finding stands for.
///
/// 1. false positive, out of scope or duplicate: the test does not apply;
/// 2. risk accepted, mitigated, inactive or verified: the test is done
///    (a lead verifying or closing a finding confirms the test's result);
/// 3. otherwise the finding is open, and the tag says which open status;
///    an open finding whose tag names a closed status was reopened by a
///    person in DefectDojo, which means work on it resumed: in progress.
pub fn status_of(flags: &DojoFlags, tags: &[String]) -> Status {
    if flags.false_p || flags.out_of_scope || flags.duplicate {
        return Status::NotApplicable;
    }
    if flags.risk_accepted || flags.is_mitigated || !flags.active || flags.verified {
        return Status::Done;
    }
    match tags.iter().find_map(|t| status_from_tag(t)) {
        Some(s @ (Status::NotStarted | Status::InProgress | Status::Blocked)) => s,
        Some(Status::Done | Status::NotApplicable) => Status::InProgress,
        None => Status::NotStarted,
    }
}

/// What the tracker wants the finding to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredItem<'a> {
    pub wstg_id: &'a WstgId,
    pub status: Status,
    pub notes: &'a Notes,
    /// The finding carries this assignee's tag, and no other.
    pub assignee: Option<&'a Username>,
}

/// A PATCH body: only the fields that differ. Empty means DefectDojo already
/// matches and no call is made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingPatch {
    pub active: Option<bool>,
    pub verified: Option<bool>,
    pub false_p: Option<bool>,
    pub out_of_scope: Option<bool>,
    pub risk_accepted: Option<bool>,
    pub is_mitigated: Option<bool>,
    pub duplicate: Option<bool>,
    pub tags: Option<Vec<String>>,
    pub notes: Option<String>,
}

impl FindingPatch {
    pub fn is_empty(&self) -> bool {
        *self == FindingPatch::default()
    }

    /// True when the patch changes status flags (and so DefectDojo's
    /// `last_status_update`).
    pub fn changes_status(&self) -> bool {
        self.active.is_some()
            || self.verified.is_some()
            || self.false_p.is_some()
            || self.out_of_scope.is_some()
            || self.risk_accepted.is_some()
            || self.is_mitigated.is_some()
            || self.duplicate.is_some()
    }
}

/// The tags a finding should carry: everything it has that is not a status
/// tag, kept as DefectDojo returned it, plus the bridge tag, the id tag and
/// the one status tag. A bridge or id tag already present in another case
/// (findings created by the original design carry `WSTG`, `WSTG-INFO-01`) is
/// kept as it is: writing a case twin makes DefectDojo answer 500
/// (docs/defectdojo.md §7).
pub fn desired_tags(current: &[String], wstg_id: &WstgId, status: Status) -> Vec<String> {
    desired_tags_avoiding(current, wstg_id, status, &[])
}

/// [`desired_tags`] without adding the tags in `avoid` (compared in any
/// case): tags DefectDojo refused with a 500 because a tag row differing only
/// in case exists (docs/defectdojo.md §7). Tags the finding already holds are
/// kept: DefectDojo looks up only the names new to a finding.
pub fn desired_tags_avoiding(
    current: &[String],
    wstg_id: &WstgId,
    status: Status,
    avoid: &[String],
) -> Vec<String> {
    let avoided = |t: &str| avoid.iter().any(|a| a.eq_ignore_ascii_case(t));
    let mut tags: Vec<String> = current
        .iter()
        .filter(|t| {
            status_from_tag(t).is_none() && !t.to_ascii_lowercase().starts_with(STATUS_TAG_PREFIX)
        })
        .cloned()
        .collect();
    for wanted in [BRIDGE_TAG.to_owned(), wstg_id.tag(), status_tag(status)] {
        if !avoided(&wanted) && !tags.iter().any(|t| t.eq_ignore_ascii_case(&wanted)) {
            tags.push(wanted);
        }
    }
    tags
}

/// Whether two tag lists hold the same tags, in any order and any case
/// (DefectDojo's tag rows are matched case-insensitively, so a case
/// difference is no change worth a write).
pub fn same_tags(a: &[String], b: &[String]) -> bool {
    let norm = |v: &[String]| {
        let mut v: Vec<String> = v.iter().map(|t| t.to_ascii_lowercase()).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    norm(a) == norm(b)
}

/// The PATCH that brings `current` to `desired`, or an empty patch when the
/// finding already says what the tracker says.
///
/// When the finding already maps back to the desired status (a lead verified
/// an item the tracker also calls done, say), its flags are left alone: the
/// flags we would send carry no more information, and rewriting a lead's
/// decision would be a needless write.
pub fn plan_patch(current: &DojoItem, desired: &DesiredItem<'_>) -> FindingPatch {
    plan_patch_avoiding(current, desired, &[])
}

/// [`plan_patch`] leaving out the tags in `avoid_tags` (compared in any
/// case): tags DefectDojo refused with a 500 for a case twin.
pub fn plan_patch_avoiding(
    current: &DojoItem,
    desired: &DesiredItem<'_>,
    avoid_tags: &[String],
) -> FindingPatch {
    let mut patch = FindingPatch::default();
    let same_status = status_of(&current.flags, &current.tags) == desired.status;
    if !same_status {
        let want = flags_for(desired.status);
        let have = current.flags;
        let diff = |w: bool, h: bool| (w != h).then_some(w);
        patch.active = diff(want.active, have.active);
        patch.verified = diff(want.verified, have.verified);
        patch.false_p = diff(want.false_p, have.false_p);
        patch.out_of_scope = diff(want.out_of_scope, have.out_of_scope);
        patch.risk_accepted = diff(want.risk_accepted, have.risk_accepted);
        patch.is_mitigated = diff(want.is_mitigated, have.is_mitigated);
        patch.duplicate = diff(want.duplicate, have.duplicate);
    }
    patch.tags = tag_write(current, desired.wstg_id, desired.status, avoid_tags);
    // The assignee tag rides on the same whole-list write; never on a
    // finding whose tags must not be written, never as a refused tag.
    let refused = desired.assignee.is_some_and(|a| {
        avoid_tags
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&assignee_tag(a)))
    });
    if assignee_from_tags(&current.tags).as_ref() != desired.assignee
        && !holds_foreign_case_tags(&current.tags)
        && !refused
    {
        let base = patch.tags.clone().unwrap_or_else(|| current.tags.clone());
        patch.tags = Some(with_assignee(&base, desired.assignee));
    }
    if Notes::parse(current.notes.clone()).ok().as_ref() != Some(desired.notes) {
        patch.notes = Some(desired.notes.as_str().to_owned());
    }
    patch
}

/// True when the finding holds a tag that is not lowercase. DefectDojo
/// lowercases every tag it creates through the API, so such a tag row was
/// written around it (the original design wrote "WSTG" and "WSTG-INFO-01"
/// through the ORM) and may have a lowercase twin. A PATCH of `tags` re-sets
/// the whole list, and while both spellings have holders DefectDojo answers
/// 500 after saving the other fields and wiping the finding's tags
/// (docs/defectdojo.md §7, §9): the damage would be ours. So the bridge
/// never writes the tags of such a finding; its status travels in the flags
/// alone, and `wstgctl doctor` names the tag rows to repair.
pub fn holds_foreign_case_tags(tags: &[String]) -> bool {
    tags.iter().any(|t| t.chars().any(|c| c.is_uppercase()))
}

/// The tag list to write so the finding carries the bridge tag, its id tag
/// and `status`'s tag, or `None` when no tag write is due: the set is
/// already right (in any case), the status tag itself was refused, or the
/// finding's tags must not be written ([`holds_foreign_case_tags`]).
pub fn tag_write(
    current: &DojoItem,
    wstg_id: &WstgId,
    status: Status,
    avoid_tags: &[String],
) -> Option<Vec<String>> {
    if holds_foreign_case_tags(&current.tags) {
        return None;
    }
    let status_tag_avoided = avoid_tags
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&status_tag(status)));
    let tags = desired_tags_avoiding(&current.tags, wstg_id, status, avoid_tags);
    (!status_tag_avoided && !same_tags(&tags, &current.tags)).then_some(tags)
}

/// Applies DefectDojo's serializer rules and pre-save rewrites (docs/defectdojo.md §1)
/// to predict the flags after a PATCH. Used by tests to prove that every
/// patch we plan is accepted as sent and not rewritten; the emulator has its
/// own independent implementation that the contract tests check against
/// recordings of the real server.
pub fn dojo_outcome(before: &DojoFlags, patch: &FindingPatch) -> Result<DojoFlags, &'static str> {
    let mut f = *before;
    let set = |v: &mut bool, p: Option<bool>| {
        if let Some(p) = p {
            *v = p;
        }
    };
    set(&mut f.active, patch.active);
    set(&mut f.verified, patch.verified);
    set(&mut f.false_p, patch.false_p);
    set(&mut f.out_of_scope, patch.out_of_scope);
    set(&mut f.risk_accepted, patch.risk_accepted);
    set(&mut f.is_mitigated, patch.is_mitigated);
    set(&mut f.duplicate, patch.duplicate);
    // Serializer validation on the merged state.
    if (f.active || f.verified) && f.duplicate {
        return Err("Duplicate findings cannot be verified or active");
    }
    if f.false_p && f.verified {
        return Err("False positive findings cannot be verified.");
    }
    if f.active && f.risk_accepted {
        return Err("Active findings cannot be risk accepted.");
    }
    // Pre-save normalisation, in DefectDojo's order.
    if !before.active && f.active {
        f.false_p = false;
        f.out_of_scope = false;
        f.is_mitigated = false;
    }
    if (!before.false_p && f.false_p) || (!before.out_of_scope && f.out_of_scope) {
        f.is_mitigated = true;
        f.active = false;
        f.verified = false;
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{Catalogue, CatalogueVersion};

    fn id() -> WstgId {
        Catalogue::get(CatalogueVersion::V4_2)
            .parse_id("WSTG-INFO-01")
            .unwrap()
    }

    fn item(status: Status) -> DojoItem {
        DojoItem {
            finding_id: 1,
            flags: flags_for(status),
            tags: desired_tags(&[], &id(), status),
            notes: String::new(),
            ..DojoItem::default()
        }
    }

    /// Every combination of the flags a finding can hold.
    fn all_flag_states() -> Vec<DojoFlags> {
        (0u32..128)
            .map(|b| DojoFlags {
                active: b & 1 != 0,
                verified: b & 2 != 0,
                false_p: b & 4 != 0,
                out_of_scope: b & 8 != 0,
                risk_accepted: b & 16 != 0,
                is_mitigated: b & 32 != 0,
                duplicate: b & 64 != 0,
                under_review: false,
            })
            // States DefectDojo itself refuses to hold.
            .filter(|f| {
                !((f.active || f.verified) && f.duplicate)
                    && !(f.false_p && f.verified)
                    && !(f.active && f.risk_accepted)
            })
            .collect()
    }

    #[test]
    fn every_status_survives_a_round_trip() {
        for s in Status::ALL {
            let flags = flags_for(s);
            assert_eq!(status_of(&flags, &desired_tags(&[], &id(), s)), s, "{s}");
        }
    }

    #[test]
    fn every_forward_change_is_accepted_as_sent_from_every_state() {
        let tags_for_all: Vec<Vec<String>> = Status::ALL
            .iter()
            .map(|s| desired_tags(&[], &id(), *s))
            .chain([vec![]])
            .collect();
        for before in all_flag_states() {
            for tags in &tags_for_all {
                for s in Status::ALL {
                    let current = DojoItem {
                        flags: before,
                        tags: tags.clone(),
                        ..DojoItem::default()
                    };
                    let notes = Notes::default();
                    let patch = plan_patch(
                        &current,
                        &DesiredItem {
                            assignee: None,
                            wstg_id: &id(),
                            status: s,
                            notes: &notes,
                        },
                    );
                    let after = dojo_outcome(&before, &patch)
                        .unwrap_or_else(|e| panic!("{before:?} -> {s}: rejected: {e}"));
                    let after_tags = patch.tags.clone().unwrap_or_else(|| tags.clone());
                    assert_eq!(status_of(&after, &after_tags), s, "{before:?} -> {s}");
                    if patch.changes_status() {
                        assert_eq!(
                            after,
                            flags_for(s),
                            "{before:?} -> {s}: rewritten by DefectDojo"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_finding_that_already_matches_needs_no_call() {
        let notes = Notes::parse("seen").unwrap();
        for s in Status::ALL {
            let mut current = item(s);
            current.notes = "seen".into();
            let p = plan_patch(
                &current,
                &DesiredItem {
                    assignee: None,
                    wstg_id: &id(),
                    status: s,
                    notes: &notes,
                },
            );
            assert!(p.is_empty(), "{s}: {p:?}");
        }
    }

    #[test]
    fn a_status_change_between_open_statuses_only_moves_the_tag() {
        let notes = Notes::default();
        let p = plan_patch(
            &item(Status::NotStarted),
            &DesiredItem {
                assignee: None,
                wstg_id: &id(),
                status: Status::Blocked,
                notes: &notes,
            },
        );
        assert!(!p.changes_status());
        let tags = p.tags.unwrap();
        assert!(tags.contains(&"wstg-status:blocked".to_owned()));
        assert!(!tags.contains(&"wstg-status:not_started".to_owned()));
    }

    #[test]
    fn reverse_mapping_reads_what_a_lead_does_in_defectdojo() {
        let open_tags = desired_tags(&[], &id(), Status::Blocked);
        let with = |f: fn(&mut DojoFlags)| {
            let mut flags = flags_for(Status::Blocked);
            f(&mut flags);
            status_of(&flags, &open_tags)
        };
        assert_eq!(with(|_| {}), Status::Blocked);
        assert_eq!(
            with(|f| {
                f.active = false;
                f.is_mitigated = true
            }),
            Status::Done
        );
        assert_eq!(with(|f| f.verified = true), Status::Done);
        assert_eq!(
            with(|f| {
                f.active = false;
                f.risk_accepted = true
            }),
            Status::Done
        );
        assert_eq!(
            with(|f| {
                f.active = false;
                f.false_p = true
            }),
            Status::NotApplicable
        );
        assert_eq!(
            with(|f| {
                f.active = false;
                f.duplicate = true
            }),
            Status::NotApplicable
        );
        assert_eq!(
            with(|f| {
                f.active = false;
                f.out_of_scope = true
            }),
            Status::NotApplicable
        );
        // Reopened in DefectDojo after being done: work resumed.
        let done_tags = desired_tags(&[], &id(), Status::Done);
        assert_eq!(
            status_of(&flags_for(Status::InProgress), &done_tags),
            Status::InProgress
        );
        // An open finding with no status tag (made by someone else).
        assert_eq!(
            status_of(&flags_for(Status::InProgress), &[]),
            Status::NotStarted
        );
    }

    #[test]
    fn tags_keep_foreign_and_case_twin_tags_and_hold_one_status_tag() {
        let current = vec![
            "WSTG".to_owned(),
            "WSTG-INFO-01".to_owned(),
            "customer-x".to_owned(),
            "wstg-status:done".to_owned(),
            "WSTG-Status:blocked".to_owned(),
        ];
        let tags = desired_tags(&current, &id(), Status::InProgress);
        assert_eq!(
            tags,
            vec![
                "WSTG",
                "WSTG-INFO-01",
                "customer-x",
                "wstg-status:in_progress"
            ]
        );
        for t in &tags[2..] {
            assert_eq!(t, &t.to_ascii_lowercase());
        }
    }

    #[test]
    fn status_tags_are_valid_defectdojo_tags() {
        for s in Status::ALL {
            let t = status_tag(s);
            assert!(!t.contains([' ', ',', '\'', '"']), "{t}");
            assert_eq!(t, t.to_ascii_lowercase());
            assert_eq!(status_from_tag(&t), Some(s));
        }
    }
}
