//! The tracker's read side: the catalogue, the projects, and every item of
//! a project with its status, notes, DefectDojo finding and sync state.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use wstg_domain::ProjectName;
use wstg_store::{Access, ItemView, VulnSummary};

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

/// `GET /api/wstg/catalogue[?project=]`: the catalogue of `project` (its
/// methodology and version; without `project`, the configured default), with
/// its credit.
#[utoipa::path(get, path = "/api/wstg/catalogue", tag = "tracker", params(ProjectQuery),
    responses((status = 200, description = "The catalogue", body = crate::api_schemas::Catalogue)),
    security(("bearer" = [])))]
pub async fn get_catalogue(
    principal: Principal,
    query: web::Query<ProjectQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let c = match query.project {
        None => state.catalogue,
        Some(_) => {
            let project = readable(&state, &principal, query.project(&state)?).await?;
            crate::project_catalogue::catalogue_of(&state, &project).await?
        }
    };
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
    let methodology = c.methodology();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "max-age=300"))
        .json(json!({
            "version": c.version().as_str(),
            "methodology": methodology.as_str(),
            "methodology_name": methodology.display_name(),
            "methodology_version": c.version().version_str(),
            "chapter_word": methodology.chapter_word(),
            "attribution": c.version().attribution(),
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
    let catalogue = crate::project_catalogue::catalogue_of(&state, &project).await?;
    let summaries = state
        .store
        .vulnerability_summaries(&project)
        .await
        .map_err(store_unavailable)?;
    let items: Vec<serde_json::Value> = catalogue
        .entries()
        .iter()
        .map(|e| {
            let record = records.iter().find(|r| r.wstg_id.as_str() == e.id);
            (e, ItemView::new(&project, e, record, &state.dojo_ui))
        })
        .filter(|(_, v)| only.keeps(v.assignee.as_deref()))
        .map(|(e, v)| {
            with_vulnerabilities(v, summaries.get(e.id.as_str()).copied().unwrap_or_default())
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "project": project,
        "catalogue_version": catalogue.version().as_str(),
        "methodology": catalogue.methodology().as_str(),
        "items": items,
    })))
}

/// `GET /api/wstg/items/{wstg_id}?project=`: one item.
#[utoipa::path(get, path = "/api/wstg/items/{wstg_id}", tag = "tracker",
    params(("wstg_id" = String, Path, description = "A catalogue id of the project's methodology, e.g. WSTG-INFO-01, V2.1.1, MASTG-TEST-0001"), ProjectQuery),
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
    let catalogue = crate::project_catalogue::catalogue_of(&state, &project).await?;
    let id = catalogue
        .parse_id(&path.into_inner())
        .map_err(|e| ApiError::invalid("wstg_id", e))?;
    let entry = catalogue
        .entry(&id)
        .ok_or_else(|| ApiError::NotFound(format!("item {id}")))?;
    let record = state
        .store
        .item(&project, &id)
        .await
        .map_err(store_unavailable)?;
    let summary = state
        .store
        .vulnerability_summaries(&project)
        .await
        .map_err(store_unavailable)?
        .remove(id.as_str())
        .unwrap_or_default();
    Ok(HttpResponse::Ok().json(with_vulnerabilities(
        ItemView::new(&project, entry, record.as_ref(), &state.dojo_ui),
        summary,
    )))
}

/// An item's answer with its vulnerability summary (issue 12), beside the
/// original fields.
fn with_vulnerabilities(view: ItemView, summary: VulnSummary) -> serde_json::Value {
    let mut v = serde_json::to_value(view).unwrap_or_default();
    if let Some(map) = v.as_object_mut() {
        map.insert(
            "vulnerabilities".into(),
            json!({
                "count": summary.count,
                "open": summary.open,
                "worst_severity": summary.worst_severity.map(|s| s.as_str()),
            }),
        );
    }
    v
}
