//! What a worker records (names in `wstg_ops::catalogue`): item
//! applications by outcome, dead letters by reason, conflicts by policy,
//! and its DefectDojo breaker.

use wstg_domain::ConflictPolicy;
use wstg_ops::catalogue::{BREAKER_STATE, CONFLICTS, DEAD_LETTERS, EVENTS_APPLIED};

use crate::apply::Applied;

/// The `outcome` label values of `wstg_events_applied_total`.
pub const OUTCOMES: &[&str] = &[
    "created",
    "updated",
    "matched",
    "pulled",
    "unlinked",
    "in_sync",
    "coalesced",
    "retry",
    "deferred",
    "dead_letter",
    "failed",
];

/// The `reason` label values of `wstg_dead_letters_total`.
pub const DEAD_LETTER_REASONS: &[&str] = &["permanent", "exhausted", "poison", "undecodable"];

/// Every series at zero, so `rate()` and alerts work before the first event.
pub fn register(policy: ConflictPolicy) {
    for outcome in OUTCOMES {
        metrics::counter!(EVENTS_APPLIED, "outcome" => *outcome).absolute(0);
    }
    for reason in DEAD_LETTER_REASONS {
        metrics::counter!(DEAD_LETTERS, "reason" => *reason).absolute(0);
    }
    metrics::counter!(CONFLICTS, "policy" => policy.as_str()).absolute(0);
    metrics::gauge!(BREAKER_STATE).set(0.0);
}

pub fn applied(outcome: &'static str) {
    metrics::counter!(EVENTS_APPLIED, "outcome" => outcome).increment(1);
}

/// The outcome label of a successful application.
pub fn outcome_of(applied: &Applied) -> &'static str {
    match applied {
        Applied::AlreadyInSync => "in_sync",
        Applied::Created { .. } => "created",
        Applied::Updated { .. } => "updated",
        Applied::Matched { .. } => "matched",
        Applied::Pulled { .. } => "pulled",
        Applied::Unlinked => "unlinked",
        Applied::Deferred { .. } => "coalesced",
    }
}

pub fn dead_lettered(reason: &'static str) {
    metrics::counter!(DEAD_LETTERS, "reason" => reason).increment(1);
}

pub fn conflict(policy: ConflictPolicy) {
    metrics::counter!(CONFLICTS, "policy" => policy.as_str()).increment(1);
}

/// The breaker's published state as the gauge's value.
pub fn breaker(state: &str) {
    let value = match state {
        "open" => 2.0,
        "half_open" => 1.0,
        _ => 0.0,
    };
    metrics::gauge!(BREAKER_STATE).set(value);
}
