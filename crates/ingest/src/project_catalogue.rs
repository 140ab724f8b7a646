//! Which catalogue a project's ids are checked against (issue 12 item 5).
//!
//! A project follows the methodology and version it was created with
//! (`projects.catalogue_version`), or the configured default catalogue when
//! it chose none. The choice never changes for a project, so it is read
//! from the store once per process and kept: the hot path (`POST
//! /api/wstg/sync`) pays one map look-up.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use wstg_domain::{Catalogue, CatalogueVersion, ProjectName, WstgId};

use crate::errors::ApiError;
use crate::state::AppState;

/// Projects' catalogues, read once each.
#[derive(Default)]
pub struct ProjectCatalogues {
    known: RwLock<HashMap<ProjectName, Known>>,
}

#[derive(Clone, Copy)]
struct Known {
    catalogue: &'static Catalogue,
    /// `None`: the project chose this catalogue, which never changes.
    /// Otherwise the project follows the default for now: an admin may yet
    /// create it with another methodology (on another replica), so this is
    /// read again after a short while.
    until: Option<Instant>,
}

/// How long "follows the default" is believed.
const DEFAULT_FOR: Duration = Duration::from_secs(10);

/// Bounds the cache: projects are made by an admin, but a name the store
/// does not know (on-demand projects) must not grow it for ever.
const MAX_CACHED: usize = 10_000;

impl ProjectCatalogues {
    /// Forgets `project` (it was just created or changed here).
    pub fn forget(&self, project: &ProjectName) {
        if let Ok(mut m) = self.known.write() {
            m.remove(project);
        }
    }
}

/// `raw` as an item of `project`'s own catalogue: a 400 naming `wstg_id`
/// when it is not an id of that methodology, a 404 when the catalogue has
/// no such item.
pub async fn item_id(
    state: &AppState,
    project: &ProjectName,
    raw: &str,
) -> Result<WstgId, ApiError> {
    let catalogue = catalogue_of(state, project).await?;
    let id = catalogue
        .parse_id(raw)
        .map_err(|e| ApiError::invalid("wstg_id", e))?;
    catalogue
        .entry(&id)
        .ok_or_else(|| ApiError::NotFound(format!("item {id}")))?;
    Ok(id)
}

/// The catalogue `project` follows.
pub async fn catalogue_of(
    state: &AppState,
    project: &ProjectName,
) -> Result<&'static Catalogue, ApiError> {
    let now = Instant::now();
    if let Some(k) = state
        .catalogues
        .known
        .read()
        .ok()
        .and_then(|m| m.get(project).copied())
    {
        if k.until.is_none_or(|t| now < t) {
            return Ok(k.catalogue);
        }
    }
    let chosen = state.store.project_catalogue(project).await.map_err(|e| {
        tracing::warn!(error = %e, "store unavailable");
        ApiError::Unavailable("store")
    })?;
    let catalogue = chosen.map_or(state.catalogue, Catalogue::get);
    let known = Known {
        catalogue,
        until: chosen.is_none().then(|| now + DEFAULT_FOR),
    };
    if let Ok(mut m) = state.catalogues.known.write() {
        if m.len() >= MAX_CACHED {
            m.retain(|_, k| k.until.is_none());
        }
        if m.len() < MAX_CACHED {
            m.insert(project.clone(), known);
        }
    }
    Ok(catalogue)
}

/// Stores the catalogue a just-created project chose (`None`: the default)
/// and answers the catalogue it now follows.
pub async fn record_choice(
    state: &AppState,
    project: &ProjectName,
    chosen: Option<CatalogueVersion>,
) -> Result<&'static Catalogue, ApiError> {
    state.catalogues.forget(project);
    let Some(version) = chosen else {
        return Ok(state.catalogue);
    };
    state
        .store
        .set_project_catalogue(project, version)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "store unavailable");
            ApiError::Unavailable("store")
        })?;
    Ok(Catalogue::get(version))
}
