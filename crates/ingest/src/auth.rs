//! Who is calling, and what they may do.
//!
//! The guard middleware (`guard.rs`) authenticates every `/api/wstg` request
//! once and leaves a [`Principal`] in the request; handlers take it as an
//! extractor and ask it before touching a project. Presented tokens are never
//! logged. Configured tokens are compared in constant time; stored tokens are
//! looked up by their SHA-256 (crates/store/src/tokens.rs).

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use subtle::ConstantTimeEq;
use wstg_domain::ProjectName;
use wstg_store::{Access, TokenGrant};

use crate::auth_failure::AuthFailure;
use crate::errors::ApiError;
use crate::state::AppState;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub kind: PrincipalKind,
    /// For logs: `admin token`, `ingest token`, `anonymous`, or a stored
    /// token's id. Never the secret.
    pub label: String,
}

#[derive(Debug, Clone)]
pub enum PrincipalKind {
    /// The admin endpoints and every project.
    Admin,
    /// Read and write on every project (`WSTG_INGEST_TOKEN`, or anonymous
    /// access where the operator allowed it), no admin endpoints.
    AllProjects,
    /// A stored tracker token: its grants only.
    Projects(Vec<TokenGrant>),
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        matches!(self.kind, PrincipalKind::Admin)
    }

    /// Whether every project is open to it (it may see overall figures).
    pub fn sees_every_project(&self) -> bool {
        !matches!(self.kind, PrincipalKind::Projects(_))
    }

    pub fn may(&self, project: &ProjectName, access: Access) -> bool {
        match &self.kind {
            PrincipalKind::Admin | PrincipalKind::AllProjects => true,
            PrincipalKind::Projects(grants) => grants
                .iter()
                .any(|g| &g.project == project && g.access >= access),
        }
    }

    /// 403 unless it may `access` `project`. Checked before the project's
    /// existence, so a scoped token learns nothing about other projects.
    pub fn require(&self, project: &ProjectName, access: Access) -> Result<(), ApiError> {
        if self.may(project, access) {
            return Ok(());
        }
        let verb = match access {
            Access::Read => "read",
            Access::Write => "write to",
        };
        Err(ApiError::Denied(format!(
            "this token may not {verb} project '{project}'"
        )))
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Denied("an admin token is required".to_owned()))
        }
    }
}

/// Handlers under the guarded scope take the principal the guard found.
impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Ready<Result<Principal, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Absent only on a route outside the guarded scope: refuse.
        ready(
            req.extensions()
                .get::<Principal>()
                .cloned()
                .ok_or(ApiError::Unauthorized),
        )
    }
}

/// The bearer token of a request: `None` without an `Authorization`
/// header, an error for one that is not `Bearer <token>`.
pub fn bearer(req: &impl HttpMessage) -> Result<Option<String>, AuthFailure> {
    let Some(value) = req.headers().get(actix_web::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| Some(t.to_owned()))
        .ok_or(AuthFailure::MalformedBearer)
}

/// Who presented `token` (or nothing), or 401.
pub async fn authenticate(state: &AppState, token: Option<&str>) -> Result<Principal, ApiError> {
    use secrecy::ExposeSecret;
    let Some(token) = token else {
        return if state.auth.allow_anonymous {
            Ok(Principal {
                kind: PrincipalKind::AllProjects,
                label: "anonymous".to_owned(),
            })
        } else {
            Err(AuthFailure::MissingBearer.into())
        };
    };
    // Both configured tokens are compared, whichever matches, so the time
    // taken does not say which one exists.
    let is_admin = state
        .admin_token
        .as_ref()
        .is_some_and(|t| constant_time_eq(token, t.expose_secret()));
    let is_ingest = state
        .ingest_token
        .as_ref()
        .is_some_and(|t| constant_time_eq(token, t.expose_secret()));
    if is_admin {
        return Ok(Principal {
            kind: PrincipalKind::Admin,
            label: "admin token".to_owned(),
        });
    }
    if is_ingest {
        return Ok(Principal {
            kind: PrincipalKind::AllProjects,
            label: "ingest token".to_owned(),
        });
    }
    match state.store.token_for_secret(token).await {
        Ok(Some(stored)) => Ok(Principal {
            kind: match stored.role {
                wstg_store::TokenRole::Admin => PrincipalKind::Admin,
                wstg_store::TokenRole::Tracker => PrincipalKind::Projects(stored.grants),
            },
            label: format!("token {}", stored.id),
        }),
        Ok(None) => Err(AuthFailure::UnknownToken.into()),
        Err(e) => {
            tracing::warn!(error = %e, "store unavailable for a token lookup");
            Err(ApiError::Unavailable("store"))
        }
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

    #[test]
    fn grants_open_their_projects_only() {
        let p = |s: &str| ProjectName::parse(s).unwrap_or_else(|_| ProjectName::default_project());
        let tracker = Principal {
            kind: PrincipalKind::Projects(vec![
                TokenGrant {
                    project: p("alpha"),
                    access: Access::Write,
                },
                TokenGrant {
                    project: p("beta"),
                    access: Access::Read,
                },
            ]),
            label: "t".into(),
        };
        assert!(tracker.may(&p("alpha"), Access::Write));
        assert!(tracker.may(&p("alpha"), Access::Read));
        assert!(tracker.may(&p("beta"), Access::Read));
        assert!(!tracker.may(&p("beta"), Access::Write));
        assert!(!tracker.may(&p("gamma"), Access::Read));
        assert!(!tracker.is_admin() && !tracker.sees_every_project());
        assert!(tracker.require_admin().is_err());
    }
}
