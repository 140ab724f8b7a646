//! `wstgctl project add|list`: the projects the ingest accepts. A project
//! may be mapped to an existing DefectDojo product and engagement; the
//! mapping is stored with it.

use clap::Subcommand;
use serde_json::json;
use wstg_settings::Settings;
use wstg_store::new_project_name;

use crate::exit::CliError;
use crate::open;
use crate::output::{fields, opt, table, Out};

#[derive(Subcommand)]
pub enum ProjectCommand {
    /// Create a project. Its name is NFKC-normalised; a name mixing
    /// scripts or looking like an existing one is refused. Reads
    /// WSTG_DATABASE_URL, WSTG_DEFAULT_PROJECT.
    Add {
        /// The project's name (letters, digits, space, '_', '-', '.').
        name: String,
        /// An existing DefectDojo product to map it to.
        #[arg(long)]
        product_id: Option<i64>,
        /// An existing DefectDojo engagement to map it to.
        #[arg(long)]
        engagement_id: Option<i64>,
        /// Its methodology: wstg (default), asvs or mastg; --version picks
        /// the methodology's version (4.2, latest; 4.0.3, 5.0).
        #[command(flatten)]
        catalogue: crate::methodology::CatalogueArgs,
    },
    /// Every project, the default one (WSTG_DEFAULT_PROJECT) included.
    /// Reads WSTG_DATABASE_URL.
    List,
}

pub async fn run(settings: &Settings, out: Out, command: ProjectCommand) -> anyhow::Result<()> {
    match command {
        ProjectCommand::Add {
            name,
            product_id,
            engagement_id,
            catalogue,
        } => {
            let catalogue = catalogue.choice()?;
            for (flag, id) in [
                ("--product-id", product_id),
                ("--engagement-id", engagement_id),
            ] {
                if id.is_some_and(|i| i <= 0) {
                    return Err(CliError::Usage(format!(
                        "{flag} must be a positive DefectDojo id"
                    ))
                    .into());
                }
            }
            let name = new_project_name(&name)?;
            let store = open::store(settings).await?;
            let record = store
                .add_project(&name, product_id, engagement_id, &settings.default_project)
                .await?;
            crate::methodology::record(&store, &name, catalogue).await?;
            out.show(&record, |r| {
                fields([
                    ("name", r.name.to_string()),
                    ("product id", opt(r.product_id)),
                    ("engagement id", opt(r.engagement_id)),
                    ("created at", r.created_at.to_rfc3339()),
                ])
            })
        }
        ProjectCommand::List => {
            let store = open::store(settings).await?;
            let projects = store.registered_projects().await?;
            let list = json!({
                "default_project": settings.default_project.as_str(),
                "projects": projects,
            });
            out.show(&list, |_| {
                let default = [
                    settings.default_project.to_string(),
                    "-".to_owned(),
                    "-".to_owned(),
                    "(default)".to_owned(),
                ];
                table(
                    &["PROJECT", "PRODUCT ID", "ENGAGEMENT ID", "CREATED"],
                    std::iter::once(default.to_vec()).chain(projects.iter().map(|p| {
                        vec![
                            p.name.to_string(),
                            opt(p.product_id),
                            opt(p.engagement_id),
                            p.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                        ]
                    })),
                )
            })
        }
    }
}
