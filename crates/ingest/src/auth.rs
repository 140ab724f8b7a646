//! The tracker's bearer token, compared in constant time. The presented
//! value is never logged.

use actix_web::HttpRequest;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::auth_failure::AuthFailure;
use crate::errors::ApiError;

/// Checks `Authorization: Bearer <token>` when a token is configured; a
/// refusal says whether the header was missing, malformed or the token unknown.
pub fn require_bearer(req: &HttpRequest, expected: Option<&SecretString>) -> Result<(), ApiError> {
    let Some(expected) = expected else {
        return Ok(());
    };
    let Some(value) = req.headers().get(actix_web::http::header::AUTHORIZATION) else {
        return Err(AuthFailure::MissingBearer.into());
    };
    let presented = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AuthFailure::MalformedBearer)?;
    if constant_time_eq(presented, expected.expose_secret()) {
        Ok(())
    } else {
        Err(AuthFailure::UnknownToken.into())
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
