//! Requests no handler takes, answered in the API's error shape
//! (errors.rs) instead of actix's empty bodies: an unknown path is a JSON
//! 404, a known path with another method a JSON 405 with `Allow`, and a
//! query string that does not parse a JSON 400 naming the query.

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, HttpRequest, ResponseError};

use crate::errors::ApiError;

/// The longest path echoed back in a 404.
const PATH_ECHO_MAX: usize = 200;

/// The application's default service: no route has this path.
pub async fn not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    let path: String = req.path().chars().take(PATH_ECHO_MAX).collect();
    Err(ApiError::NoRoute { path })
}

/// Turns actix's empty 405 (a resource that takes other methods; it has set
/// `Allow`) into the JSON error.
pub fn method_not_allowed<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().handler(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        |res: ServiceResponse<B>| {
            let is_json = res
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
            if is_json {
                return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
            }
            let allowed: Vec<String> = res
                .headers()
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .map(|v| {
                    v.split(',')
                        .map(|m| m.trim().to_owned())
                        .filter(|m| !m.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            let error = ApiError::MethodNotAllowed {
                method: res.request().method().to_string(),
                allowed,
            };
            let (req, _) = res.into_parts();
            let res = ServiceResponse::new(req, error.error_response());
            Ok(ErrorHandlerResponse::Response(
                res.map_into_right_body::<B>(),
            ))
        },
    )
}

/// A query string that does not parse: 400 naming the query.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|e, _req| ApiError::invalid("query", e.to_string()).into())
}

/// A path segment that does not parse: 400 naming the path.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|e, _req| ApiError::invalid("path", e.to_string()).into())
}
