//! A project's methodology and catalogue version (issue 12 item 5).
//!
//! Kept apart from `projects.rs`/`registry.rs`: the columns are this
//! feature's own, and a project without them (NULL) follows the configured
//! default catalogue, as every project did before.

use wstg_domain::{CatalogueVersion, ProjectName};

use crate::error::StoreError;
use crate::rows::get;
use crate::store::Store;

impl Store {
    /// Records that `project` follows `catalogue`. The project row must
    /// exist (made by `add_project`); false when it does not.
    pub async fn set_project_catalogue(
        &self,
        project: &ProjectName,
        catalogue: CatalogueVersion,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE projects SET methodology = $2, catalogue_version = $3 WHERE name = $1",
        )
        .bind(project.as_str())
        .bind(catalogue.methodology().as_str())
        .bind(catalogue.as_str())
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(format!(
            "set_project_catalogue({project})"
        )))?;
        Ok(done.rows_affected() > 0)
    }

    /// The catalogue `project` follows; `None` when it has no row or chose
    /// none (the configured default applies).
    pub async fn project_catalogue(
        &self,
        project: &ProjectName,
    ) -> Result<Option<CatalogueVersion>, StoreError> {
        let row = sqlx::query("SELECT catalogue_version FROM projects WHERE name = $1")
            .bind(project.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(format!("project_catalogue({project})")))?;
        let Some(row) = row else { return Ok(None) };
        let Some(name) = get::<Option<String>>(&row, "catalogue_version")? else {
            return Ok(None);
        };
        name.parse::<CatalogueVersion>()
            .map(Some)
            .map_err(|e| StoreError::corrupt(format!("projects.catalogue_version of {project}"), e))
    }
}
