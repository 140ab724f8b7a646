//! The DefectDojo hierarchy a project's findings live in: product type,
//! product (named after the project), engagement, test type and test, each
//! found by exact name before it is created, once per project, and
//! remembered in the store so later starts make no calls at all.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use dojo_client::DojoClient;
use tokio::sync::RwLock;
use wstg_domain::{CatalogueVersion, ProjectName};
use wstg_store::{ProjectLinks, Store};

use crate::error::WorkError;
use crate::item_lock::ItemLocks;

#[derive(Debug, Clone)]
pub struct HierarchyNames {
    pub product_type: String,
    pub engagement: String,
    pub test_type: String,
    pub catalogue: CatalogueVersion,
}

#[derive(Clone)]
pub struct Bootstrapper {
    dojo: DojoClient,
    store: Store,
    locks: ItemLocks,
    names: HierarchyNames,
    cache: Arc<RwLock<HashMap<ProjectName, ProjectLinks>>>,
}

impl Bootstrapper {
    pub fn new(dojo: DojoClient, store: Store, locks: ItemLocks, names: HierarchyNames) -> Self {
        Bootstrapper {
            dojo,
            store,
            locks,
            names,
            cache: Arc::default(),
        }
    }

    /// The project's DefectDojo ids, bootstrapping them on first use.
    pub async fn links(&self, project: &ProjectName) -> Result<ProjectLinks, WorkError> {
        if let Some(l) = self.cache.read().await.get(project) {
            return Ok(*l);
        }
        if let Some(l) = self.store.project_links(project).await? {
            self.cache.write().await.insert(project.clone(), l);
            return Ok(l);
        }
        // One replica bootstraps; the others wait and then read its result.
        let lease = self
            .locks
            .acquire(&format!("project:{project}"), Duration::from_secs(60))
            .await
            .map_err(|e| WorkError::Queue(e.into()))?;
        let result = self.bootstrap_locked(project).await;
        if let Some(lease) = lease {
            self.locks.release(lease).await;
        }
        let links = result?;
        self.cache.write().await.insert(project.clone(), links);
        Ok(links)
    }

    async fn bootstrap_locked(&self, project: &ProjectName) -> Result<ProjectLinks, WorkError> {
        if let Some(l) = self.store.project_links(project).await? {
            return Ok(l);
        }
        let n = &self.names;
        let product_type = self.dojo.ensure_product_type(&n.product_type).await?;
        let product = self
            .dojo
            .ensure_product(
                project.as_str(),
                product_type,
                &format!("OWASP WSTG checklist of project {project}, kept in sync by wstg-bridge."),
            )
            .await?;
        let engagement = self.dojo.ensure_engagement(product, &n.engagement).await?;
        let test_type = self.dojo.ensure_test_type(&n.test_type).await?;
        let test = self
            .dojo
            .ensure_test(
                engagement,
                test_type,
                &format!("OWASP WSTG {} checklist", n.catalogue),
            )
            .await?;
        let links = ProjectLinks {
            product_type_id: product_type,
            product_id: product,
            engagement_id: engagement,
            test_type_id: test_type,
            test_id: test,
        };
        self.store.save_project_links(project, &links).await?;
        tracing::info!(%project, test_id = test, "DefectDojo hierarchy ready");
        Ok(links)
    }

    /// Forgets a project's links (its test was deleted in DefectDojo).
    pub async fn forget(&self, project: &ProjectName) {
        self.cache.write().await.remove(project);
    }
}
