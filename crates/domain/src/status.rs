//! The five checklist statuses a tester uses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    NotStarted,
    InProgress,
    Blocked,
    Done,
    NotApplicable,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not a status (accepted, case, spaces, '-' and '_' ignored: {accepted})", accepted = accepted_spellings())]
pub struct UnknownStatus(pub String);

/// Every accepted spelling per status, after normalising (lower case, only
/// letters, digits and '/'). The one table behind parsing, the 400 message
/// and docs/sync-rules.md ("Status spellings"), so they cannot drift apart.
pub const ALIASES: [(Status, &[&str]); 5] = [
    (
        Status::NotStarted,
        &["notstarted", "todo", "new", "open", "nottested", "pending"],
    ),
    (
        Status::InProgress,
        &[
            "inprogress",
            "started",
            "doing",
            "testing",
            "testinginprogress",
            "wip",
        ],
    ),
    (Status::Blocked, &["blocked", "onhold"]),
    (
        Status::Done,
        &[
            "done",
            "complete",
            "completed",
            "tested",
            "finished",
            "closed",
        ],
    ),
    (
        Status::NotApplicable,
        &["notapplicable", "n/a", "na", "notapplic", "skipped"],
    ),
];

/// "not_started (todo, new, …); in_progress (…); …" for error messages.
fn accepted_spellings() -> String {
    ALIASES
        .iter()
        .map(|(status, aliases)| format!("{} ({})", status.as_str(), aliases[1..].join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::NotStarted,
        Status::InProgress,
        Status::Blocked,
        Status::Done,
        Status::NotApplicable,
    ];

    /// The machine spelling, used in our API, store and DefectDojo tag.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotStarted => "not_started",
            Status::InProgress => "in_progress",
            Status::Blocked => "blocked",
            Status::Done => "done",
            Status::NotApplicable => "not_applicable",
        }
    }

    /// The label trackers show.
    pub fn label(self) -> &'static str {
        match self {
            Status::NotStarted => "Not Started",
            Status::InProgress => "In Progress",
            Status::Blocked => "Blocked",
            Status::Done => "Done",
            Status::NotApplicable => "Not Applicable",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = UnknownStatus;

    /// Accepts the spellings trackers use: labels ("In Progress"), snake,
    /// kebab and camel case, and the common short forms ("N/A", "todo").
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let key: String = raw
            .trim()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '/')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        ALIASES
            .iter()
            .find(|(_, aliases)| aliases.contains(&key.as_str()))
            .map(|(status, _)| *status)
            .ok_or_else(|| UnknownStatus(raw.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_lists_every_accepted_spelling() {
        let msg = "maybe".parse::<Status>().unwrap_err().to_string();
        assert!(msg.starts_with("'maybe' is not a status"), "{msg}");
        for (status, aliases) in ALIASES {
            assert!(msg.contains(status.as_str()), "{msg}");
            for alias in &aliases[1..] {
                assert!(msg.contains(alias), "{alias} missing from: {msg}");
            }
        }
        assert!(msg.contains("closed"), "{msg}");
    }

    #[test]
    fn no_spelling_means_two_statuses() {
        let mut seen = std::collections::HashSet::new();
        for (_, aliases) in ALIASES {
            for alias in aliases {
                assert!(seen.insert(*alias), "{alias} listed twice");
            }
        }
    }

    #[test]
    fn parses_the_spellings_trackers_use() {
        let cases = [
            ("Not Started", Status::NotStarted),
            ("not_started", Status::NotStarted),
            ("not-started", Status::NotStarted),
            ("notStarted", Status::NotStarted),
            ("In Progress", Status::InProgress),
            ("in_progress", Status::InProgress),
            ("in-progress", Status::InProgress),
            ("Blocked", Status::Blocked),
            ("Done", Status::Done),
            ("DONE", Status::Done),
            ("N/A", Status::NotApplicable),
            ("n/a", Status::NotApplicable),
            ("NA", Status::NotApplicable),
            ("Not Applicable", Status::NotApplicable),
            ("not_applicable", Status::NotApplicable),
            ("closed", Status::Done),
            ("Closed", Status::Done),
            ("skipped", Status::NotApplicable),
            ("todo", Status::NotStarted),
        ];
        for (raw, want) in cases {
            assert_eq!(raw.parse::<Status>(), Ok(want), "{raw}");
        }
    }

    #[test]
    fn every_status_parses_from_its_own_spellings() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
            assert_eq!(s.label().parse::<Status>(), Ok(s));
        }
    }

    #[test]
    fn rejects_unknown_statuses() {
        for raw in ["", "finished-ish", "reopened", "maybe"] {
            assert!(raw.parse::<Status>().is_err(), "{raw}");
        }
    }
}
