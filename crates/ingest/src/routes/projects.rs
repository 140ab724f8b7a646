//! Projects over HTTP, for admins (`wstgctl project add|list` does the same
//! from a shell):
//!
//! | method and path | what |
//! |---|---|
//! | `GET /api/wstg/admin/projects` | every project, the default included |
//! | `PUT /api/wstg/admin/projects/{name}/target` | the same mapping fields: change a project's mapping before its first sync (`wstgctl project map`) |
//! | `POST /api/wstg/admin/projects` | `{"name", "product_id"?, "product_name"?, "engagement_id"?, "engagement_name"?, "product_type_name"?, "test_title"?, "methodology"?, "version"?}`: create one |
//!
//! Names are NFKC-normalised; a name mixing scripts, or looking like an
//! existing project's, is refused (400 naming `name`). The other fields are
//! where its findings go in DefectDojo (crates/domain/src/dojo_target.rs):
//! an id names an existing object, a name one to find or make; an id wins
//! over a name of the same object; unset parts come from the templates.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use wstg_domain::{DojoTarget, TargetFields};
use wstg_store::{new_project_name, normalise_project_name, AddProjectError, MapProjectError};

use crate::auth::Principal;
use crate::body::read_limited;
use crate::errors::ApiError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/admin/projects")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(web::resource("/admin/projects/{name}/target").route(web::put().to(set_target)));
}

/// The body of `POST /api/wstg/admin/projects`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    /// Any text DefectDojo takes as a product name: 1 to 64 characters,
    /// no control or invisible characters.
    pub name: String,
    /// An existing DefectDojo product (must exist; never made).
    #[schema(minimum = 1)]
    pub product_id: Option<i64>,
    /// The product by exact name (found, else made); default: `dojo.product_template`.
    #[schema(max_length = 255)]
    pub product_name: Option<String>,
    /// An existing DefectDojo engagement (must exist, under the product if
    /// one is named; alone, its product is used).
    #[schema(minimum = 1)]
    pub engagement_id: Option<i64>,
    /// The engagement by exact name, in the product (found, else made);
    /// default: `dojo.engagement`.
    #[schema(max_length = 300)]
    pub engagement_name: Option<String>,
    /// The product type of a product that has to be made; default: `dojo.product_type`.
    #[schema(max_length = 255)]
    pub product_type_name: Option<String>,
    /// The WSTG test's title; default: `dojo.test_title`.
    #[schema(max_length = 255)]
    pub test_title: Option<String>,
    /// `wstg` (default), `asvs` or `mastg` (issue 12 item 5).
    pub methodology: Option<String>,
    /// The methodology's version (`4.2`, `latest`; `4.0.3`, `5.0`); absent:
    /// the methodology's default.
    pub version: Option<String>,
}

/// A project's mapping alone: the body of
/// `PUT /api/wstg/admin/projects/{name}/target` (unset fields go back to the
/// templates).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectTarget {
    #[schema(minimum = 1)]
    pub product_id: Option<i64>,
    #[schema(max_length = 255)]
    pub product_name: Option<String>,
    #[schema(minimum = 1)]
    pub engagement_id: Option<i64>,
    #[schema(max_length = 300)]
    pub engagement_name: Option<String>,
    #[schema(max_length = 255)]
    pub product_type_name: Option<String>,
    #[schema(max_length = 255)]
    pub test_title: Option<String>,
}

/// Change a created project's DefectDojo mapping, until its first sync.
#[utoipa::path(put, path = "/api/wstg/admin/projects/{name}/target", tag = "admin",
    params(("name" = String, Path, description = "The project's name, percent-encoded")),
    request_body = ProjectTarget,
    responses(
        (status = 200, description = "Changed", body = crate::api_schemas::ProjectCreated),
        (status = 400, description = "A field is invalid (named in `field`)", body = crate::api_schemas::ErrorBody),
        (status = 404, description = "No created project of that name", body = crate::api_schemas::ErrorBody),
        (status = 422, description = "The project already syncs into a DefectDojo test", body = crate::api_schemas::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn set_target(
    req: HttpRequest,
    principal: Principal,
    name: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let name = normalise_project_name(&name).map_err(|e| ApiError::invalid("name", e))?;
    let bytes = read_limited(&req, payload, state.max_body_bytes).await?;
    let body: ProjectTarget =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::invalid("body", e))?;
    let target = DojoTarget::parse(&TargetFields {
        product_id: body.product_id,
        product_name: body.product_name,
        engagement_id: body.engagement_id,
        engagement_name: body.engagement_name,
        product_type_name: body.product_type_name,
        test_title: body.test_title,
    })
    .map_err(|e| ApiError::invalid(e.field, e.reason))?;
    match state.store.set_project_target(&name, &target).await {
        Ok(record) => {
            tracing::info!(project = %name, principal = %principal.label, "project mapping changed");
            let catalogue = crate::project_catalogue::catalogue_of(&state, &name).await?;
            Ok(HttpResponse::Ok().json(json!({
                "success": true,
                "project": record,
                "methodology": catalogue.methodology().as_str(),
                "catalogue_version": catalogue.version().as_str(),
            })))
        }
        Err(MapProjectError::Unknown(_)) => Err(ApiError::NotFound(format!("project '{name}'"))),
        Err(e @ MapProjectError::Linked { .. }) => Err(ApiError::Conflict {
            field: "name".to_owned(),
            reason: e.to_string(),
        }),
        Err(MapProjectError::Store(e)) => {
            tracing::warn!(error = %e, "store unavailable");
            Err(ApiError::Unavailable("store"))
        }
    }
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
    let target = DojoTarget::parse(&TargetFields {
        product_id: body.product_id,
        product_name: body.product_name,
        engagement_id: body.engagement_id,
        engagement_name: body.engagement_name,
        product_type_name: body.product_type_name,
        test_title: body.test_title,
    })
    .map_err(|e| ApiError::invalid(e.field, e.reason))?;
    let name = new_project_name(&body.name).map_err(|e| ApiError::invalid("name", e))?;
    let catalogue =
        wstg_domain::choose_catalogue(body.methodology.as_deref(), body.version.as_deref())
            .map_err(|e| ApiError::invalid(e.field(), e))?;
    match state
        .store
        .add_project(&name, &target, &state.default_project)
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
