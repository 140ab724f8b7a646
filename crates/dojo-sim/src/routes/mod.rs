//! HTTP routes: `/api/v2/...` (the emulated DefectDojo) and `/__sim/...` (test control).

mod auth;
mod control;
mod engagements;
pub(crate) mod files;
mod finding_actions;
mod finding_page;
mod findings;
mod notes;
mod notification_webhooks;
mod notifications;
mod product_types;
mod products;
mod records;
mod system_settings;
mod test_types;
mod tests;

use actix_web::{
    http::{header, StatusCode},
    middleware::from_fn,
    web, HttpRequest, HttpResponse, Resource,
};
use serde_json::{Map, Value};

use crate::auth::Authenticated;
use crate::drf::pagination::{self, RequestUrl};
use crate::drf::query::Query;
use crate::drf::{ApiError, ApiResult};
use crate::pipeline;

/// Mounts everything on an `App`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/__sim").configure(control::routes))
        .configure(finding_page::routes)
        .service(
            web::scope("/api/v2")
                .wrap(from_fn(pipeline::api_pipeline))
                .configure(api)
                .default_service(web::to(api_fallback)),
        )
        .default_service(web::to(not_found));
}

fn api(cfg: &mut web::ServiceConfig) {
    auth::routes(cfg);
    product_types::routes(cfg);
    products::routes(cfg);
    engagements::routes(cfg);
    test_types::routes(cfg);
    tests::routes(cfg);
    findings::routes(cfg);
    finding_actions::routes(cfg);
    files::routes(cfg);
    notes::routes(cfg);
    system_settings::routes(cfg);
    notifications::routes(cfg);
    notification_webhooks::routes(cfg);
}

/// A DRF route: methods it does not serve answer 405 (after authentication, as DRF does).
pub(crate) fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn method_not_allowed(_auth: Authenticated, req: HttpRequest) -> ApiResult<HttpResponse> {
    Err(ApiError::method_not_allowed(req.method().as_str()))
}

/// Django's default 404 page for a URL no route matches.
async fn not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("text/html; charset=utf-8")
        .body(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Not Found</title>\n</head>\n\
             <body>\n  <h1>Not Found</h1><p>The requested resource was not found on this \
             server.</p>\n</body>\n</html>\n",
        )
}

/// Django's `APPEND_SLASH`: `/api/v2/findings` is redirected to `/api/v2/findings/`.
async fn api_fallback(req: HttpRequest) -> HttpResponse {
    let path = req.path();
    if path.ends_with('/') {
        return not_found().await;
    }
    let mut location = format!("{path}/");
    if !req.query_string().is_empty() {
        location.push('?');
        location.push_str(req.query_string());
    }
    HttpResponse::MovedPermanently()
        .insert_header((header::LOCATION, location))
        .finish()
}

pub(crate) fn query(req: &HttpRequest) -> Query {
    Query::parse(req.query_string())
}

/// `request.build_absolute_uri()` without the query: scheme + `Host` header + path.
pub(crate) fn request_url(req: &HttpRequest) -> RequestUrl {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| req.connection_info().host().to_string());
    RequestUrl {
        absolute_path: format!("http://{host}{}", req.path()),
        query: query(req),
    }
}

/// The `{pk}` of a detail route. A pk that is not a number matches nothing: DRF's
/// `get_object_or_404` turns the `ValueError` into a 404.
pub(crate) fn pk(raw: &str, model: &str) -> ApiResult<u64> {
    raw.parse().map_err(|_| ApiError::not_found(model))
}

pub(crate) fn ok(body: Value) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

pub(crate) fn created(body: Value) -> HttpResponse {
    HttpResponse::Created().json(body)
}

/// A paginated list body; `prefetch` is the `"prefetch"` value of the viewsets that use
/// DefectDojo's prefetch mixins (LIVE 74 and later), `None` for the others.
pub(crate) fn list_body<T>(
    items: Vec<T>,
    req: &HttpRequest,
    render: impl FnMut(T) -> Value,
    prefetch: Option<Value>,
) -> HttpResponse {
    let page = pagination::paginate(items, &request_url(req));
    let mut body: Map<String, Value> = page.into_body(render);
    if let Some(prefetch) = prefetch {
        body.insert("prefetch".into(), prefetch);
    }
    HttpResponse::build(StatusCode::OK).json(Value::Object(body))
}

/// DefectDojo's POST permission check on the parent object (api_permissions.py:40-66): it
/// runs before any validation. Missing -> 400 `detail`; unknown id -> 404; a value Django cannot
/// turn into an integer pk -> unhandled `ValueError`, i.e. 500.
pub(crate) fn permission_parent(
    input: &Map<String, Value>,
    attribute: &str,
    model: &str,
    exists: impl Fn(u64) -> bool,
) -> ApiResult<u64> {
    let id: i64 = match input.get(attribute) {
        None | Some(Value::Null) => return Err(ApiError::permission_attribute_required(attribute)),
        Some(Value::Number(n)) => n.as_i64().ok_or(ApiError::Internal)?,
        Some(Value::String(s)) => s.trim().parse().map_err(|_| ApiError::Internal)?,
        Some(_) => return Err(ApiError::Internal),
    };
    u64::try_from(id)
        .ok()
        .filter(|id| exists(*id))
        .ok_or_else(|| ApiError::not_found(model))
}

/// DRF `UniqueValidator` on a `name` field: "<verbose name> with this name already exists."
pub(crate) fn unique_name(taken: bool, verbose_name: &str) -> ApiResult<()> {
    if taken {
        return Err(ApiError::Validation(crate::drf::FieldErrors::single(
            "name",
            crate::drf::ErrorItem::new(
                format!("{verbose_name} with this name already exists."),
                "unique",
            ),
        )));
    }
    Ok(())
}

/// `{"prefetch": {}}` for retrieve responses of prefetch-enabled viewsets.
pub(crate) fn with_empty_prefetch(mut body: Value) -> Value {
    if let Some(map) = body.as_object_mut() {
        map.insert("prefetch".into(), Value::Object(Map::new()));
    }
    body
}
