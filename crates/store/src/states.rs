//! The two small vocabularies stored as text: how an item's sync stands, and
//! which way a sync went.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How an item's sync stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Both sides hold the last synced state.
    Synced,
    /// A tracker change is recorded and not yet in DefectDojo.
    Pending,
    /// Both sides changed differently; stays until the next resolution.
    Conflict,
    /// The last attempt failed for good (see `last_error`).
    Failed,
}

impl SyncState {
    pub const ALL: [SyncState; 4] = [
        SyncState::Synced,
        SyncState::Pending,
        SyncState::Conflict,
        SyncState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SyncState::Synced => "synced",
            SyncState::Pending => "pending",
            SyncState::Conflict => "conflict",
            SyncState::Failed => "failed",
        }
    }
}

impl fmt::Display for SyncState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored word that is not one of the vocabulary's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a {vocabulary}")]
pub struct UnknownValue {
    pub vocabulary: &'static str,
    pub value: String,
}

impl FromStr for SyncState {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SyncState::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownValue {
                vocabulary: "sync state",
                value: s.to_owned(),
            })
    }
}

/// Which way a sync went. Spelled as in the original design's state file and
/// log (`tracker->dd`, `dd->tracker`) so existing dashboards keep working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Direction {
    #[serde(rename = "tracker->dd")]
    TrackerToDojo,
    #[serde(rename = "dd->tracker")]
    DojoToTracker,
}

impl Direction {
    pub const ALL: [Direction; 2] = [Direction::TrackerToDojo, Direction::DojoToTracker];

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::TrackerToDojo => "tracker->dd",
            Direction::DojoToTracker => "dd->tracker",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Direction {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Direction::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownValue {
                vocabulary: "sync direction",
                value: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn spellings_match_serde_and_parse_back() {
        for s in SyncState::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(s.as_str().parse::<SyncState>(), Ok(s));
        }
        for d in Direction::ALL {
            assert_eq!(serde_json::to_value(d).unwrap(), d.as_str());
            assert_eq!(d.as_str().parse::<Direction>(), Ok(d));
        }
        assert_eq!(Direction::TrackerToDojo.as_str(), "tracker->dd");
        assert_eq!(Direction::DojoToTracker.as_str(), "dd->tracker");
        assert!("sideways".parse::<Direction>().is_err());
    }
}
