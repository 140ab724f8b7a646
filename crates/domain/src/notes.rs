//! Tester notes attached to a checklist item.

use serde::{Deserialize, Serialize};

/// Free-text notes, bounded so one item cannot grow without limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Notes(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("is {len} bytes long; the limit is {max} bytes")]
pub struct NotesTooLong {
    pub len: usize,
    pub max: usize,
}

impl Notes {
    pub const MAX_BYTES: usize = 65_536;

    pub fn parse(raw: impl Into<String>) -> Result<Notes, NotesTooLong> {
        let raw = raw.into();
        if raw.len() > Self::MAX_BYTES {
            return Err(NotesTooLong {
                len: raw.len(),
                max: Self::MAX_BYTES,
            });
        }
        // DefectDojo stores text with \r\n from its UI; compare notes modulo
        // line endings so a round trip through the UI is not a change.
        Ok(Notes(raw.replace("\r\n", "\n")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_normalises_line_endings() {
        assert_eq!(Notes::parse("a\r\nb").unwrap().as_str(), "a\nb");
        assert!(Notes::parse("x".repeat(Notes::MAX_BYTES + 1)).is_err());
        assert!(Notes::parse("x".repeat(Notes::MAX_BYTES)).is_ok());
    }
}
