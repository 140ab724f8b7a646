//! `ProjectName`: which engagement a checklist belongs to.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A project (one tracker checklist = one DefectDojo test).
///
/// Any text DefectDojo accepts in a product name (`Product.name`, a
/// `CharField(max_length=255, unique=True)`; DRF trims it and refuses NUL,
/// docs/defectdojo.md §12), minus what can deceive or break a line: control
/// characters and invisible formatting characters (zero-width, bidi
/// overrides) are refused. 1 to 64 characters after trimming: the name is
/// also a part of Redis keys and log lines, and the product name templates
/// may add to it. `/ ( & : { } ' "` are all fine: every place the name goes
/// encodes it (URLs percent-encode it, Redis keys end in an id without `:`,
/// JSON and SQL bind it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProjectName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProjectNameError {
    #[error("is empty")]
    Empty,
    #[error("is longer than 64 characters")]
    TooLong,
    #[error("holds the control or invisible character U+{0:04X}")]
    BadCharacter(u32),
}

impl ProjectName {
    pub const DEFAULT: &'static str = "default";
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<ProjectName, ProjectNameError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(ProjectNameError::Empty);
        }
        // Measured as sent (the documented maxLength), not after trimming.
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(ProjectNameError::TooLong);
        }
        if let Some(c) = s.chars().find(|c| is_unprintable(*c)) {
            return Err(ProjectNameError::BadCharacter(u32::from(c)));
        }
        Ok(ProjectName(s.to_owned()))
    }

    pub fn default_project() -> ProjectName {
        ProjectName(Self::DEFAULT.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Control characters (Unicode Cc: C0, DEL, C1) and the invisible format
/// characters that make two names look alike or reorder a line: soft
/// hyphen, zero-width space/joiners, the bidi marks, embeddings, overrides
/// and isolates, word joiner and invisible operators, and the BOM.
pub fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{061C}' | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_defectdojo_accepts_and_rejects_the_rest() {
        assert_eq!(
            ProjectName::parse(" Medical Register ").unwrap().as_str(),
            "Medical Register"
        );
        for ok in [
            "a:b",
            "R&D (web) / API",
            "{client} 'x' \"y\"",
            "Медицина 2",
            "50% off?#",
        ] {
            assert_eq!(ProjectName::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(ProjectName::parse(""), Err(ProjectNameError::Empty));
        assert_eq!(ProjectName::parse("  \t "), Err(ProjectNameError::Empty));
        assert_eq!(
            ProjectName::parse(&"x".repeat(65)),
            Err(ProjectNameError::TooLong)
        );
        assert!(ProjectName::parse(&"é".repeat(64)).is_ok());
        assert_eq!(
            ProjectName::parse("a\nb"),
            Err(ProjectNameError::BadCharacter(0x0A))
        );
        assert_eq!(
            ProjectName::parse("a\u{0}b"),
            Err(ProjectNameError::BadCharacter(0))
        );
        assert_eq!(
            ProjectName::parse("ab\u{202E}cd"),
            Err(ProjectNameError::BadCharacter(0x202E))
        );
        assert_eq!(
            ProjectName::parse("a\u{200B}b"),
            Err(ProjectNameError::BadCharacter(0x200B))
        );
    }
}
