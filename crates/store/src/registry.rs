//! The projects the ingest accepts: created by an admin, optionally mapped
//! to an existing DefectDojo product and engagement.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use wstg_domain::{DojoTarget, ProjectName, TargetFields};

use crate::error::StoreError;
use crate::project_name::confusable_key;
use crate::rows::{self, get};
use crate::store::Store;

/// A created project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectRecord {
    pub name: ProjectName,
    /// Where its findings go in DefectDojo, as given (parse it with
    /// `DojoTarget::parse`); unset fields come from the templates.
    #[serde(flatten)]
    pub target: TargetFields,
    pub created_at: DateTime<Utc>,
}

/// Why a project was not created.
#[derive(Debug, thiserror::Error)]
pub enum AddProjectError {
    #[error("project '{0}' exists already")]
    Exists(ProjectName),
    /// Another project's name looks the same (case, look-alike letters).
    #[error("'{name}' looks like the existing project '{existing}'")]
    Confusable {
        name: ProjectName,
        existing: ProjectName,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a project's target was not changed.
#[derive(Debug, thiserror::Error)]
pub enum MapProjectError {
    #[error("no created project '{0}' (the default project maps through the dojo.* settings)")]
    Unknown(ProjectName),
    /// Its findings already live in a DefectDojo test.
    #[error("project '{name}' already syncs into DefectDojo test {test_id}; its mapping can change only before the first sync")]
    Linked { name: ProjectName, test_id: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Creates `name`, refusing a name that looks like an existing project's
    /// (or like `also_taken`, the configured default project, which exists
    /// without a row). `name` should come from `new_project_name`.
    ///
    /// The look-alike check reads every name first: projects are few and
    /// made by an admin, so two racing creations of look-alikes are not a
    /// concern; the primary key still stops exact duplicates.
    pub async fn add_project(
        &self,
        name: &ProjectName,
        target: &DojoTarget,
        also_taken: &ProjectName,
    ) -> Result<ProjectRecord, AddProjectError> {
        let key = confusable_key(name);
        let existing = self.registered_projects().await?;
        for other in existing
            .iter()
            .map(|p| &p.name)
            .chain(std::iter::once(also_taken))
        {
            if other == name {
                return Err(AddProjectError::Exists(name.clone()));
            }
            if confusable_key(other) == key {
                return Err(AddProjectError::Confusable {
                    name: name.clone(),
                    existing: other.clone(),
                });
            }
        }
        let record = ProjectRecord {
            name: name.clone(),
            target: target.fields(),
            created_at: rows::to_store_precision(Utc::now()),
        };
        let t = &record.target;
        let done = sqlx::query(
            "INSERT INTO projects (name, product_id, engagement_id, product_name, \
                 engagement_name, product_type_name, test_title, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name.as_str())
        .bind(t.product_id)
        .bind(t.engagement_id)
        .bind(t.product_name.clone())
        .bind(t.engagement_name.clone())
        .bind(t.product_type_name.clone())
        .bind(t.test_title.clone())
        .bind(rows::millis(record.created_at))
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(format!("add_project({name})")))?;
        if done.rows_affected() == 0 {
            return Err(AddProjectError::Exists(name.clone()));
        }
        Ok(record)
    }

    /// Changes the DefectDojo target of the created project `name`, only
    /// while it has no DefectDojo hierarchy yet: the first successful sync
    /// fixes where its findings are (the one statement checks both, so a
    /// sync that links the project meanwhile wins).
    pub async fn set_project_target(
        &self,
        name: &ProjectName,
        target: &DojoTarget,
    ) -> Result<ProjectRecord, MapProjectError> {
        let t = target.fields();
        let done = sqlx::query(
            "UPDATE projects SET product_id = $2, engagement_id = $3, product_name = $4, \
                 engagement_name = $5, product_type_name = $6, test_title = $7 \
             WHERE name = $1 \
               AND NOT EXISTS (SELECT 1 FROM project_links WHERE project = $1)",
        )
        .bind(name.as_str())
        .bind(t.product_id)
        .bind(t.engagement_id)
        .bind(t.product_name.clone())
        .bind(t.engagement_name.clone())
        .bind(t.product_type_name.clone())
        .bind(t.test_title.clone())
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(format!("set_project_target({name})")))?;
        let record = self.registered_project(name).await?;
        match (done.rows_affected(), record) {
            (0, None) => Err(MapProjectError::Unknown(name.clone())),
            (0, Some(_)) => {
                let test_id = self
                    .project_links(name)
                    .await?
                    .map(|l| l.test_id)
                    .unwrap_or_default();
                Err(MapProjectError::Linked {
                    name: name.clone(),
                    test_id,
                })
            }
            (_, Some(r)) => Ok(r),
            (_, None) => Err(MapProjectError::Unknown(name.clone())),
        }
    }

    /// The created project called `name`, if any.
    pub async fn registered_project(
        &self,
        name: &ProjectName,
    ) -> Result<Option<ProjectRecord>, StoreError> {
        let sql = format!("SELECT {RECORD_COLUMNS} FROM projects WHERE name = $1");
        let row = sqlx::query(&sql)
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(format!("registered_project({name})")))?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// Every created project, by name.
    pub async fn registered_projects(&self) -> Result<Vec<ProjectRecord>, StoreError> {
        let sql = format!("SELECT {RECORD_COLUMNS} FROM projects");
        let found = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query("registered_projects"))?;
        let mut all = found
            .iter()
            .map(record_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        // Sorted here: text order in SQL depends on the collation.
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }
}

const RECORD_COLUMNS: &str = "name, product_id, engagement_id, product_name, engagement_name, \
     product_type_name, test_title, created_at";

fn record_from_row(row: &AnyRow) -> Result<ProjectRecord, StoreError> {
    let name: String = get(row, "name")?;
    Ok(ProjectRecord {
        name: rows::project(&name)?,
        target: TargetFields {
            product_id: get(row, "product_id")?,
            engagement_id: get(row, "engagement_id")?,
            product_name: get(row, "product_name")?,
            engagement_name: get(row, "engagement_name")?,
            product_type_name: get(row, "product_type_name")?,
            test_title: get(row, "test_title")?,
        },
        created_at: rows::time(get(row, "created_at")?, "project created_at")?,
    })
}
