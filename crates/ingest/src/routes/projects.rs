//! Projects over HTTP, for admins (`wstgctl project add|list` does the same
//! from a shell):
//!
//! | method and path | what |
//! |---|---|
//! | `GET /api/wstg/admin/projects` | every project, the default included |
//! | `POST /api/wstg/admin/projects` | `{"name", "product_id"?, "engagement_id"?, "methodology"?, "version"?}`: create one |
//!
//! Names are NFKC-normalised; a name mixing scripts, or looking like an
//! existing project's, is refused (400 naming `name`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use wstg_store::{new_project_name, AddProjectError};

use crate::auth::Principal;
use crate::body::read_limited;
use crate::errors::ApiError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/admin/projects")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    );
}

/// The body of `POST /api/wstg/admin/projects`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    pub name: String,
    /// An existing DefectDojo product to map the project to.
    #[schema(minimum = 1)]
    pub product_id: Option<i64>,
    #[schema(minimum = 1)]
    pub engagement_id: Option<i64>,
    /// `wstg` (default), `asvs` or `mastg` (issue 12 item 5).
    pub methodology: Option<String>,
    /// The methodology's version (`4.2`, `latest`; `4.0.3`, `5.0`); absent:
    /// the methodology's default.
    pub version: Option<String>,
}

/// Every project, the default included.
#[utoipa::path(get, path = "/api/wstg/admin/projects", tag = "admin",
    responses((status = 200, description = "The projects", body = crate::api_schemas::ProjectList)),
    security(("bearer" = [])))]
pub async fn list(
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let projects = state.store.registered_projects().await.map_err(|e| {
        tracing::warn!(error = %e, "store unavailable");
        ApiError::Unavailable("store")
    })?;
    Ok(HttpResponse::Ok().json(json!({
        "success": true,
        "default_project": state.default_project.as_str(),
        "projects": projects,
    })))
}

/// Create a project.
#[utoipa::path(post, path = "/api/wstg/admin/projects", tag = "admin",
    request_body = NewProject,
    responses(
        (status = 201, description = "Created", body = crate::api_schemas::ProjectCreated),
        (status = 400, description = "A field is invalid (named in `field`)", body = crate::api_schemas::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create(
    req: HttpRequest,
    principal: Principal,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let bytes = read_limited(&req, payload, state.max_body_bytes).await?;
    let body: NewProject =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::invalid("body", e))?;
    for (field, id) in [
        ("product_id", body.product_id),
        ("engagement_id", body.engagement_id),
    ] {
        if id.is_some_and(|i| i <= 0) {
            return Err(ApiError::invalid(field, "must be a positive DefectDojo id"));
        }
    }
    let name = new_project_name(&body.name).map_err(|e| ApiError::invalid("name", e))?;
    let catalogue =
        wstg_domain::choose_catalogue(body.methodology.as_deref(), body.version.as_deref())
            .map_err(|e| ApiError::invalid(e.field(), e))?;
    match state
        .store
        .add_project(
            &name,
            body.product_id,
            body.engagement_id,
            &state.default_project,
        )
        .await
    {
        Ok(record) => {
            let catalogue =
                crate::project_catalogue::record_choice(&state, &name, catalogue).await?;
            tracing::info!(project = %name, principal = %principal.label, "project created");
            Ok(HttpResponse::Created().json(json!({
                "success": true,
                "project": record,
                "methodology": catalogue.methodology().as_str(),
                "catalogue_version": catalogue.version().as_str(),
            })))
        }
        Err(e @ (AddProjectError::Exists(_) | AddProjectError::Confusable { .. })) => {
            Err(ApiError::invalid("name", e))
        }
        Err(AddProjectError::Store(e)) => {
            tracing::warn!(error = %e, "store unavailable");
            Err(ApiError::Unavailable("store"))
        }
    }
}
