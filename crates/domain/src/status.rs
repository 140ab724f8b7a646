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
#[error("'{0}' is not a status (expected one of: not_started, in_progress, blocked, done, not_applicable)")]
pub struct UnknownStatus(pub String);

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
        let status = match key.as_str() {
            "notstarted" | "todo" | "new" | "open" | "nottested" | "pending" => Status::NotStarted,
            "inprogress" | "started" | "doing" | "testing" | "testinginprogress" | "wip" => {
                Status::InProgress
            }
            "blocked" | "onhold" => Status::Blocked,
            "done" | "complete" | "completed" | "tested" | "finished" => Status::Done,
            "notapplicable" | "n/a" | "na" | "notapplic" | "skipped" => Status::NotApplicable,
            _ => return Err(UnknownStatus(raw.to_owned())),
        };
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        for raw in ["", "finished-ish", "closed?", "maybe"] {
            assert!(raw.parse::<Status>().is_err(), "{raw}");
        }
    }
}
