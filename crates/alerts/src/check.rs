//! Each rule against its threshold, from one set of readings. Pure: the
//! tests give it readings and a clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use wstg_settings::AlertThresholds;

use crate::readings::Readings;
use crate::rule::{incident_key, Rule};

/// One rule's verdict now.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub rule: Rule,
    /// The project, for per-project rules.
    pub project: Option<String>,
    /// The condition holds now.
    pub holds: bool,
    /// What was measured, in `unit`.
    pub value: f64,
    pub threshold: f64,
    pub unit: &'static str,
    /// How long the condition must hold before it is an incident.
    pub hold_for: Duration,
    /// When the trouble started, if the readings tell (the last successful
    /// sync for `sync_stale`); otherwise the incident's own first sight.
    pub since: Option<DateTime<Utc>>,
    /// One line for people.
    pub summary: String,
}

impl Check {
    pub fn key(&self) -> String {
        incident_key(self.rule, self.project.as_deref())
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64().floor()
}

/// Every rule's verdict. `baseline` stands in for the last successful sync
/// when there has never been one (the alerting job's start).
pub fn evaluate(
    r: &Readings,
    t: &AlertThresholds,
    now: DateTime<Utc>,
    baseline: DateTime<Utc>,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let deployment = |rule, holds, value: f64, threshold: f64, unit, summary: String| Check {
        rule,
        project: None,
        holds,
        value,
        threshold,
        unit,
        hold_for: Duration::ZERO,
        since: None,
        summary,
    };

    checks.push(deployment(
        Rule::DeadLetters,
        r.dead_letters > t.dead_letters_max,
        r.dead_letters as f64,
        t.dead_letters_max as f64,
        "dead letters",
        if r.dead_letters > t.dead_letters_max {
            format!(
                "{} dead letter(s) in the queue (more than {} tolerated): events that will not reach DefectDojo until replayed (wstgctl dlq list)",
                r.dead_letters, t.dead_letters_max
            )
        } else {
            format!(
                "{} dead letter(s) in the queue ({} tolerated)",
                r.dead_letters, t.dead_letters_max
            )
        },
    ));

    // The value (seconds unreachable) is the incident's to tell: the
    // alerter fills it in from when the condition was first seen.
    let mut dojo = deployment(
        Rule::DojoUnreachable,
        r.dojo_unreachable.is_some(),
        0.0,
        secs(t.dojo_unreachable),
        "s",
        match &r.dojo_unreachable {
            Some(why) => format!(
                "DefectDojo unreachable for more than {} s: {why}",
                t.dojo_unreachable.as_secs()
            ),
            None => "DefectDojo answers again".to_owned(),
        },
    );
    dojo.hold_for = t.dojo_unreachable;
    checks.push(dojo);

    let last = r.last_sync().unwrap_or(baseline);
    let age = (now - last).to_std().unwrap_or_default();
    let mut stale = deployment(
        Rule::SyncStale,
        age > t.sync_stale,
        secs(age),
        secs(t.sync_stale),
        "s",
        match r.last_sync() {
            Some(at) if age <= t.sync_stale => format!(
                "syncing again: last successful sync {} s ago, at {}",
                age.as_secs(),
                at.to_rfc3339()
            ),
            Some(at) => format!(
                "no successful sync for {} s (threshold {} s); last at {}",
                age.as_secs(),
                t.sync_stale.as_secs(),
                at.to_rfc3339()
            ),
            None => format!(
                "no successful sync for {} s (threshold {} s); none since alerting started",
                age.as_secs(),
                t.sync_stale.as_secs()
            ),
        },
    );
    stale.since = Some(last);
    checks.push(stale);

    let backlog = r.backlog_age.unwrap_or_default();
    checks.push(deployment(
        Rule::BacklogAge,
        backlog > t.backlog_age,
        secs(backlog),
        secs(t.backlog_age),
        "s",
        format!(
            "the oldest unfinished event has waited {} s (threshold {} s)",
            backlog.as_secs(),
            t.backlog_age.as_secs()
        ),
    ));

    for p in r.projects.iter().flatten() {
        checks.push(Check {
            rule: Rule::Conflicts,
            project: Some(p.project.clone()),
            holds: p.in_conflict > t.conflicts_max,
            value: p.in_conflict as f64,
            threshold: t.conflicts_max as f64,
            unit: "items",
            hold_for: Duration::ZERO,
            since: None,
            summary: format!(
                "project {}: {} item(s) in conflict (more than {})",
                p.project, p.in_conflict, t.conflicts_max
            ),
        });
        let percent = if p.total == 0 {
            0.0
        } else {
            p.pending as f64 * 100.0 / p.total as f64
        };
        checks.push(Check {
            rule: Rule::Pending,
            project: Some(p.project.clone()),
            holds: percent > f64::from(t.pending_percent),
            value: (percent * 10.0).round() / 10.0,
            threshold: f64::from(t.pending_percent),
            unit: "%",
            hold_for: t.pending_for,
            since: None,
            summary: format!(
                "project {}: {} of {} items pending ({:.1} %, threshold {} %)",
                p.project, p.pending, p.total, percent, t.pending_percent
            ),
        });
    }
    checks
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::readings::ProjectCounts;

    fn thresholds() -> AlertThresholds {
        AlertThresholds {
            dead_letters_max: 0,
            dojo_unreachable: Duration::from_secs(300),
            sync_stale: Duration::from_secs(3600),
            conflicts_max: 10,
            pending_percent: 20,
            pending_for: Duration::from_secs(60),
            backlog_age: Duration::from_secs(600),
        }
    }

    fn holds(checks: &[Check], key: &str) -> bool {
        checks.iter().find(|c| c.key() == key).unwrap().holds
    }

    #[test]
    fn a_quiet_deployment_fires_nothing() {
        let now = Utc::now();
        let r = Readings {
            last_poll_ok: Some(now),
            projects: Some(vec![ProjectCounts {
                project: "p".into(),
                total: 10,
                pending: 2,
                in_conflict: 10,
            }]),
            ..Default::default()
        };
        let checks = evaluate(&r, &thresholds(), now, now);
        assert!(checks.iter().all(|c| !c.holds), "{checks:#?}");
        assert_eq!(checks.len(), 6);
    }

    #[test]
    fn the_original_designs_rules_fire_just_past_their_thresholds() {
        let now = Utc::now();
        let r = Readings {
            dead_letters: 1,
            dojo_unreachable: Some("timeout".into()),
            last_poll_ok: Some(now - chrono::Duration::seconds(3601)),
            last_item_sync: Some(now - chrono::Duration::seconds(4000)),
            backlog_age: Some(Duration::from_secs(601)),
            projects: Some(vec![ProjectCounts {
                project: "p".into(),
                total: 10,
                pending: 3,
                in_conflict: 11,
            }]),
        };
        let checks = evaluate(&r, &thresholds(), now, now);
        for key in [
            "dead_letters",
            "dojo_unreachable",
            "sync_stale",
            "backlog_age",
            "conflicts:p",
            "pending:p",
        ] {
            assert!(holds(&checks, key), "{key}: {checks:#?}");
        }
        let stale = checks.iter().find(|c| c.rule == Rule::SyncStale).unwrap();
        assert_eq!(stale.since, r.last_poll_ok);
    }

    #[test]
    fn without_any_sync_the_job_start_is_the_baseline() {
        let now = Utc::now();
        let r = Readings::default();
        let fresh = evaluate(&r, &thresholds(), now, now - chrono::Duration::seconds(10));
        assert!(!holds(&fresh, "sync_stale"));
        let old = evaluate(
            &r,
            &thresholds(),
            now,
            now - chrono::Duration::seconds(4000),
        );
        assert!(holds(&old, "sync_stale"));
    }
}
