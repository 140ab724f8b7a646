//! The tracker's bearer token, compared in constant time. The presented
//! value is never logged.

use actix_web::HttpRequest;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::errors::ApiError;

/// Checks `Authorization: Bearer <token>` when a token is configured.
pub fn require_bearer(req: &HttpRequest, expected: Option<&SecretString>) -> Result<(), ApiError> {
    let Some(expected) = expected else {
        return Ok(());
    };
    let presented = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .unwrap_or("");
    if constant_time_eq(presented, expected.expose_secret()) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// Equal-length comparison in constant time; a length mismatch is answered
/// after the same amount of work on a same-length dummy.
pub fn constant_time_eq(presented: &str, expected: &str) -> bool {
    let (p, e) = (presented.as_bytes(), expected.as_bytes());
    if p.len() != e.len() {
        let _ = e.ct_eq(e);
        return false;
    }
    p.ct_eq(e).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_exactly() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abd", "abc"));
        assert!(!constant_time_eq("ab", "abc"));
        assert!(!constant_time_eq("", "abc"));
    }
}
