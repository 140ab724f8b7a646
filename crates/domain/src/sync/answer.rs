//! [`interpret()`]: what DefectDojo's answer to one of our writes means.

use crate::dojo_state::DojoItem;
use crate::mapping::{status_from_tag, STATUS_TAG_PREFIX};

use super::plan::{DojoRead, Read};
use super::{state_against, ItemState};

/// Which write was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Create,
    Patch {
        finding_id: i64,
    },
    /// The one status-tag write after a pull.
    Align {
        finding_id: i64,
    },
}

/// How DefectDojo answered (the worker classifies its client's result).
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// 2xx: the finding as DefectDojo saved it.
    Saved(DojoItem),
    /// 404.
    NotFound,
    /// 400: refused as sent (DefectDojo validates the merged state, so a
    /// stale view of the finding can cause it).
    Invalid,
    /// The deterministic 500 of a write that carried tags: a tag collides
    /// case-insensitively with a tag row. DefectDojo 3.2.0 is not atomic
    /// here: a PATCH may have saved its other fields and wiped the tags.
    TagCollision,
    /// The request never left (connection refused, DNS): nothing happened.
    NotSent,
    /// Sent, no answer (timeout, connection broken, gateway timeout): it
    /// may land now or later.
    OutcomeUnknown,
    /// Any other failure with an answer (a 5xx outage, a 403): nothing saved.
    Failed,
}

/// What the worker does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The write is in DefectDojo as sent: record `after`, forget the intent.
    Done { after: DojoItem },
    /// DefectDojo's answer holds more than we sent: it changed meanwhile (a
    /// lead acted between two polls, or an earlier write of ours landed
    /// late). Plan again with this state and this write among our in-flight
    /// writes: what none of our writes explains is a conflict, settled by
    /// the policy there.
    Replan { dojo: DojoRead },
    /// Read DefectDojo again (`read`), then plan again, avoiding
    /// `avoid_tags`. `warning`, when set, is logged and audited.
    Reread {
        read: Read,
        avoid_tags: Vec<String>,
        warning: Option<String>,
    },
    /// The outcome is unknown: keep the intent and the item's lease, retry
    /// later (the intent makes the late landing recognisable as ours).
    InFlight,
    /// Nothing was written: forget the intent and report the error.
    Failed,
    /// The align write was refused for its tags: keep the pull without it.
    GiveUpAlign { warning: String },
}

impl Verdict {
    /// True when the write's intent can be forgotten (its effect is known).
    pub fn clears_intent(&self) -> bool {
        !matches!(self, Verdict::InFlight)
    }
}

/// What the answer to a write of `kind`, that meant to leave the finding in
/// state `sent` and carried `tags` (if any), means. `avoided` holds the tags
/// already left out in this sync.
pub fn interpret(
    kind: WriteKind,
    sent: &ItemState,
    tags: Option<&[String]>,
    avoided: &[String],
    answer: Answer,
) -> Verdict {
    match (kind, answer) {
        (_, Answer::OutcomeUnknown) => Verdict::InFlight,
        (_, Answer::NotSent | Answer::Failed) => Verdict::Failed,
        (WriteKind::Align { .. }, Answer::Saved(after)) => Verdict::Done { after },
        (WriteKind::Align { .. }, Answer::TagCollision) => Verdict::GiveUpAlign {
            warning: collision_warning(tags.unwrap_or_default()),
        },
        (WriteKind::Align { .. }, _) => Verdict::Failed,
        (_, Answer::Saved(after)) => {
            if state_against(&after, Some(sent)) == *sent {
                Verdict::Done { after }
            } else {
                Verdict::Replan {
                    dojo: DojoRead::Present(after),
                }
            }
        }
        (WriteKind::Patch { .. }, Answer::NotFound) => Verdict::Reread {
            // Deleted in DefectDojo: find it again (someone may have re-made
            // it), else it is made anew.
            read: Read::Search,
            avoid_tags: avoided.to_vec(),
            warning: None,
        },
        (WriteKind::Create, Answer::NotFound) => Verdict::Failed,
        (WriteKind::Patch { finding_id }, Answer::Invalid) if avoided.is_empty() => {
            Verdict::Reread {
                read: Read::Finding(finding_id),
                avoid_tags: avoided.to_vec(),
                warning: None,
            }
        }
        (_, Answer::Invalid) => Verdict::Failed,
        (kind, Answer::TagCollision) => match next_avoid(tags.unwrap_or_default(), avoided) {
            Some(avoid) => Verdict::Reread {
                read: match kind {
                    WriteKind::Patch { finding_id } => Read::Finding(finding_id),
                    // A create refused this way wrote nothing (docs/defectdojo.md §7),
                    // but look first: never a second finding.
                    _ => Read::Search,
                },
                warning: Some(collision_warning(tags.unwrap_or_default())),
                avoid_tags: avoid,
            },
            None => Verdict::Failed,
        },
    }
}

/// The tags to leave out next: first every tag the write carried except the
/// status tag (the bridge's own tag rows are the ones that have case twins
/// in a DefectDojo where the original design ran); then the status tag too.
/// `None` when nothing is left to drop.
fn next_avoid(tags: &[String], avoided: &[String]) -> Option<Vec<String>> {
    let is_avoided = |t: &str| avoided.iter().any(|a| a.eq_ignore_ascii_case(t));
    let mut avoid = avoided.to_vec();
    let others: Vec<&String> = tags
        .iter()
        .filter(|t| status_from_tag(t).is_none() && !is_avoided(t))
        .collect();
    if !others.is_empty() {
        avoid.extend(others.into_iter().cloned());
        return Some(avoid);
    }
    let status: Vec<&String> = tags
        .iter()
        .filter(|t| t.to_ascii_lowercase().starts_with(STATUS_TAG_PREFIX) && !is_avoided(t))
        .collect();
    if status.is_empty() {
        return None;
    }
    avoid.extend(status.into_iter().cloned());
    Some(avoid)
}

/// The warning for a tag write DefectDojo refused with a 500: names the tags
/// and the repair.
pub fn collision_warning(tags: &[String]) -> String {
    let names: Vec<String> = tags.iter().map(|t| format!("'{t}'")).collect();
    format!(
        "DefectDojo answered 500 to a write carrying the tags {} (docs/defectdojo.md §7): one of \
         them has a tag row differing only in case (e.g. 'WSTG' and 'wstg'); merge those tag rows \
         in DefectDojo's admin (Tagulous_Finding_tags). The write is completed without them.",
        names.join(", ")
    )
}
