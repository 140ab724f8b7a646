//! Free text from clients: what may appear in a stored or forwarded field.
//!
//! Control characters (NUL, ESC, the C1 range, DEL…) have no place in a
//! checklist field: NUL truncates strings in C-based tools and some
//! databases, ESC starts terminal escape sequences in whoever reads the logs
//! or a CSV export, and CR/LF forge lines in line-based logs. Notes are
//! multi-line prose, so they alone keep newline and tab.

/// Which whitespace controls a field allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One line: no control character at all (names, users, keys).
    Single,
    /// Prose: `\n`, `\r` and `\t` allowed, every other control refused.
    Multi,
}

/// Why a field was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("contains a control character (U+{code:04X}) at character {position}")]
pub struct ControlCharacter {
    pub code: u32,
    /// 0-based, in characters.
    pub position: usize,
}

/// Refuses control characters (Unicode category Cc, plus the bidirectional
/// overrides that make text read differently than it is stored).
pub fn check_controls(text: &str, lines: Lines) -> Result<(), ControlCharacter> {
    for (position, c) in text.chars().enumerate() {
        let allowed = lines == Lines::Multi && matches!(c, '\n' | '\r' | '\t');
        if (c.is_control() && !allowed) || is_bidi_override(c) {
            return Err(ControlCharacter {
                code: c as u32,
                position,
            });
        }
    }
    Ok(())
}

/// U+202A..U+202E and U+2066..U+2069: "Trojan Source" reordering controls.
fn is_bidi_override(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A short printable token (webhook event names and the like): 1 to `max`
/// characters of `[A-Za-z0-9_.:-]`. Anything else is refused rather than
/// escaped, so a log line never carries attacker-chosen punctuation.
pub fn is_token(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.len() <= max
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_fields_refuse_every_control() {
        assert!(check_controls("alice", Lines::Single).is_ok());
        assert!(check_controls("Zoë O'Brien", Lines::Single).is_ok());
        for bad in [
            "a\0b",
            "a\nb",
            "a\tb",
            "a\u{1b}[31mb",
            "a\u{7f}",
            "a\u{85}",
            "a\u{202E}b",
        ] {
            assert!(check_controls(bad, Lines::Single).is_err(), "{bad:?}");
        }
        let e = check_controls("ab\0", Lines::Single).unwrap_err();
        assert_eq!((e.code, e.position), (0, 2));
        assert_eq!(
            e.to_string(),
            "contains a control character (U+0000) at character 2"
        );
    }

    #[test]
    fn notes_keep_newlines_and_tabs_only() {
        assert!(check_controls("line 1\r\nline 2\n\tindented", Lines::Multi).is_ok());
        assert!(check_controls("a\0b", Lines::Multi).is_err());
        assert!(check_controls("a\u{1b}[2Jb", Lines::Multi).is_err());
    }

    #[test]
    fn tokens_are_short_and_plain() {
        assert!(is_token("finding_added", 64));
        assert!(is_token("x.y:z-1", 64));
        assert!(!is_token("", 64));
        assert!(!is_token("a b", 64));
        assert!(!is_token("ok\nINFO forged", 64));
        assert!(!is_token("\u{1b}[31m", 64));
        assert!(!is_token(&"a".repeat(65), 64));
    }
}
