//! `wstgctl token create|list|revoke`: API tokens for the ingest.
//!
//! A token is shown once, at creation, on standard output alone (so scripts
//! can capture it); only its SHA-256 is stored.

use anyhow::Context;
use clap::Subcommand;
use wstg_domain::ProjectName;
use wstg_settings::Settings;
use wstg_startup::connect as service;
use wstg_store::{normalise_project_name, Access, Store, TokenGrant, TokenRole};

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it (shown once). Either --admin, or at least
    /// one --write / --read project.
    Create {
        /// What the token is for (shown by `token list`).
        #[arg(long)]
        label: String,
        /// The admin endpoints (dead letters, projects) and every project.
        #[arg(long, conflicts_with_all = ["write", "read"])]
        admin: bool,
        /// A project this token may read and write (repeatable).
        #[arg(long, value_name = "PROJECT")]
        write: Vec<String>,
        /// A project this token may only read (repeatable).
        #[arg(long, value_name = "PROJECT")]
        read: Vec<String>,
    },
    /// Every token (no secrets), as JSON.
    List,
    /// Revoke a token by its id: it is refused from the next request on.
    Revoke { id: String },
}

pub async fn run(settings: &Settings, command: TokenCommand) -> anyhow::Result<()> {
    let store = service::store(settings).await?;
    match command {
        TokenCommand::Create {
            label,
            admin,
            write,
            read,
        } => {
            let label = label.trim().to_owned();
            anyhow::ensure!(
                !label.is_empty() && label.chars().count() <= 128,
                "--label must have 1 to 128 characters"
            );
            let (role, grants) = if admin {
                (TokenRole::Admin, Vec::new())
            } else {
                let mut grants = Vec::new();
                for (names, access) in [(&write, Access::Write), (&read, Access::Read)] {
                    for raw in names {
                        let project = existing_project(&store, settings, raw).await?;
                        anyhow::ensure!(
                            !grants.iter().any(|g: &TokenGrant| g.project == project),
                            "project {project} is named twice"
                        );
                        grants.push(TokenGrant { project, access });
                    }
                }
                anyhow::ensure!(
                    !grants.is_empty(),
                    "name the token's projects (--write P, --read P) or make it --admin"
                );
                (TokenRole::Tracker, grants)
            };
            let made = store.create_token(&label, role, &grants).await?;
            eprintln!(
                "token {} created ({}). It is shown once, below: store it now.",
                made.token.id,
                role.as_str()
            );
            println!("{}", made.secret);
            Ok(())
        }
        TokenCommand::List => {
            println!("{}", serde_json::to_string_pretty(&store.tokens().await?)?);
            Ok(())
        }
        TokenCommand::Revoke { id } => {
            if store.revoke_token(id.trim()).await? {
                println!("revoked token {id}");
                Ok(())
            } else {
                anyhow::bail!("no live token {id} (unknown, or revoked already)")
            }
        }
    }
}

/// A project a token may be given: the default, or one an admin created.
async fn existing_project(
    store: &Store,
    settings: &Settings,
    raw: &str,
) -> anyhow::Result<ProjectName> {
    let project = normalise_project_name(raw).with_context(|| format!("project '{raw}'"))?;
    if project == settings.default_project || store.registered_project(&project).await?.is_some() {
        Ok(project)
    } else {
        anyhow::bail!("unknown project '{project}': create it first with `wstgctl project add`")
    }
}
