//! `wstgctl project add|list`: the projects the ingest accepts. A project
//! may be mapped to an existing DefectDojo product and engagement; the
//! mapping is stored with it.

use clap::Subcommand;
use serde_json::json;
use wstg_settings::Settings;
use wstg_startup::connect as service;
use wstg_store::{new_project_name, AddProjectError};

#[derive(Subcommand)]
pub enum ProjectCommand {
    /// Create a project. Its name is NFKC-normalised; a name mixing
    /// scripts or looking like an existing one is refused.
    Add {
        name: String,
        /// An existing DefectDojo product to map it to.
        #[arg(long)]
        product_id: Option<i64>,
        /// An existing DefectDojo engagement to map it to.
        #[arg(long)]
        engagement_id: Option<i64>,
    },
    /// Every project (the default one included), as JSON.
    List,
}

pub async fn run(settings: &Settings, command: ProjectCommand) -> anyhow::Result<()> {
    let store = service::store(settings).await?;
    match command {
        ProjectCommand::Add {
            name,
            product_id,
            engagement_id,
        } => {
            for (flag, id) in [
                ("--product-id", product_id),
                ("--engagement-id", engagement_id),
            ] {
                anyhow::ensure!(
                    id.is_none_or(|i| i > 0),
                    "{flag} must be a positive DefectDojo id"
                );
            }
            let name = new_project_name(&name)?;
            match store
                .add_project(&name, product_id, engagement_id, &settings.default_project)
                .await
            {
                Ok(record) => {
                    println!("{}", serde_json::to_string_pretty(&record)?);
                    Ok(())
                }
                Err(AddProjectError::Store(e)) => Err(e.into()),
                Err(e) => anyhow::bail!("{e}"),
            }
        }
        ProjectCommand::List => {
            let projects = store.registered_projects().await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "default_project": settings.default_project.as_str(),
                    "projects": projects,
                }))?
            );
            Ok(())
        }
    }
}
