//! The DefectDojo hierarchy a project's findings live in: product type,
//! product (named after the project, or the configured product of the
//! default project), engagement, test type and test, each found before it is
//! created, once per project, and remembered in the store so later starts
//! make no calls at all. The test is found by configurable criteria (test
//! type names, title) so a DefectDojo with history, the original design's
//! untitled "WSTG Security Testing" test included, is linked, not duplicated
//! (docs/sync-rules.md, linking).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use dojo_client::{DojoClient, TestCriteria};
use tokio::sync::RwLock;
use wstg_domain::{CatalogueVersion, ProjectName};
use wstg_settings::Settings;
use wstg_store::{ProjectLinks, Store};

use crate::error::WorkError;
use crate::item_lock::ItemLocks;

#[derive(Debug, Clone)]
pub struct HierarchyNames {
    pub product_type: String,
    pub engagement: String,
    /// The test type of the tests the bridge creates.
    pub test_type: String,
    pub catalogue: CatalogueVersion,
    /// Product of `default_project` (a DefectDojo with history); `None`:
    /// every product is named after its project.
    pub product: Option<String>,
    pub default_project: ProjectName,
    /// Title of the WSTG test; `None`: `OWASP WSTG <catalogue> checklist`.
    pub test_title: Option<String>,
    /// Other test type names an existing WSTG test may have.
    pub test_types: Vec<String>,
}

impl HierarchyNames {
    pub fn from_settings(s: &Settings) -> HierarchyNames {
        HierarchyNames {
            product_type: s.dojo.product_type.clone(),
            engagement: s.dojo.engagement.clone(),
            test_type: s.dojo.test_type.clone(),
            catalogue: s.catalogue_version,
            product: s.dojo.product.clone(),
            default_project: s.default_project.clone(),
            test_title: s.dojo.test_title.clone(),
            test_types: s.dojo.test_types.clone(),
        }
    }

    /// The product name of `project`.
    pub fn product_of(&self, project: &ProjectName) -> String {
        match &self.product {
            Some(p) if *project == self.default_project => p.clone(),
            _ => project.as_str().to_owned(),
        }
    }

    /// The title of the WSTG test.
    pub fn test_title(&self) -> String {
        self.test_title
            .clone()
            .unwrap_or_else(|| format!("OWASP WSTG {} checklist", self.catalogue))
    }
}

#[derive(Clone)]
pub struct Bootstrapper {
    dojo: DojoClient,
    store: Store,
    locks: ItemLocks,
    names: HierarchyNames,
    cache: Arc<RwLock<HashMap<ProjectName, ProjectLinks>>>,
    catalogues: crate::project_catalogue::ProjectCatalogues,
}

impl Bootstrapper {
    pub fn new(dojo: DojoClient, store: Store, locks: ItemLocks, names: HierarchyNames) -> Self {
        let catalogues =
            crate::project_catalogue::ProjectCatalogues::new(store.clone(), names.catalogue);
        Bootstrapper {
            dojo,
            store,
            locks,
            names,
            cache: Arc::default(),
            catalogues,
        }
    }

    /// Each project's catalogue (issue 12 item 5).
    pub fn catalogues(&self) -> &crate::project_catalogue::ProjectCatalogues {
        &self.catalogues
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
        let catalogue = self.catalogues.of(project).await?.version();
        let names = crate::project_catalogue::test_names(n, catalogue);
        let product_type = self.dojo.ensure_product_type(&n.product_type).await?;
        let product = self
            .dojo
            .ensure_product(
                &n.product_of(project),
                product_type,
                &format!(
                    "{} checklist of project {project}, kept in sync by wstg-bridge.",
                    catalogue.methodology().display_name()
                ),
            )
            .await?;
        let engagement = self.dojo.ensure_engagement(product, &n.engagement).await?;
        // Every accepted test type that exists; the bridge's own is made
        // only when a test has to be made.
        let mut criteria = TestCriteria {
            test_types: Vec::new(),
            title: names.title.clone(),
        };
        for name in std::iter::once(&names.test_type).chain(&names.other_types) {
            if let Some(id) = self.dojo.test_type_id(name).await? {
                criteria.test_types.push(id);
            }
        }
        let (test, test_type) = match self.dojo.find_wstg_test(engagement, &criteria).await? {
            Some(found) => {
                tracing::info!(%project, test_id = found.0, "existing WSTG test found in DefectDojo");
                found
            }
            None => {
                let own = self.dojo.ensure_test_type(&names.test_type).await?;
                criteria.test_types.push(own);
                self.dojo
                    .ensure_wstg_test(engagement, own, &criteria)
                    .await?
            }
        };
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
