//! The one middleware over `/api/wstg` (the webhook excepted, which has its
//! own key): in this order,
//!
//! 1. **Host** must be a loopback name (`localhost`, `127.0.0.1`, `[::1]`),
//!    the address the ingest is bound to, or `auth.public_host`; otherwise
//!    421. A page on `attacker.example` whose name was re-bound to 127.0.0.1
//!    (DNS rebinding) sends `Host: attacker.example` and reads nothing.
//! 2. **Origin / `Sec-Fetch-Site`**: a request a browser sent for a page of
//!    another origin is refused (403) unless that origin is in
//!    `ingest.cors_origins`. Browsers always send `Origin` on cross-origin
//!    POSTs (forms included) and `Sec-Fetch-Site` on everything; clients
//!    that are not browsers send neither and pass.
//! 3. **Content-Type**: POST, PUT, PATCH and DELETE must declare
//!    `application/json` (415), which a cross-site form or a no-cors
//!    `fetch` cannot send without a CORS preflight.
//! 4. **Authentication**: a bearer token (configured or stored), or
//!    anonymous access where the operator allowed it; otherwise 401. The
//!    [`Principal`](crate::auth::Principal) found is left in the request.
//!
//! Errors are the API's JSON errors.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};

use crate::auth::{authenticate, bearer};
use crate::errors::ApiError;
use crate::state::AppState;

pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(req
            .error_response(ApiError::Internal(anyhow::anyhow!("no app state")))
            .map_into_right_body());
    };
    match check(&req, &state).await {
        Ok(principal) => {
            tracing::debug!(principal = %principal.label, "authenticated");
            req.extensions_mut().insert(principal);
            next.call(req)
                .await
                .map(ServiceResponse::map_into_left_body)
        }
        Err(e) => Ok(req.error_response(e).map_into_right_body()),
    }
}

async fn check(req: &ServiceRequest, state: &AppState) -> Result<crate::auth::Principal, ApiError> {
    let host = request_host(req);
    check_host(host.as_deref(), &state.auth.hosts)?;
    check_origin(
        req,
        host.as_deref().unwrap_or_default(),
        &state.auth.origins,
    )?;
    if is_state_changing(req.method()) && !declares_json(req) && !evidence_upload(req) {
        return Err(ApiError::UnsupportedMediaType);
    }
    authenticate(state, bearer(req)?.as_deref()).await
}

/// The Host header (HTTP/1.1) or the URI's authority (HTTP/2).
fn request_host(req: &ServiceRequest) -> Option<String> {
    req.headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()))
}

/// The host name of a `Host` value, lowercase, without port or final dot.
pub fn host_name(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    let name = if host.starts_with('[') {
        // [::1]:8088
        host.split_inclusive(']')
            .next()
            .unwrap_or_default()
            .to_owned()
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name.to_owned(),
            _ => host,
        }
    };
    name.trim_end_matches('.').to_owned()
}

fn check_host(host: Option<&str>, allowed: &[String]) -> Result<(), ApiError> {
    let Some(host) = host else {
        return Err(ApiError::MisdirectedHost(String::new()));
    };
    let name = host_name(host);
    if allowed.contains(&name) {
        Ok(())
    } else {
        // Printable ASCII only, and short: the value goes into the answer.
        let shown: String = name
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(100)
            .collect();
        Err(ApiError::MisdirectedHost(shown))
    }
}

fn check_origin(req: &ServiceRequest, host: &str, allowed: &[String]) -> Result<(), ApiError> {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase());
    if let Some(origin) = origin {
        let host = host.trim().to_ascii_lowercase();
        let same_origin = origin == format!("http://{host}") || origin == format!("https://{host}");
        if same_origin
            || allowed
                .iter()
                .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(&origin))
        {
            return Ok(());
        }
        return Err(ApiError::CrossSite(
            "the Origin is not in ingest.cors_origins".to_owned(),
        ));
    }
    // No Origin: a browser still says where the request comes from.
    match req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
    {
        Some("cross-site") | Some("same-site") => Err(ApiError::CrossSite(
            "sent by a page of another site (Sec-Fetch-Site)".to_owned(),
        )),
        _ => Ok(()),
    }
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The one non-JSON write: an evidence upload (multipart). The route itself
/// then insists on a bearer token, which a cross-site form cannot send (the
/// Origin check above already refuses cross-site browsers; that keeps the
/// second layer, even where anonymous access is allowed).
fn evidence_upload(req: &ServiceRequest) -> bool {
    *req.method() == Method::POST && req.path().ends_with("/evidence")
}

fn declares_json(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_lose_port_case_and_final_dot() {
        assert_eq!(host_name("LocalHost:8088"), "localhost");
        assert_eq!(host_name("127.0.0.1"), "127.0.0.1");
        assert_eq!(host_name("[::1]:8088"), "[::1]");
        assert_eq!(host_name("wstg.example.org."), "wstg.example.org");
        assert_eq!(host_name("attacker.example:80"), "attacker.example");
    }

    #[test]
    fn only_allowed_hosts_pass() {
        let allowed = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        assert!(check_host(Some("127.0.0.1:8088"), &allowed).is_ok());
        assert!(check_host(Some("attacker.example"), &allowed).is_err());
        assert!(check_host(None, &allowed).is_err());
        // A look-alike suffix is another name.
        assert!(check_host(Some("localhost.attacker.example"), &allowed).is_err());
    }
}
