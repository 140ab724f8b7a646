//! The alerting job: every `alert.interval_secs`, the replica holding the
//! alert lease (`P:alert:lease`) reads the figures, checks every rule, moves
//! each incident along (crate::incident) and delivers what changed. It runs
//! in the poller process, next to the poll loop (docs/operations.md, "Alerts").
//!
//! One sender at a time: the lease decides who evaluates, and incident state
//! is written only while the writer still holds it (one script). A message is
//! recorded as sent after the receiver accepted it; a replica that dies in
//! between (milliseconds) lets the next holder send it again — an alert
//! repeated is better than one lost.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use wstg_queue::{Leases, Queue};
use wstg_settings::{AlertSettings, Settings};
use wstg_store::Store;

use crate::check::{evaluate, Check};
use crate::incident::{Incident, Transition};
use crate::notice::{Notice, NoticeState};
use crate::readings;
use crate::rule::{rule_of_key, Rule};
use crate::webhook::Webhook;

/// What one evaluation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluation {
    /// Another replica holds the lease: nothing was evaluated.
    pub skipped: bool,
    /// Messages delivered: (incident key, "firing" or "resolved").
    pub sent: Vec<(String, &'static str)>,
    /// Deliveries that failed (tried again next time).
    pub failed: usize,
}

pub struct Alerter {
    queue: Queue,
    store: Store,
    webhook: Webhook,
    settings: AlertSettings,
    leases: Leases,
    lease_key: String,
    holder: String,
    deployment: String,
    started_at: DateTime<Utc>,
}

impl Alerter {
    /// The job, or `None` when alerting is off (no webhook URL).
    pub fn from_settings(
        settings: &Settings,
        queue: Queue,
        store: Store,
        holder: &str,
    ) -> anyhow::Result<Option<Alerter>> {
        let Some(webhook) = Webhook::from_settings(&settings.alert) else {
            return Ok(None);
        };
        Ok(Some(Alerter::new(
            webhook?,
            settings.alert.clone(),
            queue,
            store,
            holder,
        )))
    }

    pub fn new(
        webhook: Webhook,
        settings: AlertSettings,
        queue: Queue,
        store: Store,
        holder: &str,
    ) -> Alerter {
        // The holder keeps the lease across one whole delivery (every
        // attempt and wait), so no other replica sends meanwhile; a holder
        // that dies hands alerting over after this long.
        let delivery = (settings.timeout + crate::webhook::MAX_BACKOFF) * (settings.retries + 1);
        let term = (settings.interval * 3)
            .max(delivery)
            .max(Duration::from_secs(3));
        let keys = queue.keys().clone();
        Alerter {
            leases: Leases::new(queue.connection(), keys.prefix(), term),
            lease_key: keys.alert_lease.clone(),
            deployment: keys.prefix().to_owned(),
            queue,
            store,
            webhook,
            settings,
            holder: holder.to_owned(),
            started_at: Utc::now(),
        }
    }

    /// Evaluates every interval until `shutdown`; gives the lease up then.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(
            kind = self.webhook.kind().as_str(),
            interval = ?self.settings.interval,
            "alerting on (webhook configured)"
        );
        let mut tick = tokio::time::interval(self.settings.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            // A delivery with its retries may take a minute; SIGTERM does not
            // wait for it. A message cut off here was not recorded as sent,
            // so the next holder sends it (at least once, never lost).
            let result = tokio::select! {
                _ = shutdown.cancelled() => break,
                r = self.evaluate_once() => r,
            };
            if let Err(e) = result {
                tracing::warn!(error = %format!("{e:#}"), "alerts: evaluation failed; trying again next interval");
            }
        }
        self.leases
            .release_held(&self.lease_key, &self.holder)
            .await;
    }

    async fn hold(&self) -> anyhow::Result<bool> {
        Ok(self.leases.hold(&self.lease_key, &self.holder).await?)
    }

    /// One evaluation (public for tests).
    pub async fn evaluate_once(&self) -> anyhow::Result<Evaluation> {
        let mut out = Evaluation::default();
        if !self.hold().await? {
            out.skipped = true;
            return Ok(out);
        }
        let readings = readings::read(&self.queue, &self.store).await?;
        let now = Utc::now();
        let mut checks = evaluate(&readings, &self.settings.thresholds, now, self.started_at);
        let stored: HashMap<String, Incident> = self
            .queue
            .alert_incidents()
            .await?
            .into_iter()
            .filter_map(|(k, v)| Some((k, serde_json::from_str(&v).ok()?)))
            .collect();
        // A per-project incident whose project is gone cannot be checked
        // again: it is resolved, not left firing for ever.
        if readings.projects.is_some() {
            for (key, incident) in &stored {
                let Some(rule) = rule_of_key(key) else {
                    continue;
                };
                if incident.firing && rule.per_project() && !checks.iter().any(|c| &c.key() == key)
                {
                    let project = key.split_once(':').map(|(_, p)| p.to_owned());
                    checks.push(Check {
                        rule,
                        project: project.clone(),
                        holds: false,
                        value: 0.0,
                        threshold: 0.0,
                        unit: "",
                        hold_for: Duration::ZERO,
                        since: None,
                        summary: format!(
                            "project {} is no longer known",
                            project.unwrap_or_default()
                        ),
                    });
                }
            }
        }
        for check in &checks {
            let key = check.key();
            let before = stored.get(&key).cloned().unwrap_or_default();
            let (mut after, transition) = before.observe(check, now, self.settings.cooldown);
            let state = match transition {
                Transition::Stay => None,
                Transition::Fire => Some(NoticeState::Firing),
                Transition::Resolve => Some(NoticeState::Resolved),
            };
            if let Some(state) = state {
                // Still ours? A replica that lost the lease sends nothing.
                if !self.hold().await? {
                    out.skipped = true;
                    return Ok(out);
                }
                let mut pending = after.clone();
                let incident_id = match state {
                    NoticeState::Firing => pending.fired(check, now),
                    _ => {
                        pending.resolved(now);
                        before.id.unwrap_or_else(uuid::Uuid::now_v7)
                    }
                };
                let value = match check.rule {
                    // Seconds unreachable so far: since first seen.
                    Rule::DojoUnreachable => after
                        .holding_since
                        .map_or(0.0, |t| (now - t).num_seconds() as f64),
                    _ => check.value,
                };
                let notice = Notice {
                    rule: check.rule.as_str().to_owned(),
                    state,
                    value,
                    threshold: check.threshold,
                    unit: check.unit.to_owned(),
                    project: check.project.clone(),
                    since: pending.since,
                    deployment: self.deployment.clone(),
                    incident_id,
                    summary: check.summary.clone(),
                    sent_at: now,
                };
                match self.webhook.send(&notice).await {
                    Ok(d) => {
                        tracing::info!(rule = %key, state = state.as_str(), status = d.status, attempts = d.attempts, "alert sent");
                        after = pending;
                        out.sent.push((key.clone(), state.as_str()));
                    }
                    Err(e) => {
                        out.failed += 1;
                        tracing::warn!(rule = %key, state = state.as_str(), error = %e, "alert not delivered; tried again at the next evaluation");
                    }
                }
            }
            if after != before {
                let json = serde_json::to_string(&after)?;
                if !self
                    .queue
                    .save_alert_incident(&self.holder, &key, &json)
                    .await?
                {
                    tracing::warn!(rule = %key, "alerts: the lease passed to another replica; it continues");
                    out.skipped = true;
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }
}
