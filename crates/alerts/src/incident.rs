//! One incident's life, per rule (and project):
//!
//! ```text
//!   ok ──condition──▶ pending ──held `hold_for`, cooldown over──▶ firing (alert sent)
//!    ▲                  │ clears                                    │ clears
//!    └──────────────────┘◀──────────────── resolved (message sent) ◀┘
//! ```
//!
//! The state is stored in Redis after every change (`P:alert:incidents`), so
//! a restarted or new alerting replica continues it: an incident is
//! announced once and resolved once. A delivery that failed leaves the state
//! as it was, and the next evaluation tries again.
//!
//! The cooldown is the least time between a "resolved" and the next alert of
//! the same rule: a condition that flaps within it stays quiet, and if it
//! still holds when the cooldown ends, it is announced then.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::check::Check;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// The current (or last) incident's id, sent in every message about it
    /// so a receiver can pair an alert with its "resolved".
    pub id: Option<Uuid>,
    /// Since when the condition has held; `None` while it does not.
    pub holding_since: Option<DateTime<Utc>>,
    /// An alert was delivered and its "resolved" not yet.
    pub firing: bool,
    /// When the trouble started, as the alert said.
    pub since: Option<DateTime<Utc>>,
    /// When the last message (alert or resolved) was delivered.
    pub last_notice_at: Option<DateTime<Utc>>,
}

/// What to send now, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Stay,
    Fire,
    Resolve,
}

impl Incident {
    /// The incident after seeing `check` at `now`, before any delivery, and
    /// what to send.
    pub fn observe(
        &self,
        check: &Check,
        now: DateTime<Utc>,
        cooldown: std::time::Duration,
    ) -> (Incident, Transition) {
        let mut next = self.clone();
        if !check.holds {
            next.holding_since = None;
            let t = if self.firing {
                Transition::Resolve
            } else {
                Transition::Stay
            };
            return (next, t);
        }
        let holding_since = *next.holding_since.get_or_insert(now);
        if self.firing {
            return (next, Transition::Stay);
        }
        let held = (now - holding_since).to_std().unwrap_or_default();
        let cooled = self
            .last_notice_at
            .is_none_or(|t| (now - t).to_std().unwrap_or_default() >= cooldown);
        if held >= check.hold_for && cooled {
            (next, Transition::Fire)
        } else {
            (next, Transition::Stay)
        }
    }

    /// Records a delivered alert.
    pub fn fired(&mut self, check: &Check, now: DateTime<Utc>) -> Uuid {
        let id = Uuid::now_v7();
        self.id = Some(id);
        self.firing = true;
        self.since = check.since.or(self.holding_since).or(Some(now));
        self.last_notice_at = Some(now);
        id
    }

    /// Records a delivered "resolved".
    pub fn resolved(&mut self, now: DateTime<Utc>) {
        self.firing = false;
        self.last_notice_at = Some(now);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::rule::Rule;

    fn check(holds: bool, hold_for: u64) -> Check {
        Check {
            rule: Rule::DeadLetters,
            project: None,
            holds,
            value: 1.0,
            threshold: 0.0,
            unit: "dead letters",
            hold_for: Duration::from_secs(hold_for),
            since: None,
            summary: String::new(),
        }
    }

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    const COOLDOWN: Duration = Duration::from_secs(60);

    #[test]
    fn fires_once_and_resolves_once() {
        let i = Incident::default();
        let (mut i, t) = i.observe(&check(true, 0), at(0), COOLDOWN);
        assert_eq!(t, Transition::Fire);
        i.fired(&check(true, 0), at(0));
        let (i, t) = i.observe(&check(true, 0), at(10), COOLDOWN);
        assert_eq!(t, Transition::Stay, "still firing: no second alert");
        let (mut i, t) = i.observe(&check(false, 0), at(20), COOLDOWN);
        assert_eq!(t, Transition::Resolve);
        i.resolved(at(20));
        let (_, t) = i.observe(&check(false, 0), at(30), COOLDOWN);
        assert_eq!(t, Transition::Stay, "resolved once");
    }

    #[test]
    fn waits_for_the_condition_to_hold_long_enough() {
        let (i, t) = Incident::default().observe(&check(true, 30), at(0), COOLDOWN);
        assert_eq!(t, Transition::Stay);
        let (i, t) = i.observe(&check(true, 30), at(29), COOLDOWN);
        assert_eq!(t, Transition::Stay);
        let (_, t) = i.observe(&check(true, 30), at(30), COOLDOWN);
        assert_eq!(t, Transition::Fire);
        // A blip resets the clock and never resolves what never fired.
        let (i, _) = Incident::default().observe(&check(true, 30), at(0), COOLDOWN);
        let (i, t) = i.observe(&check(false, 30), at(10), COOLDOWN);
        assert_eq!(t, Transition::Stay);
        let (_, t) = i.observe(&check(true, 30), at(35), COOLDOWN);
        assert_eq!(t, Transition::Stay, "the condition started again at 35");
    }

    #[test]
    fn the_cooldown_holds_back_a_flapping_condition() {
        let (mut i, _) = Incident::default().observe(&check(true, 0), at(0), COOLDOWN);
        i.fired(&check(true, 0), at(0));
        let (mut i, _) = i.observe(&check(false, 0), at(5), COOLDOWN);
        i.resolved(at(5));
        let (i, t) = i.observe(&check(true, 0), at(10), COOLDOWN);
        assert_eq!(t, Transition::Stay, "within the cooldown");
        let (i, t) = i.observe(&check(false, 0), at(20), COOLDOWN);
        assert_eq!(t, Transition::Stay, "nothing to resolve");
        let (i, t) = i.observe(&check(true, 0), at(64), COOLDOWN);
        assert_eq!(t, Transition::Stay);
        let (_, t) = i.observe(&check(true, 0), at(65), COOLDOWN);
        assert_eq!(t, Transition::Fire, "cooldown over and still holding");
    }
}
