//! Scrubbing what DefectDojo (or a proxy in front of it) sends back before
//! any of it becomes an error message.
//!
//! Error bodies end up in `last_error` (readable through the items API and
//! the dashboard), audit rows, dead letters and logs. A DefectDojo with
//! `api_expose_error_details` on, a debug page, or a proxy that echoes the
//! request can put our `Authorization: Token …` header into its body. So
//! every upstream text is scrubbed where it enters, here, of:
//! - the configured DefectDojo token, wherever it appears;
//! - anything shaped like an authorization credential: `Token …`,
//!   `Bearer …`, `Basic …`, `Digest …` followed by a credential-like word,
//!   and `Authorization: …`, `api_key=…`, `token=…`, `password=…` pairs;
//! - passwords and credential query parameters in URLs (the workspace's one
//!   URL redactor, `wstg_domain::redact_url`).

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// What replaces a scrubbed credential.
pub const REDACTED: &str = "[REDACTED]";

/// `Token abc…`, `Bearer abc…`, `Basic dXNl…`: a scheme word and a
/// credential of 8+ token characters (so "Token has expired" survives).
static SCHEME_CREDENTIAL: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)] // a constant pattern
    Regex::new(r"(?i)\b(token|bearer|basic|digest)(\s+)[A-Za-z0-9._~+/=:-]{8,}")
        .expect("valid regex")
});

/// `Authorization: …`, `"api_key": "…"`, `token=…`, `password=…`: a
/// credential-named key, a separator, and its value.
static NAMED_CREDENTIAL: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)] // a constant pattern
    Regex::new(
        r#"(?i)\b(authorization|proxy-authorization|x-api-key|api[_-]?key|access[_-]?token|auth[_-]?token|token|password|passwd|secret)(["']?\s*[:=]\s*["']?)([^\s"'&,;}<>]+)"#,
    )
    .expect("valid regex")
});

/// `scheme://…` up to a blank, quote or bracket.
static URL: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)] // a constant pattern
    Regex::new(r#"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]+"#).expect("valid regex")
});

/// `text` without the token, credentials or URL passwords.
pub fn scrub(text: &str, token: &str) -> String {
    let token = token.trim();
    let mut out: Cow<'_, str> = Cow::Borrowed(text);
    // Short "tokens" would blank out ordinary words; real keys are 40 hex.
    if token.len() >= 8 && out.contains(token) {
        out = Cow::Owned(out.replace(token, REDACTED));
    }
    let out = SCHEME_CREDENTIAL.replace_all(&out, |c: &Captures<'_>| {
        format!("{}{}{REDACTED}", &c[1], &c[2])
    });
    let out = NAMED_CREDENTIAL.replace_all(&out, |c: &Captures<'_>| {
        if c[3].eq_ignore_ascii_case(REDACTED) || c[3].starts_with('[') {
            c[0].to_owned()
        } else {
            format!("{}{}{REDACTED}", &c[1], &c[2])
        }
    });
    let out = URL.replace_all(&out, |c: &Captures<'_>| wstg_domain::redact_url(&c[0]));
    out.into_owned()
}

/// [`scrub`] for a response body: bytes in, bytes out (JSON stays JSON:
/// nothing replaced introduces a quote or a backslash).
pub fn scrub_body(body: &[u8], token: &str) -> Vec<u8> {
    scrub(&String::from_utf8_lossy(body), token).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn the_token_goes_wherever_it_is() {
        let s = scrub(&format!("echo: {TOKEN}!"), TOKEN);
        assert_eq!(s, "echo: [REDACTED]!");
        let s = scrub(&format!("x{TOKEN}y"), TOKEN);
        assert!(!s.contains(TOKEN), "{s}");
    }

    #[test]
    fn authorization_shaped_values_go_even_when_not_ours() {
        for (input, gone) in [
            ("Authorization: Token abcdefgh12345678", "abcdefgh12345678"),
            (
                "header was Bearer eyJhbGciOiJIUzI1NiJ9.e30.x",
                "eyJhbGciOiJIUzI1NiJ9",
            ),
            ("Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA"),
            (
                r#"{"headers": {"Authorization": "Token zzzzzzzzzzzz"}}"#,
                "zzzzzzzzzzzz",
            ),
            ("GET /x?api_key=k3y-v4lue&x=1", "k3y-v4lue"),
            ("password=hunter2 rejected", "hunter2"),
            (r#"{"X-Api-Key": "abc123"}"#, "abc123"),
        ] {
            let s = scrub(input, TOKEN);
            assert!(!s.contains(gone), "{input} -> {s}");
            assert!(s.contains(REDACTED), "{input} -> {s}");
        }
    }

    #[test]
    fn ordinary_messages_survive() {
        for m in [
            "Invalid token.",
            "Token has expired",
            "Authentication credentials were not provided.",
            "No Finding matches the given query.",
        ] {
            assert_eq!(scrub(m, TOKEN), m);
        }
    }

    #[test]
    fn urls_lose_their_passwords() {
        let s = scrub(
            "proxy error at http://u:pw123456@dojo:8080/api?token=t",
            TOKEN,
        );
        assert!(!s.contains("pw123456") && !s.contains("token=t"), "{s}");
        assert!(s.contains("dojo:8080"), "{s}");
    }

    #[test]
    fn json_bodies_stay_json() {
        let body =
            format!(r#"{{"detail": "bad header Token {TOKEN}", "seen": "Bearer abcdefghijkl"}}"#);
        let out = scrub_body(body.as_bytes(), TOKEN);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(!v.to_string().contains(TOKEN));
        assert!(!v.to_string().contains("abcdefghijkl"));
    }
}
