//! The DefectDojo hierarchy a project's findings live in: product type,
//! product, engagement, test type and test, once per project, and remembered
//! in the store so later starts make no calls at all.
//!
//! Where it is comes from the project's stored target (`wstgctl project add
//! --product-id/--engagement-id/--product/--engagement/...`), its unset parts
//! from the settings' name templates (crates/domain/src/dojo_target.rs). A
//! product or engagement named by id must exist (GET by id; a 404 is a
//! permanent error naming the id, which reaches the item's status and the
//! dead-letter queue instead of a retry loop) and is never created; one named
//! by name is found by exact name before it is created. The test is found by configurable criteria (test
//! type names, title) so a DefectDojo with history, the original design's
//! untitled "WSTG Security Testing" test included, is linked, not duplicated
//! (docs/sync-rules.md, linking).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use dojo_client::{DojoClient, TestCriteria};
use tokio::sync::RwLock;
use wstg_domain::{
    CatalogueVersion, DojoRef, DojoTarget, ProjectName, ResolvedTarget, TargetTemplates,
};
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
    /// The names of what a project does not map itself.
    pub templates: TargetTemplates,
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
            templates: s.dojo.templates.clone(),
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
        let target = self.target_of(project).await?;
        let (product_type, product, engagement) = self.locate(project, &target).await?;
        // Every accepted test type that exists; the bridge's own is made
        // only when a test has to be made.
        let mut criteria = TestCriteria {
            test_types: Vec::new(),
            title: target.test_title.clone(),
        };
        for name in std::iter::once(&n.test_type).chain(&n.test_types) {
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
                let own = self.dojo.ensure_test_type(&n.test_type).await?;
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

    /// The project's target: its stored mapping, the rest from templates.
    /// A mapping that cannot be used is permanent: retrying changes nothing.
    pub async fn target_of(&self, project: &ProjectName) -> Result<ResolvedTarget, WorkError> {
        let fields = self
            .store
            .registered_project(project)
            .await?
            .map(|r| r.target)
            .unwrap_or_default();
        DojoTarget::parse(&fields)
            .and_then(|t| t.resolve(project, &self.names.templates))
            .map_err(|e| WorkError::Permanent(format!("project {project}: DefectDojo target: {e}")))
    }

    /// The product type, product and engagement of `target`: by id, read
    /// and checked; by name, found or made.
    async fn locate(
        &self,
        project: &ProjectName,
        target: &ResolvedTarget,
    ) -> Result<(i64, i64, i64), WorkError> {
        let gone = |what: &str, id: i64| gone(project, what, id);
        let engagement_name = match &target.engagement {
            DojoRef::Name(n) => n,
            DojoRef::Id(e) => return self.locate_engagement(project, target, *e).await,
        };
        let (product_type, product) = match &target.product {
            Some(DojoRef::Id(p)) => {
                let product = self
                    .dojo
                    .get_product(*p)
                    .await?
                    .ok_or_else(|| gone("product", *p))?;
                (product.prod_type.unwrap_or_default(), product.id)
            }
            Some(DojoRef::Name(name)) => {
                let product_type = self.dojo.ensure_product_type(&target.product_type).await?;
                let product = self
                    .dojo
                    .ensure_product(
                        name,
                        product_type,
                        &format!(
                            "OWASP WSTG checklist of project {project}, kept in sync by wstg-bridge."
                        ),
                    )
                    .await?;
                (product_type, product)
            }
            None => {
                return Err(WorkError::Permanent(format!(
                    "project {project}: DefectDojo target names no product"
                )))
            }
        };
        let engagement = self
            .dojo
            .ensure_engagement(product, engagement_name)
            .await?;
        Ok((product_type, product, engagement))
    }

    /// An engagement by id: read it and its product, and check the product
    /// the project names (if any) is that one.
    async fn locate_engagement(
        &self,
        project: &ProjectName,
        target: &ResolvedTarget,
        e: i64,
    ) -> Result<(i64, i64, i64), WorkError> {
        let gone = |what: &str, id: i64| gone(project, what, id);
        let engagement = self
            .dojo
            .get_engagement(e)
            .await?
            .ok_or_else(|| gone("engagement", e))?;
        let Some(product_id) = engagement.product else {
            return Err(gone("product of engagement", e));
        };
        let product = self
            .dojo
            .get_product(product_id)
            .await?
            .ok_or_else(|| gone("product", product_id))?;
        let matches = match &target.product {
            None => true,
            Some(DojoRef::Id(p)) => *p == product.id,
            Some(DojoRef::Name(n)) => *n == product.name,
        };
        if !matches {
            return Err(WorkError::Permanent(format!(
                "project {project}: DefectDojo engagement {e} belongs to product {} ('{}'), \
                     not to the product the project names; fix the project's mapping",
                product.id, product.name
            )));
        }
        Ok((product.prod_type.unwrap_or_default(), product.id, e))
    }

    /// Forgets a project's links (its test was deleted in DefectDojo).
    pub async fn forget(&self, project: &ProjectName) {
        self.cache.write().await.remove(project);
    }
}

/// The permanent error of a mapped id DefectDojo does not have.
fn gone(project: &ProjectName, what: &str, id: i64) -> WorkError {
    WorkError::Permanent(format!(
        "project {project}: DefectDojo has no {what} with id {id} \
         (or the API token may not read it); fix the project's mapping"
    ))
}
