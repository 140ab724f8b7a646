//! Finding status rules: the serializer's 400s and the model-side rewrites (docs/defectdojo.md §1).

use crate::clock::Timestamp;
use crate::model::finding::Finding;

/// The fields DefectDojo watches with `pre_save_changed` (dojo/finding/helper.py:98-112).
/// `id` is the "new finding" marker.
#[derive(Clone, Debug, PartialEq)]
pub struct Tracked {
    pub active: bool,
    pub verified: bool,
    pub false_p: bool,
    pub is_mitigated: bool,
    pub mitigated: Option<Timestamp>,
    pub mitigated_by: Option<u64>,
    pub out_of_scope: bool,
    pub risk_accepted: bool,
}

/// Which tracked fields differ from the stored row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Changed {
    pub is_new: bool,
    pub active: bool,
    pub verified: bool,
    pub false_p: bool,
    pub is_mitigated: bool,
    pub mitigated: bool,
    pub mitigated_by: bool,
    pub out_of_scope: bool,
    pub risk_accepted: bool,
}

impl Changed {
    pub fn new_finding() -> Self {
        Self {
            is_new: true,
            ..Self::default()
        }
    }

    pub fn between(before: &Tracked, after: &Tracked) -> Self {
        Self {
            is_new: false,
            active: before.active != after.active,
            verified: before.verified != after.verified,
            false_p: before.false_p != after.false_p,
            is_mitigated: before.is_mitigated != after.is_mitigated,
            mitigated: before.mitigated != after.mitigated,
            mitigated_by: before.mitigated_by != after.mitigated_by,
            out_of_scope: before.out_of_scope != after.out_of_scope,
            risk_accepted: before.risk_accepted != after.risk_accepted,
        }
    }

    /// The signal only fires when at least one watched field changed.
    pub fn any(&self) -> bool {
        self.is_new
            || self.active
            || self.verified
            || self.false_p
            || self.is_mitigated
            || self.mitigated
            || self.mitigated_by
            || self.out_of_scope
            || self.risk_accepted
    }
}

/// `update_finding_status` (dojo/finding/helper.py:115-182), with `EDITABLE_MITIGATED_DATA`
/// off. The order of the blocks matters (docs/defectdojo.md §1):
/// 1. `is_mitigated` changed: true keeps/sets `mitigated`(`_by`), false clears both;
/// 2. `active` changed to true: reopen (clears false_p, out_of_scope, is_mitigated, mitigated);
/// 3. `false_p`/`out_of_scope` changed to true: close (is_mitigated, inactive, unverified);
/// 4. a non-duplicate never keeps `duplicate_finding`;
/// 5. `last_status_update = now`.
///
/// So `{active:true, false_p:true}` on create ends active with false_p reset (LIVE 24), while
/// the same PATCH on an already active finding ends inactive and false positive (LIVE 32).
pub fn update_finding_status(f: &mut Finding, user: u64, changed: Changed, now: Timestamp) {
    // Mitigating: mitigated/mitigated_by are only taken from the user when editable, which
    // they are not here; the block below fills them in. Un-mitigating clears both.
    if (changed.is_new || changed.is_mitigated) && !f.is_mitigated {
        f.mitigated = None;
        f.mitigated_by = None;
    }

    if f.is_mitigated {
        if f.mitigated.is_none() {
            f.mitigated = Some(now);
        }
        if f.mitigated_by.is_none() {
            f.mitigated_by = Some(user);
        }
    }

    if (changed.is_new || changed.active) && f.active {
        f.false_p = false;
        f.out_of_scope = false;
        f.is_mitigated = false;
        f.mitigated = None;
        f.mitigated_by = None;
    }

    if (changed.is_new || changed.false_p || changed.out_of_scope) && (f.false_p || f.out_of_scope)
    {
        f.mitigated = f.mitigated.or(Some(now));
        f.mitigated_by = f.mitigated_by.or(Some(user));
        f.is_mitigated = true;
        f.active = false;
        f.verified = false;
    }

    if !f.duplicate {
        f.duplicate_finding = None;
    }

    f.last_status_update = now;
}

