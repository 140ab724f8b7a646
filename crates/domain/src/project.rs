//! `ProjectName`: which engagement a checklist belongs to.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A project (one tracker checklist = one DefectDojo product/engagement/test).
///
/// Used in Redis keys and DefectDojo names, so it is restricted to a safe
/// alphabet: letters, digits, space, `_`, `-`, `.`; 1 to 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProjectName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProjectNameError {
    #[error("is empty")]
    Empty,
    #[error("is longer than 64 characters")]
    TooLong,
    #[error("'{0}' may contain only letters, digits, space, '_', '-' and '.'")]
    BadCharacter(String),
}

impl ProjectName {
    pub const DEFAULT: &'static str = "default";

    pub fn parse(raw: &str) -> Result<ProjectName, ProjectNameError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(ProjectNameError::Empty);
        }
        if s.chars().count() > 64 {
            return Err(ProjectNameError::TooLong);
        }
        if !s
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.'))
        {
            return Err(ProjectNameError::BadCharacter(s.to_owned()));
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

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_safe_names_and_rejects_others() {
        assert_eq!(
            ProjectName::parse(" Medical Register ").unwrap().as_str(),
            "Medical Register"
        );
        assert_eq!(ProjectName::parse(""), Err(ProjectNameError::Empty));
        assert!(ProjectName::parse("a:b").is_err());
        assert!(ProjectName::parse(&"x".repeat(65)).is_err());
    }
}
