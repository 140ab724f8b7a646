//! The message: one notice, rendered as a Slack incoming-webhook body or as
//! a generic JSON document.
//!
//! JSON body (`alert.kind = "json"`):
//!
//! ```json
//! {"rule": "dead_letters", "state": "firing", "value": 3, "threshold": 0,
//!  "unit": "dead letters", "project": null, "since": "2026-…Z",
//!  "deployment": "wstg", "incident_id": "0193…", "summary": "…", "sent_at": "2026-…Z"}
//! ```
//!
//! `state` is `firing`, `resolved` or `test`; `project` is set for the
//! per-project rules (`conflicts`, `pending`); `deployment` is the Redis key
//! prefix, which tells deployments sharing a channel apart.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;
use wstg_settings::AlertKind;

/// The longest summary sent (a bound on every body).
const SUMMARY_MAX: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeState {
    Firing,
    Resolved,
    Test,
}

impl NoticeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeState::Firing => "firing",
            NoticeState::Resolved => "resolved",
            NoticeState::Test => "test",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    pub rule: String,
    pub state: NoticeState,
    pub value: f64,
    pub threshold: f64,
    pub unit: String,
    pub project: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub deployment: String,
    pub incident_id: Uuid,
    pub summary: String,
    pub sent_at: DateTime<Utc>,
}

impl Notice {
    /// The message `wstgctl alert test` sends.
    pub fn test(deployment: &str) -> Notice {
        Notice {
            rule: "test".to_owned(),
            state: NoticeState::Test,
            value: 0.0,
            threshold: 0.0,
            unit: String::new(),
            project: None,
            since: None,
            deployment: deployment.to_owned(),
            incident_id: Uuid::now_v7(),
            summary: "a test alert sent by wstgctl alert test: this webhook receives wstg-bridge's alerts".to_owned(),
            sent_at: Utc::now(),
        }
    }

    /// The body for `kind`.
    pub fn body(&self, kind: AlertKind) -> Value {
        match kind {
            AlertKind::Json => self.json(),
            AlertKind::Slack => json!({ "text": self.slack_text() }),
        }
    }

    fn json(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or_else(|_| json!({}));
        v["summary"] = json!(bounded(&self.summary));
        for key in ["value", "threshold"] {
            // Whole numbers as integers: `3`, not `3.0`.
            if let Some(f) = v[key].as_f64() {
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    v[key] = json!(f as i64);
                }
            }
        }
        v
    }

    fn slack_text(&self) -> String {
        let head = match self.state {
            NoticeState::Firing => ":rotating_light: *FIRING*",
            NoticeState::Resolved => ":white_check_mark: *RESOLVED*",
            NoticeState::Test => ":information_source: *TEST*",
        };
        let mut text = format!(
            "{head} wstg-bridge `{}`: *{}*",
            slack_escape(&self.deployment),
            self.rule
        );
        if let Some(p) = &self.project {
            text.push_str(&format!(" (project `{}`)", slack_escape(p)));
        }
        text.push('\n');
        text.push_str(&slack_escape(&bounded(&self.summary)));
        if let Some(since) = self.since {
            let verb = match self.state {
                NoticeState::Resolved => "was firing since",
                _ => "since",
            };
            text.push_str(&format!("\n_{verb} {}_", since.to_rfc3339()));
        }
        text
    }
}

fn bounded(s: &str) -> String {
    if s.chars().count() <= SUMMARY_MAX {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(SUMMARY_MAX).collect();
        t.push('…');
        t
    }
}

/// Slack's three control characters in message text
/// (https://api.slack.com/reference/surfaces/formatting#escaping): error
/// texts from DefectDojo must not become links or mentions.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn notice() -> Notice {
        Notice {
            rule: "conflicts".into(),
            state: NoticeState::Firing,
            value: 12.0,
            threshold: 10.0,
            unit: "items".into(),
            project: Some("acme".into()),
            since: DateTime::from_timestamp(1_800_000_000, 0),
            deployment: "wstg".into(),
            incident_id: Uuid::nil(),
            summary: "project acme: 12 item(s) in conflict <!channel>".into(),
            sent_at: DateTime::from_timestamp(1_800_000_060, 0).unwrap(),
        }
    }

    #[test]
    fn the_json_body_names_rule_state_value_threshold_project_since_and_deployment() {
        let v = notice().body(AlertKind::Json);
        assert_eq!(v["rule"], "conflicts");
        assert_eq!(v["state"], "firing");
        assert_eq!(v["value"], 12);
        assert_eq!(v["threshold"], 10);
        assert_eq!(v["project"], "acme");
        assert_eq!(v["since"], "2027-01-15T08:00:00Z");
        assert_eq!(v["deployment"], "wstg");
        assert_eq!(v["incident_id"], Uuid::nil().to_string());
    }

    #[test]
    fn the_slack_body_is_escaped_text() {
        let v = notice().body(AlertKind::Slack);
        let text = v["text"].as_str().unwrap();
        assert!(
            text.contains("*FIRING*") && text.contains("*conflicts*"),
            "{text}"
        );
        assert!(text.contains("&lt;!channel&gt;"), "{text}");
        assert!(!text.contains("<!channel>"), "{text}");
    }

    #[test]
    fn a_long_summary_is_cut() {
        let mut n = notice();
        n.summary = "x".repeat(10_000);
        let body = n.body(AlertKind::Json).to_string();
        assert!(body.len() < 2_000, "{}", body.len());
    }
}
