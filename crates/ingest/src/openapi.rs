//! The HTTP API's OpenAPI 3.1 document, generated from the handlers'
//! `#[utoipa::path]` attributes and the body shapes in api_schemas.rs, and
//! served at `GET /api/openapi.json`.
//!
//! docs/openapi.json is a copy of what a default ingest serves; a test
//! (tests/openapi.rs) fails when the two differ, so every change of the API
//! shows up in review as a change of that file. `make test-api` fuzzes the
//! running ingest against the served document (schemathesis).
//!
//! The document is public (no token): it describes the API and holds no
//! secret and no data (docs/security.md).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, RefOr, ResponseBuilder, Type};
use utoipa::{Modify, OpenApi};

use crate::api_schemas as s;
use crate::routes;

/// Where the document is served.
pub const PATH: &str = "/api/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "wstg-bridge ingest",
        description = "The HTTP API of wstg-bridge's ingest: the OWASP WSTG tracker's changes in, \
                       DefectDojo's webhook, the tracker's read side, and the admin endpoints. \
                       Every answer carries an `X-Request-Id`; every error is a JSON `ErrorBody`.",
        license(name = "MIT"),
    ),
    paths(
        routes::health::healthz,
        routes::health::readyz,
        openapi_json,
        routes::webhook::post_webhook,
        routes::sync::post_sync,
        routes::status::get_status,
        routes::items::get_catalogue,
        routes::items::get_projects,
        routes::items::get_items,
        routes::items::get_item,
        routes::evidence::post_evidence,
        routes::evidence::get_item_evidence,
        routes::evidence::get_evidence,
        routes::comments::get_comments,
        routes::comments::post_comment,
        routes::stream::get_stream,
        routes::import_export::post_import,
        routes::import_export::get_export,
        routes::dashboard::get_dashboard,
        routes::admin::list,
        routes::admin::purge,
        routes::admin::replay_all,
        routes::admin::show,
        routes::admin::replay,
        routes::projects::list,
        routes::projects::create,
        routes::projects::set_target,
        routes::vulnerabilities::post_vulnerability,
        routes::vulnerabilities::get_vulnerabilities,
        routes::vulnerabilities::patch_vulnerability,
    ),
    components(schemas(s::ErrorBody)),
    modifiers(&Conventions),
    tags(
        (name = "tracker", description = "The tracker's API (token: `wstgctl token create`)"),
        (name = "defectdojo", description = "DefectDojo's webhook (its static key header)"),
        (name = "admin", description = "Dead letters and projects (an admin token)"),
        (name = "health", description = "Liveness and readiness, without a token"),
        (name = "meta", description = "This document"),
    ),
)]
struct ApiDoc;

/// This document (OpenAPI 3.1).
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)))]
pub async fn openapi_json(doc: web::Data<Served>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(doc.0.clone())
}

/// The document as served, rendered once at start-up.
pub struct Served(web::Bytes);

impl Served {
    pub fn new(webhook_header: &str) -> anyhow::Result<Served> {
        Ok(Served(web::Bytes::from(serde_json::to_vec_pretty(
            &document(webhook_header),
        )?)))
    }
}

/// The document for an ingest whose webhook key comes in `webhook_header`
/// (`ingest.webhook_header`).
pub fn document(webhook_header: &str) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "webhook_key",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            webhook_header,
            "DefectDojo's webhook key (ingest.webhook_key), in the header ingest.webhook_header",
        ))),
    );
    doc
}

/// What every operation shares: the security schemes, the `X-Request-Id`
/// on every answer, and the error body on every status not listed.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A tracker token (`wstgctl token create`, or ingest.token), or an admin \
                         token for /api/wstg/admin",
                    ))
                    .build(),
            ),
        );
        let request_id = || {
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .max_length(Some(crate::request_id::MAX_LEN)),
                )
                .description(Some(
                    "The request's id: the client's own if well-formed, else a new UUID",
                ))
                .build()
        };
        let error = || {
            ResponseBuilder::new()
                .description("An error: what was wrong and, for bad input, the field at fault")
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                            "ErrorBody",
                        ))))
                        .build(),
                )
                .build()
        };
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                op.responses
                    .responses
                    .entry("default".to_owned())
                    .or_insert_with(|| RefOr::T(error()));
                for response in op.responses.responses.values_mut() {
                    if let RefOr::T(r) = response {
                        r.headers.insert("X-Request-Id".to_owned(), request_id());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webhook_scheme_names_the_configured_header() {
        let doc = serde_json::to_value(document("X-Dojo-Key")).expect("json");
        assert_eq!(
            doc["components"]["securitySchemes"]["webhook_key"]["name"],
            "X-Dojo-Key"
        );
        assert_eq!(doc["openapi"], "3.1.0");
    }

    #[test]
    fn every_operation_documents_its_errors_and_request_id() {
        let doc = serde_json::to_value(document("X-API-Key")).expect("json");
        let paths = doc["paths"].as_object().expect("paths");
        assert!(paths.len() >= 18, "{} paths", paths.len());
        for (path, item) in paths {
            for (method, op) in item.as_object().expect("item") {
                let responses = op["responses"].as_object().expect("responses");
                assert!(responses.contains_key("default"), "{method} {path}");
                for (status, r) in responses {
                    assert!(
                        r["headers"]["X-Request-Id"].is_object(),
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
}
