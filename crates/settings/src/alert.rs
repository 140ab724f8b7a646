//! `[alert]`: alerts to people through a webhook (Slack-compatible or
//! generic JSON), evaluated by one poller replica. No webhook URL: no alerts.
//!
//! The webhook URL is a credential (whoever has a Slack incoming-webhook URL
//! can post to the channel): it is a secret here, never printed, and may be
//! given as a file (`WSTG_ALERT_WEBHOOK_URL_FILE`).

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use crate::error::{invalid, SettingsError};

/// The body the webhook receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    /// A Slack incoming webhook (`{"text": …}`); Mattermost, Rocket.Chat and
    /// Teams' Slack-compatible hooks accept it too.
    Slack,
    /// A generic JSON document: rule, state, value, threshold, project, since.
    Json,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Slack => "slack",
            AlertKind::Json => "json",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlert {
    webhook_url: String,
    kind: String,
    interval_secs: u64,
    cooldown_secs: u64,
    timeout_secs: u64,
    retries: u32,
    dead_letters_max: u64,
    dojo_unreachable_secs: u64,
    sync_stale_secs: u64,
    conflicts_max: u64,
    pending_percent: u8,
    pending_for_secs: u64,
    backlog_age_secs: u64,
}

/// The alert rules' thresholds (docs/operations.md, "Alerts").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertThresholds {
    /// Dead letters tolerated; more fires `dead_letters`.
    pub dead_letters_max: u64,
    /// DefectDojo unreachable (poller reads fail, or a worker's breaker is
    /// open) for longer than this fires `dojo_unreachable`.
    pub dojo_unreachable: Duration,
    /// No successful sync (a poll pass or a worker write) for longer than
    /// this fires `sync_stale`.
    pub sync_stale: Duration,
    /// Items of one project in conflict above this fire `conflicts`.
    pub conflicts_max: u64,
    /// Pending items above this percentage of a project's items…
    pub pending_percent: u8,
    /// …for longer than this fire `pending`.
    pub pending_for: Duration,
    /// The oldest unfinished event older than this fires `backlog_age`.
    pub backlog_age: Duration,
}

#[derive(Clone)]
pub struct AlertSettings {
    /// Where alerts are posted; `None`: alerting is off.
    pub webhook_url: Option<SecretString>,
    pub kind: AlertKind,
    /// Time between two evaluations.
    pub interval: Duration,
    /// Least time between a "resolved" and the next alert of the same rule
    /// (against flapping).
    pub cooldown: Duration,
    /// One delivery attempt's time limit (connect, send, answer).
    pub timeout: Duration,
    /// Further attempts after a 5xx, a 429 or a timeout.
    pub retries: u32,
    pub thresholds: AlertThresholds,
}

impl fmt::Debug for AlertSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlertSettings")
            .field(
                "webhook_url",
                &self.webhook_url.as_ref().map(|_| "[configured]"),
            )
            .field("kind", &self.kind)
            .field("interval", &self.interval)
            .field("cooldown", &self.cooldown)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("thresholds", &self.thresholds)
            .finish()
    }
}

impl AlertSettings {
    /// True when a webhook URL is configured.
    pub fn enabled(&self) -> bool {
        self.webhook_url.is_some()
    }
}

pub(crate) fn parse(raw: RawAlert) -> Result<AlertSettings, SettingsError> {
    let webhook_url = match raw.webhook_url.trim() {
        "" => None,
        u => {
            // The reason never quotes the URL: it is a credential.
            let parsed = url::Url::parse(u).map_err(|e| {
                invalid(
                    "alert.webhook_url",
                    format!("not a URL ({e}); value not shown"),
                )
            })?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(invalid(
                    "alert.webhook_url",
                    "must be an http:// or https:// URL with a host; value not shown",
                ));
            }
            Some(SecretString::from(u.to_owned()))
        }
    };
    let kind = match raw.kind.trim().to_ascii_lowercase().as_str() {
        "slack" => AlertKind::Slack,
        "json" => AlertKind::Json,
        other => {
            return Err(invalid(
                "alert.kind",
                format!("'{other}' is not slack or json"),
            ))
        }
    };
    for (key, value) in [
        ("alert.interval_secs", raw.interval_secs),
        ("alert.timeout_secs", raw.timeout_secs),
        ("alert.dojo_unreachable_secs", raw.dojo_unreachable_secs),
        ("alert.sync_stale_secs", raw.sync_stale_secs),
        ("alert.backlog_age_secs", raw.backlog_age_secs),
    ] {
        if value == 0 {
            return Err(invalid(key, "must be at least 1"));
        }
    }
    if raw.timeout_secs > 60 {
        return Err(invalid("alert.timeout_secs", "must be at most 60"));
    }
    if raw.retries > 10 {
        return Err(invalid("alert.retries", "must be at most 10"));
    }
    if raw.pending_percent == 0 || raw.pending_percent > 100 {
        return Err(invalid(
            "alert.pending_percent",
            "must be between 1 and 100",
        ));
    }
    Ok(AlertSettings {
        webhook_url,
        kind,
        interval: Duration::from_secs(raw.interval_secs),
        cooldown: Duration::from_secs(raw.cooldown_secs),
        timeout: Duration::from_secs(raw.timeout_secs),
        retries: raw.retries,
        thresholds: AlertThresholds {
            dead_letters_max: raw.dead_letters_max,
            dojo_unreachable: Duration::from_secs(raw.dojo_unreachable_secs),
            sync_stale: Duration::from_secs(raw.sync_stale_secs),
            conflicts_max: raw.conflicts_max,
            pending_percent: raw.pending_percent,
            pending_for: Duration::from_secs(raw.pending_for_secs),
            backlog_age: Duration::from_secs(raw.backlog_age_secs),
        },
    })
}
