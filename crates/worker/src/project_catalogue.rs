//! Which catalogue a project follows, for the worker (issue 12 item 5):
//! the finding titles come from it, and the DefectDojo test type and title
//! follow its methodology (an ASVS project's findings sit in an "OWASP ASVS"
//! test titled "OWASP ASVS 4.0.3 checklist"; WSTG projects are unchanged).

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::RwLock;
use wstg_domain::{Catalogue, CatalogueVersion, Methodology, ProjectName};
use wstg_store::Store;

use crate::bootstrap::HierarchyNames;
use crate::error::WorkError;

/// Projects' catalogues, read from the store once each: a project never
/// changes its methodology, and one without a choice follows the
/// configured default.
#[derive(Clone)]
pub struct ProjectCatalogues {
    store: Store,
    default: CatalogueVersion,
    known: Arc<RwLock<HashMap<ProjectName, CatalogueVersion>>>,
}

impl ProjectCatalogues {
    pub fn new(store: Store, default: CatalogueVersion) -> Self {
        ProjectCatalogues {
            store,
            default,
            known: Arc::default(),
        }
    }

    /// The catalogue `project` follows.
    pub async fn of(&self, project: &ProjectName) -> Result<&'static Catalogue, WorkError> {
        if let Some(v) = self.known.read().await.get(project) {
            return Ok(Catalogue::get(*v));
        }
        let chosen = self.store.project_catalogue(project).await?;
        // Only a choice is remembered: a project without one may yet be
        // created with another methodology.
        if let Some(v) = chosen {
            self.known.write().await.insert(project.clone(), v);
        }
        Ok(Catalogue::get(chosen.unwrap_or(self.default)))
    }
}

/// The DefectDojo test a project's findings go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestNames {
    /// The test type the bridge makes its test with.
    pub test_type: String,
    /// Other test type names an existing test may have.
    pub other_types: Vec<String>,
    pub title: String,
}

/// WSTG projects keep the configured names (`dojo.test_type`,
/// `dojo.test_title`, `dojo.test_types`); other methodologies get their
/// own: test type "OWASP ASVS", title "OWASP ASVS 4.0.3 checklist".
pub fn test_names(names: &HierarchyNames, catalogue: CatalogueVersion) -> TestNames {
    match catalogue.methodology() {
        Methodology::Wstg => TestNames {
            test_type: names.test_type.clone(),
            other_types: names.test_types.clone(),
            title: match &names.test_title {
                Some(t) => t.clone(),
                None => format!("OWASP WSTG {catalogue} checklist"),
            },
        },
        m => TestNames {
            test_type: m.display_name().to_owned(),
            other_types: Vec::new(),
            title: format!("{} checklist", catalogue.label()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(raw: &str) -> wstg_domain::NameTemplate {
        wstg_domain::NameTemplate::parse(raw).unwrap()
    }

    fn names() -> HierarchyNames {
        HierarchyNames {
            product_type: "pt".into(),
            engagement: "e".into(),
            test_type: "WSTG Security Testing".into(),
            catalogue: CatalogueVersion::V4_2,
            product: None,
            default_project: ProjectName::parse("default").unwrap(),
            test_title: None,
            test_types: vec!["Pen Test".into()],
            templates: wstg_domain::TargetTemplates {
                product: template("{project}"),
                engagement: template("e"),
                product_type: template("pt"),
                test_title: template("OWASP WSTG {catalogue} checklist"),
                default_product: None,
                default_project: ProjectName::parse("default").unwrap(),
                catalogue: CatalogueVersion::V4_2,
            },
        }
    }

    #[test]
    fn wstg_keeps_the_configured_names_and_others_get_their_own() {
        let wstg = test_names(&names(), CatalogueVersion::V4_2);
        assert_eq!(wstg.test_type, "WSTG Security Testing");
        assert_eq!(wstg.title, names().test_title());
        assert_eq!(wstg.other_types, ["Pen Test"]);
        let asvs = test_names(&names(), CatalogueVersion::Asvs4_0_3);
        assert_eq!(asvs.test_type, "OWASP ASVS");
        assert_eq!(asvs.title, "OWASP ASVS 4.0.3 checklist");
        assert!(asvs.other_types.is_empty());
        let mastg = test_names(&names(), CatalogueVersion::MastgLatest);
        assert_eq!(mastg.title, "OWASP MASTG latest checklist");
    }
}
