//! The tracker's read side: the catalogue, the projects, and every item of
//! a project with its status, notes, DefectDojo finding and sync state.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use wstg_domain::catalogue::ATTRIBUTION;
use wstg_domain::ProjectName;
use wstg_store::{Access, ItemView};

use crate::auth::Principal;
use crate::errors::ApiError;
use crate::project_access::{parse_project, readable};
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectQuery {
    /// The project; absent means the default project.
    pub project: Option<String>,
}

/// `GET /api/wstg/items`' query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemsQuery {
    /// The project; absent means the default project.
    pub project: Option<String>,
    /// Only the items assigned to this username; `-` for the unassigned ones.
    pub assignee: Option<String>,
}

impl ProjectQuery {
    /// The named project (NFKC-normalised), or the default one.
    pub fn project(&self, state: &AppState) -> Result<ProjectName, ApiError> {
        parse_project(self.project.as_deref(), state)
    }
}

fn store_unavailable(e: wstg_store::StoreError) -> ApiError {
    tracing::warn!(error = %e, "store unavailable");
    ApiError::Unavailable("store")
}

/// `GET /api/wstg/catalogue`: the configured WSTG catalogue, with credit.
#[utoipa::path(get, path = "/api/wstg/catalogue", tag = "tracker",
    responses((status = 200, description = "The catalogue", body = crate::api_schemas::Catalogue)),
    security(("bearer" = [])))]
pub async fn get_catalogue(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let c = state.catalogue;
    let mut categories: Vec<serde_json::Value> = Vec::new();
    for e in c.entries() {
        if !categories.iter().any(|k| k["id"] == json!(e.category_id)) {
            categories.push(json!({"id": e.category_id, "name": e.category_name}));
        }
    }
    let items: Vec<serde_json::Value> = c
        .entries()
        .iter()
        .map(|e| {
            json!({
                "wstg_id": e.id,
                "title": e.title,
                "category_id": e.category_id,
                "category_name": e.category_name,
                "objectives": e.objectives,
                "guide_url": e.guide_url,
            })
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "max-age=300"))
        .json(json!({
            "version": c.version().as_str(),
            "attribution": ATTRIBUTION,
            "license_url": "https://creativecommons.org/licenses/by-sa/4.0/",
            "categories": categories,
            "items": items,
        })))
}

/// `GET /api/wstg/projects`: the projects this token may read (created
/// ones, and the default), and the default.
#[utoipa::path(get, path = "/api/wstg/projects", tag = "tracker",
    responses((status = 200, description = "The projects", body = crate::api_schemas::Projects)),
    security(("bearer" = [])))]
pub async fn get_projects(
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut names: Vec<String> = state
        .store
        .registered_projects()
        .await
        .map_err(store_unavailable)?
        .into_iter()
        .map(|p| p.name)
        .filter(|p| principal.may(p, Access::Read))
        .map(|p| p.as_str().to_owned())
        .collect();
    if principal.may(&state.default_project, Access::Read)
        && !names.iter().any(|n| n == state.default_project.as_str())
    {
        names.insert(0, state.default_project.as_str().to_owned());
    }
    Ok(HttpResponse::Ok().json(json!({
        "default_project": state.default_project.as_str(),
        "projects": names,
    })))
}

/// `GET /api/wstg/items?project=`: every catalogue item with its state.
#[utoipa::path(get, path = "/api/wstg/items", tag = "tracker", params(ItemsQuery),
    responses((status = 200, description = "Every item of the project", body = crate::api_schemas::Items)),
    security(("bearer" = [])))]
pub async fn get_items(
    principal: Principal,
    query: web::Query<ItemsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let project = readable(
        &state,
        &principal,
        parse_project(query.project.as_deref(), &state)?,
    )
    .await?;
    let only = crate::routes::assignment::AssigneeFilter::parse(query.assignee.as_deref())?;
    let records = state
        .store
        .items(&project)
        .await
        .map_err(store_unavailable)?;
    let items: Vec<ItemView> = state
        .catalogue
        .entries()
        .iter()
        .map(|e| {
            let record = records.iter().find(|r| r.wstg_id.as_str() == e.id);
            ItemView::new(&project, e, record, &state.dojo_ui)
        })
        .filter(|v| only.keeps(v.assignee.as_deref()))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "project": project,
        "catalogue_version": state.catalogue.version().as_str(),
        "items": items,
    })))
}

/// `GET /api/wstg/items/{wstg_id}?project=`: one item.
#[utoipa::path(get, path = "/api/wstg/items/{wstg_id}", tag = "tracker",
    params(("wstg_id" = String, Path, pattern = "^WSTG-[A-Z]{4}-[0-9]{2}$", description = "A catalogue id, e.g. WSTG-INFO-01"), ProjectQuery),
    responses(
        (status = 200, description = "The item", body = crate::api_schemas::Item),
        (status = 400, description = "`wstg_id` is not an id", body = crate::api_schemas::ErrorBody),
        (status = 404, description = "No such item in the catalogue", body = crate::api_schemas::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_item(
    principal: Principal,
    path: web::Path<String>,
    query: web::Query<ProjectQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let project = readable(&state, &principal, query.project(&state)?).await?;
    let id = state
        .catalogue
        .parse_id(&path.into_inner())
        .map_err(|e| ApiError::invalid("wstg_id", e))?;
    let entry = state
        .catalogue
        .entry(&id)
        .ok_or_else(|| ApiError::NotFound(format!("item {id}")))?;
    let record = state
        .store
        .item(&project, &id)
        .await
        .map_err(store_unavailable)?;
    Ok(HttpResponse::Ok().json(ItemView::new(
        &project,
        entry,
        record.as_ref(),
        &state.dojo_ui,
    )))
}
