//! A comment in an item's discussion: its text, bounded.

use serde::{Deserialize, Serialize};

/// The most comments one item's discussion holds, both origins together:
/// the API refuses more, and notes beyond it are not brought back.
pub const MAX_COMMENTS_PER_ITEM: u32 = 200;

/// A comment's text: trimmed (DefectDojo's serializer trims a note's
/// `entry`, so an untrimmed body would never read back equal), line endings
/// `\n`, 1 to [`CommentBody::MAX_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CommentBody(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CommentBodyError {
    #[error("is empty")]
    Empty,
    #[error("is {0} characters long; the limit is {max}", max = CommentBody::MAX_CHARS)]
    TooLong(usize),
}

impl CommentBody {
    pub const MAX_CHARS: usize = 4_000;

    pub fn parse(raw: &str) -> Result<CommentBody, CommentBodyError> {
        // Measured as sent (the documented maxLength), not after trimming.
        let len = raw.chars().count();
        let body = raw.replace("\r\n", "\n").trim().to_owned();
        if body.is_empty() {
            return Err(CommentBodyError::Empty);
        }
        if len > Self::MAX_CHARS {
            return Err(CommentBodyError::TooLong(len));
        }
        Ok(CommentBody(body))
    }

    /// A DefectDojo note's entry as a body: cut to the bound instead of
    /// refused (a lead's long note still comes back, shortened).
    pub fn from_note(entry: &str) -> Option<CommentBody> {
        let entry = entry.replace("\r\n", "\n");
        let cut: String = entry.trim().chars().take(Self::MAX_CHARS).collect();
        CommentBody::parse(&cut).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CommentBody {
    type Error = CommentBodyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CommentBody::parse(&s)
    }
}

impl From<CommentBody> for String {
    fn from(b: CommentBody) -> String {
        b.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimmed_bounded_and_not_empty() {
        assert_eq!(CommentBody::parse(" a\r\nb \n").unwrap().as_str(), "a\nb");
        assert_eq!(CommentBody::parse(" \n "), Err(CommentBodyError::Empty));
        assert!(CommentBody::parse(&"é".repeat(CommentBody::MAX_CHARS)).is_ok());
        assert_eq!(
            CommentBody::parse(&"x".repeat(CommentBody::MAX_CHARS + 1)),
            Err(CommentBodyError::TooLong(CommentBody::MAX_CHARS + 1))
        );
        let long = CommentBody::from_note(&"y".repeat(9_000)).unwrap();
        assert_eq!(long.as_str().len(), CommentBody::MAX_CHARS);
        assert_eq!(CommentBody::from_note("  "), None);
    }
}
