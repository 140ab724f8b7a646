//! Python `repr()` of the values DefectDojo's exception handler stringifies.
//!
//! `custom_exception_handler` (dojo/api_v2/exception_handler.py) puts `str(exc)` of a DRF
//! `ValidationError` into `"message"`, i.e. the repr of a dict of `ErrorDetail` lists
//! (docs/defectdojo.md §4). Clients are told to ignore it, but we reproduce it so recorded bodies compare
//! equal.

use super::errors::FieldErrors;

/// `repr(str)`: single quotes unless the text contains a single quote and no double quote.
pub fn py_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `str(ValidationError(detail_dict))`:
/// `{'name': [ErrorDetail(string='This field is required.', code='required')]}`.
pub fn validation_error(errors: &FieldErrors) -> String {
    let fields: Vec<String> = errors
        .iter()
        .map(|(field, items)| {
            let details: Vec<String> = items
                .iter()
                .map(|item| {
                    format!(
                        "ErrorDetail(string={}, code={})",
                        py_str(&item.message),
                        py_str(item.code)
                    )
                })
                .collect();
            format!("{}: [{}]", py_str(field), details.join(", "))
        })
        .collect();
    format!("{{{}}}", fields.join(", "))
}

/// `repr(list_of_str)`, as used in the `remove_tags` error message.
pub fn py_str_list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| py_str(s)).collect();
    format!("[{}]", inner.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drf::errors::ErrorItem;

    #[test]
    fn str_quoting_follows_python() {
        assert_eq!(py_str("plain"), "'plain'");
        assert_eq!(py_str("it's"), "\"it's\"");
        assert_eq!(py_str("both ' and \""), "'both \\' and \"'");
        assert_eq!(py_str("a\nb"), "'a\\nb'");
    }

    #[test]
    fn severity_message_matches_recording() {
        // LIVE 20
        let mut errors = FieldErrors::default();
        errors.add(
            "severity",
            ErrorItem::invalid(
                "Severity must be one of the following: ['Info', 'Low', 'Medium', 'High', 'Critical']",
            ),
        );
        assert_eq!(
            validation_error(&errors),
            "{'severity': [ErrorDetail(string=\"Severity must be one of the following: ['Info', 'Low', 'Medium', 'High', 'Critical']\", code='invalid')]}"
        );
    }
}
