//! Authentication as DRF runs it for DefectDojo: `SessionAuthentication`,
//! `BasicAuthentication`, then `TokenAuthentication` (settings.dist.py:705-721, docs/defectdojo.md §4).
//!
//! Every failure is a 403, not a 401: the first authenticator (session) has no
//! `WWW-Authenticate` header, so DRF downgrades `NotAuthenticated`/`AuthenticationFailed` to
//! 403 (LIVE 02-04). Only `Authorization: Token <key>` is accepted; Basic credentials are
//! recognised as such but always rejected (the simulator has no passwords).

use std::future::{ready, Ready};

use actix_web::{dev::Payload, http::header, http::StatusCode, web, FromRequest, HttpRequest};

use crate::drf::ApiError;
use crate::state::AppState;

pub const NOT_PROVIDED: &str = "Authentication credentials were not provided.";
pub const INVALID_TOKEN: &str = "Invalid token.";

fn forbidden(detail: &str) -> ApiError {
    ApiError::detail(StatusCode::FORBIDDEN, detail)
}

/// Compares without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks an `Authorization` header value against the configured token.
pub fn check(header_value: Option<&[u8]>, token: &str) -> Result<(), ApiError> {
    let raw = header_value.unwrap_or_default();
    // `get_authorization_header(request).split()`: runs of ASCII whitespace separate parts
    let parts: Vec<&[u8]> = raw
        .split(u8::is_ascii_whitespace)
        .filter(|p| !p.is_empty())
        .collect();
    let Some(keyword) = parts.first() else {
        return Err(forbidden(NOT_PROVIDED));
    };
    let keyword = keyword.to_ascii_lowercase();
    if keyword == b"basic" {
        return Err(forbidden(match parts.len() {
            1 => "Invalid basic header. No credentials provided.",
            2 => "Invalid username/password.",
            _ => "Invalid basic header. Credentials string should not contain spaces.",
        }));
    }
    if keyword != b"token" {
        // e.g. "Bearer <key>": no authenticator claims it (LIVE 04)
        return Err(forbidden(NOT_PROVIDED));
    }
    match parts.len() {
        1 => Err(forbidden("Invalid token header. No credentials provided.")),
        2 => {
            let Ok(key) = std::str::from_utf8(parts[1]) else {
                return Err(forbidden(
                    "Invalid token header. Token string should not contain invalid characters.",
                ));
            };
            if constant_time_eq(key.as_bytes(), token.as_bytes()) {
                Ok(())
            } else {
                Err(forbidden(INVALID_TOKEN))
            }
        }
        _ => Err(forbidden(
            "Invalid token header. Token string should not contain spaces.",
        )),
    }
}

/// Extractor that succeeds only for an authenticated request. Put it first in a handler's
/// arguments: DRF authenticates before it parses the body.
pub struct Authenticated;

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            return ready(Err(ApiError::Internal));
        };
        let header = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        ready(check(header, &state.token).map(|()| Authenticated))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(r: Result<(), ApiError>) -> String {
        match r {
            Ok(()) => "ok".into(),
            Err(ApiError::Detail { detail, .. }) => detail,
            Err(other) => format!("{other}"),
        }
    }

    #[test]
    fn recorded_cases() {
        assert_eq!(detail(check(None, "k")), NOT_PROVIDED);
        assert_eq!(detail(check(Some(b"Token nope"), "k")), INVALID_TOKEN);
        assert_eq!(detail(check(Some(b"Bearerk"), "k")), NOT_PROVIDED);
        assert_eq!(detail(check(Some(b"Bearer k"), "k")), NOT_PROVIDED);
        assert_eq!(detail(check(Some(b"Token k"), "k")), "ok");
        assert_eq!(detail(check(Some(b"token   k"), "k")), "ok");
        assert_eq!(
            detail(check(Some(b"Token"), "k")),
            "Invalid token header. No credentials provided."
        );
        assert_eq!(
            detail(check(Some(b"Token a b"), "k")),
            "Invalid token header. Token string should not contain spaces."
        );
        assert_eq!(
            detail(check(Some(b"Basic YWRtaW46eA=="), "k")),
            "Invalid username/password."
        );
    }
}
