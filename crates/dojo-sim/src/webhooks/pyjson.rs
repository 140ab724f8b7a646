//! JSON encoded the way `requests.post(json=...)` does: Python's `json.dumps` defaults, i.e.
//! `", "` and `": "` separators and `ensure_ascii=True` (every non-ASCII character as `\uXXXX`).
//! The recorded webhook bodies are byte-for-byte in this format (recorded/webhooks/raw/*.json).

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::Formatter;

struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        for c in fragment.chars() {
            if (' '..='~').contains(&c) {
                w.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(w, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

/// Serializes `value` like Python's `json.dumps(value)`.
pub fn to_vec<T: Serialize>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    value.serialize(&mut ser)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_python_dumps() {
        let v = json!({"a": [1, "x"], "b": null});
        assert_eq!(
            String::from_utf8(to_vec(&v).unwrap_or_default()).unwrap_or_default(),
            r#"{"a": [1, "x"], "b": null}"#
        );
        let v = json!("é \"q\" \u{1F600}\u{7f}");
        assert_eq!(
            String::from_utf8(to_vec(&v).unwrap_or_default()).unwrap_or_default(),
            r#""\u00e9 \"q\" \ud83d\ude00\u007f""#
        );
    }
}
