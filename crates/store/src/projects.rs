//! Project links: the DefectDojo hierarchy each project writes into.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use wstg_domain::ProjectName;

use crate::error::StoreError;
use crate::rows::{self, get};
use crate::store::Store;

/// The DefectDojo ids a project uses, found or created by the bootstrap and
/// remembered so replicas and restarts do not create the hierarchy again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProjectLinks {
    pub product_type_id: i64,
    pub product_id: i64,
    pub engagement_id: i64,
    pub test_type_id: i64,
    pub test_id: i64,
}

const COLUMNS: &str = "project, product_type_id, product_id, engagement_id, test_type_id, test_id";

impl Store {
    pub async fn project_links(
        &self,
        project: &ProjectName,
    ) -> Result<Option<ProjectLinks>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM project_links WHERE project = $1");
        let row = sqlx::query(&sql)
            .bind(project.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(format!("project_links({project})")))?;
        row.as_ref().map(links_from_row).transpose()
    }

    /// Saves (or replaces: the bootstrap may re-create a deleted product)
    /// the links of `project`.
    pub async fn save_project_links(
        &self,
        project: &ProjectName,
        links: &ProjectLinks,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO project_links \
                 (project, product_type_id, product_id, engagement_id, test_type_id, test_id, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (project) DO UPDATE SET \
                 product_type_id = excluded.product_type_id, \
                 product_id = excluded.product_id, \
                 engagement_id = excluded.engagement_id, \
                 test_type_id = excluded.test_type_id, \
                 test_id = excluded.test_id, \
                 updated_at = excluded.updated_at",
        )
        .bind(project.as_str())
        .bind(links.product_type_id)
        .bind(links.product_id)
        .bind(links.engagement_id)
        .bind(links.test_type_id)
        .bind(links.test_id)
        .bind(rows::millis(Utc::now()))
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(format!("save_project_links({project})")))?;
        Ok(())
    }

    /// Forgets a project's links, only if they still name `test_id` (its
    /// DefectDojo test was deleted): the next tracker change bootstraps the
    /// hierarchy again. True when something was forgotten.
    pub async fn forget_project_links(
        &self,
        project: &ProjectName,
        test_id: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM project_links WHERE project = $1 AND test_id = $2")
            .bind(project.as_str())
            .bind(test_id)
            .execute(&self.pool)
            .await
            .map_err(StoreError::query(format!(
                "forget_project_links({project})"
            )))?;
        Ok(done.rows_affected() > 0)
    }

    /// Every project with links, by name (the poller walks them).
    pub async fn projects(&self) -> Result<Vec<(ProjectName, ProjectLinks)>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM project_links");
        let found = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query("projects"))?;
        let mut projects = found
            .iter()
            .map(|row| {
                let name: String = get(row, "project")?;
                Ok((rows::project(&name)?, links_from_row(row)?))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // Sorted here, not in SQL: text order depends on the database's
        // collation, and both backends must list alike.
        projects.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(projects)
    }
}

fn links_from_row(row: &AnyRow) -> Result<ProjectLinks, StoreError> {
    Ok(ProjectLinks {
        product_type_id: get(row, "product_type_id")?,
        product_id: get(row, "product_id")?,
        engagement_id: get(row, "engagement_id")?,
        test_type_id: get(row, "test_type_id")?,
        test_id: get(row, "test_id")?,
    })
}