/// `Finding.status()` (dojo/finding/models.py:1015), exposed as `display_status`.
pub fn display_status(f: &Finding) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if f.under_review {
        parts.push("Under Review");
    }
    parts.push(if f.active { "Active" } else { "Inactive" });
    if f.verified {
        parts.push("Verified");
    }
    if f.mitigated.is_some() || f.is_mitigated {
        parts.push("Mitigated");
    }
    if f.false_p {
        parts.push("False Positive");
    }
    if f.out_of_scope {
        parts.push("Out Of Scope");
    }
    if f.duplicate {
        parts.push("Duplicate");
    }
    if f.risk_accepted {
        parts.push("Risk Accepted");
    }
    parts.join(", ")
}

pub const MSG_DUPLICATE: &str = "Duplicate findings cannot be verified or active";
pub const MSG_FALSE_P_VERIFIED: &str = "False positive findings cannot be verified.";
pub const MSG_SIMPLE_RA_DISABLED: &str =
    "Simple risk acceptance is disabled for this product, use the UI to accept this finding.";
pub const MSG_ACTIVE_RISK_ACCEPTED: &str = "Active findings cannot be risk accepted.";
pub const MSG_MITIGATED_NOT_EDITABLE: &str =
    "Editing mitigated timestamp is disabled (EDITABLE_MITIGATED_DATA=false)";
pub const MSG_MITIGATED_BY_NOT_EDITABLE: &str =
    "Editing mitigated_by is disabled (EDITABLE_MITIGATED_DATA=false)";

/// The effective status flags a serializer's `validate()` checks.
#[derive(Clone, Copy, Debug)]
pub struct Proposed {
    pub active: bool,
    pub verified: bool,
    pub duplicate: bool,
    pub false_p: bool,
    pub risk_accepted: bool,
}

/// The object-level rules shared by `FindingSerializer.validate` (serializer.py:576-629) and
/// `FindingCreateSerializer.validate` (:766-810), first failure wins. `needs_simple_ra` is true
/// when the request turns risk acceptance on (on update: and the finding is not yet accepted).
pub fn check_rules(
    p: Proposed,
    needs_simple_ra: bool,
    simple_ra_enabled: bool,
) -> Result<(), &'static str> {
    if (p.active || p.verified) && p.duplicate {
        return Err(MSG_DUPLICATE);
    }
    if p.false_p && p.verified {
        return Err(MSG_FALSE_P_VERIFIED);
    }
    if needs_simple_ra && !simple_ra_enabled {
        return Err(MSG_SIMPLE_RA_DISABLED);
    }
    if p.active && p.risk_accepted {
        return Err(MSG_ACTIVE_RISK_ACCEPTED);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposed(
        active: bool,
        verified: bool,
        duplicate: bool,
        false_p: bool,
        ra: bool,
    ) -> Proposed {
        Proposed {
            active,
            verified,
            duplicate,
            false_p,
            risk_accepted: ra,
        }
    }

    #[test]
    fn rule_order() {
        assert_eq!(
            check_rules(proposed(true, true, true, true, true), true, false),
            Err(MSG_DUPLICATE)
        );
        assert_eq!(
            check_rules(proposed(false, true, false, true, true), true, false),
            Err(MSG_FALSE_P_VERIFIED)
        );
        assert_eq!(
            check_rules(proposed(true, false, false, false, true), true, false),
            Err(MSG_SIMPLE_RA_DISABLED)
        );
        assert_eq!(
            check_rules(proposed(true, false, false, false, true), true, true),
            Err(MSG_ACTIVE_RISK_ACCEPTED)
        );
        // active + false_p is accepted by the serializer (LIVE 24)
        assert_eq!(
            check_rules(proposed(true, false, false, true, false), false, false),
            Ok(())
        );
    }
}
