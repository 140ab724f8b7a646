//! The one URL redactor: every URL that can reach a log line, an error
//! message or an API answer (Redis, database, DefectDojo, pagination links)
//! goes through [`redact_url`].
//!
//! It is a hand-written scan, not a URL parser, on purpose: the strings that
//! most need redacting are the ones that do not parse (a mistyped URL pasted
//! into a configuration error), and a parser that fails would leave them
//! whole.

/// Query parameters whose value is a credential (compared case-insensitively).
const SECRET_PARAMS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "sslpassword",
    "token",
    "access_token",
    "auth_token",
    "refresh_token",
    "api_key",
    "apikey",
    "api-key",
    "key",
    "secret",
    "client_secret",
    "auth",
    "sig",
    "signature",
    "credential",
    "credentials",
];

/// What replaces a hidden value.
pub const MASK: &str = "***";

/// `url` with the password of its userinfo (`scheme://user:password@host`,
/// or a lone `scheme://secret@host`) and the values of credential-named
/// query parameters (`?password=`, `?token=`, `?api_key=`…) replaced by
/// `***`. Everything else is kept, so the result still says which host and
/// database was meant.
pub fn redact_url(url: &str) -> String {
    let (before_query, query_and_rest) = match url.find('?') {
        Some(q) => (&url[..q], Some(&url[q + 1..])),
        None => (url, None),
    };
    let mut out = redact_userinfo(before_query);
    if let Some(rest) = query_and_rest {
        let (query, fragment) = match rest.find('#') {
            Some(h) => (&rest[..h], Some(&rest[h..])),
            None => (rest, None),
        };
        out.push('?');
        out.push_str(&redact_query(query));
        if let Some(f) = fragment {
            out.push_str(f);
        }
    }
    out
}

fn redact_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    // The userinfo ends at the last '@' before the path: passwords may
    // contain '@' when not percent-encoded.
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &rest[..at];
    let redacted = match userinfo.find(':') {
        Some(colon) => format!("{}:{MASK}", &userinfo[..colon]),
        // `redis://secret@host` puts the password in the user position.
        None if !userinfo.is_empty() => MASK.to_owned(),
        None => String::new(),
    };
    format!("{}{}{}", &url[..scheme_end + 3], redacted, &rest[at..])
}

fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if is_secret_param(name) && !value.is_empty() => {
                format!("{name}={MASK}")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn is_secret_param(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    SECRET_PARAMS.contains(&name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_userinfo_passwords() {
        assert_eq!(
            redact_url("redis://user:s3cret@host:6379/0"),
            "redis://user:***@host:6379/0"
        );
        assert_eq!(
            redact_url("redis://:s3cret@host:6379"),
            "redis://:***@host:6379"
        );
        assert_eq!(redact_url("rediss://s3cret@host"), "rediss://***@host");
        assert_eq!(redact_url("redis://u:p@ss@host/1"), "redis://u:***@host/1");
        assert_eq!(redact_url("redis://host:6379"), "redis://host:6379");
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn hides_credentials_in_query_strings() {
        assert_eq!(
            redact_url("postgres://db/wstg?sslmode=require&password=hunter2"),
            "postgres://db/wstg?sslmode=require&password=***"
        );
        assert_eq!(
            redact_url("https://dd.example/api/v2/findings/?limit=5&API_KEY=abc#x"),
            "https://dd.example/api/v2/findings/?limit=5&API_KEY=***#x"
        );
        assert_eq!(
            redact_url("https://dd.example/?token=t0k&access_token=a&offset=20"),
            "https://dd.example/?token=***&access_token=***&offset=20"
        );
    }

    #[test]
    fn unparsable_urls_are_redacted_too() {
        // A space and a bad port: no URL parser accepts this.
        let r = redact_url("postgres://admin:hunter2@db host:99999/x?password=other");
        assert!(!r.contains("hunter2") && !r.contains("other"), "{r}");
        assert!(r.contains("admin") && r.contains("db host"), "{r}");
    }
}
