//! A person's name as both sides spell it: the tracker's assignee and a
//! comment's author, DefectDojo's `Dojo_User.username`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A username: 1 to 150 characters of letters, digits and `@ . + - _`
/// (Django's `UnicodeUsernameValidator` and its `max_length`, so every
/// DefectDojo username parses), stored lowercase: DefectDojo's tag filter
/// lowercases what it is given (docs/defectdojo.md §2), and "Alice" and
/// "alice" are one tester.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UsernameError {
    #[error("is empty")]
    Empty,
    #[error("is {0} characters long; the limit is {max}", max = Username::MAX_CHARS)]
    TooLong(usize),
    #[error("holds '{0}'; only letters, digits and @ . + - _ are allowed")]
    BadChar(char),
}

impl Username {
    pub const MAX_CHARS: usize = 150;

    pub fn parse(raw: &str) -> Result<Username, UsernameError> {
        // Measured as sent (the documented maxLength), not after trimming.
        let len = raw.chars().count();
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(UsernameError::Empty);
        }
        if len > Self::MAX_CHARS {
            return Err(UsernameError::TooLong(len));
        }
        if let Some(c) = raw
            .chars()
            .find(|c| !(c.is_alphanumeric() || matches!(c, '@' | '.' | '+' | '-' | '_')))
        {
            return Err(UsernameError::BadChar(c));
        }
        Ok(Username(raw.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Username {
    type Error = UsernameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Username::parse(&s)
    }
}

impl From<Username> for String {
    fn from(u: Username) -> String {
        u.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_django_usernames_lowercase_and_refuses_the_rest() {
        assert_eq!(
            Username::parse(" Alice.B@x+1-_ ").unwrap().as_str(),
            "alice.b@x+1-_"
        );
        assert_eq!(Username::parse(""), Err(UsernameError::Empty));
        assert_eq!(Username::parse("a b"), Err(UsernameError::BadChar(' ')));
        assert_eq!(Username::parse("a:b"), Err(UsernameError::BadChar(':')));
        assert!(Username::parse(&"x".repeat(150)).is_ok());
        assert_eq!(
            Username::parse(&"x".repeat(151)),
            Err(UsernameError::TooLong(151))
        );
        assert!(serde_json::from_str::<Username>("\"a b\"").is_err());
    }
}
