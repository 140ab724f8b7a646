//! Which project a request may use: authorised for the token first (403,
//! whether the project exists or not, so scoped tokens learn nothing of
//! other projects), then known (400 naming `project`): the configured
//! default project, or one an admin created. Unknown projects are created
//! on a write only where `auth.create_projects_on_demand` is on (the demo).

use wstg_domain::{ProjectName, WstgId};
use wstg_store::{normalise_project_name, Access, AddProjectError};

use crate::auth::Principal;
use crate::errors::ApiError;
use crate::state::AppState;

/// The project named by a request (`None`: the default), NFKC-normalised.
pub fn parse_project(raw: Option<&str>, state: &AppState) -> Result<ProjectName, ApiError> {
    match raw {
        Some(p) if !p.trim().is_empty() => {
            normalise_project_name(p).map_err(|e| ApiError::invalid("project", e))
        }
        _ => Ok(state.default_project.clone()),
    }
}

/// `project` if `principal` may read it and it exists.
pub async fn readable(
    state: &AppState,
    principal: &Principal,
    project: ProjectName,
) -> Result<ProjectName, ApiError> {
    principal.require(&project, Access::Read)?;
    if !exists(state, &project).await? {
        return Err(unknown(&project));
    }
    Ok(project)
}

/// `project` if `principal` may write to it and it exists (or was just
/// created on demand).
pub async fn writable(
    state: &AppState,
    principal: &Principal,
    project: &ProjectName,
) -> Result<(), ApiError> {
    principal.require(project, Access::Write)?;
    if exists(state, project).await? {
        return Ok(());
    }
    if !state.auth.create_projects_on_demand {
        return Err(unknown(project));
    }
    let name = wstg_store::new_project_name(project.as_str())
        .map_err(|e| ApiError::invalid("project", e))?;
    match state
        .store
        .add_project(
            &name,
            &wstg_domain::DojoTarget::default(),
            &state.default_project,
        )
        .await
    {
        Ok(_) => {
            tracing::info!(%project, principal = %principal.label, "project created on demand");
            Ok(())
        }
        // Created meanwhile by a concurrent request: fine.
        Err(AddProjectError::Exists(_)) => Ok(()),
        Err(AddProjectError::Confusable { existing, .. }) => Err(ApiError::invalid(
            "project",
            format!("'{project}' looks like the existing project '{existing}'"),
        )),
        Err(AddProjectError::Store(e)) => Err(store_unavailable(e)),
    }
}

/// [`readable`], then `raw_id` as an item of that project's own catalogue
/// (`crate::project_catalogue::item_id`): the start of every item route
/// that reads.
pub async fn readable_item(
    state: &AppState,
    principal: &Principal,
    project: ProjectName,
    raw_id: &str,
) -> Result<(ProjectName, WstgId), ApiError> {
    let project = readable(state, principal, project).await?;
    let id = crate::project_catalogue::item_id(state, &project, raw_id).await?;
    Ok((project, id))
}

/// [`writable`], then `raw_id` as an item of that project's own catalogue:
/// the start of every item route that writes.
pub async fn writable_item(
    state: &AppState,
    principal: &Principal,
    project: ProjectName,
    raw_id: &str,
) -> Result<(ProjectName, WstgId), ApiError> {
    writable(state, principal, &project).await?;
    let id = crate::project_catalogue::item_id(state, &project, raw_id).await?;
    Ok((project, id))
}

async fn exists(state: &AppState, project: &ProjectName) -> Result<bool, ApiError> {
    if *project == state.default_project {
        return Ok(true);
    }
    state
        .store
        .registered_project(project)
        .await
        .map(|p| p.is_some())
        .map_err(store_unavailable)
}

fn unknown(project: &ProjectName) -> ApiError {
    ApiError::invalid(
        "project",
        format!("unknown project '{project}': an admin creates it with `wstgctl project add`"),
    )
}

fn store_unavailable(e: wstg_store::StoreError) -> ApiError {
    tracing::warn!(error = %e, "store unavailable");
    ApiError::Unavailable("store")
}
