//! `--methodology` and `--version` of `wstgctl project add` (issue 12 item 5).

use clap::Args;
use wstg_domain::{choose_catalogue, CatalogueVersion, ProjectName};
use wstg_store::Store;

use crate::exit::CliError;

#[derive(Args, Debug, Default)]
pub struct CatalogueArgs {
    /// wstg (default: the configured catalogue), asvs or mastg.
    #[arg(long)]
    methodology: Option<String>,
    /// The methodology's version: 4.2, latest, tracker-2025-03-29 (WSTG);
    /// 4.0.3, 5.0 (ASVS); latest (MASTG). Absent: the methodology's first.
    #[arg(long = "version")]
    version: Option<String>,
}

impl CatalogueArgs {
    /// The catalogue asked for; `None`: the configured default.
    pub fn choice(&self) -> Result<Option<CatalogueVersion>, CliError> {
        choose_catalogue(self.methodology.as_deref(), self.version.as_deref())
            .map_err(|e| CliError::Usage(format!("--{}: {e}", e.field())))
    }
}

/// Stores the choice of a project just created.
pub async fn record(
    store: &Store,
    project: &ProjectName,
    chosen: Option<CatalogueVersion>,
) -> anyhow::Result<()> {
    if let Some(v) = chosen {
        store.set_project_catalogue(project, v).await?;
    }
    Ok(())
}
