//! `wstgctl token create|list|revoke`: API tokens for the ingest.
//!
//! A token is shown once, at creation, on standard output alone (so scripts
//! can capture it); only its SHA-256 is stored.

use clap::Subcommand;
use serde_json::json;
use wstg_settings::Settings;
use wstg_store::{Access, TokenGrant, TokenRole};

use crate::exit::CliError;
use crate::open;
use crate::output::{opt, table, Out};

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it (shown once): the secret alone on stdout
    /// (`--output json`: with its id and role). Either --admin, or at least
    /// one --write / --read project. Reads WSTG_DATABASE_URL,
    /// WSTG_DEFAULT_PROJECT.
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
    /// Every token (no secrets). Reads WSTG_DATABASE_URL.
    List,
    /// Revoke a token by its id: it is refused from the next request on
    /// (exit 3 when there is no live token with this id). Reads
    /// WSTG_DATABASE_URL.
    Revoke {
        /// The token's id (see `token list`).
        id: String,
    },
}

pub async fn run(settings: &Settings, out: Out, command: TokenCommand) -> anyhow::Result<()> {
    let store = open::store(settings).await?;
    match command {
        TokenCommand::Create {
            label,
            admin,
            write,
            read,
        } => {
            let label = label.trim().to_owned();
            if label.is_empty() || label.chars().count() > 128 {
                return Err(
                    CliError::Usage("--label must have 1 to 128 characters".to_owned()).into(),
                );
            }
            let (role, grants) = if admin {
                (TokenRole::Admin, Vec::new())
            } else {
                let mut grants = Vec::new();
                for (names, access) in [(&write, Access::Write), (&read, Access::Read)] {
                    for raw in names {
                        let project = open::registered_project(&store, settings, raw).await?;
                        if grants.iter().any(|g: &TokenGrant| g.project == project) {
                            return Err(CliError::Usage(format!(
                                "project {project} is named twice"
                            ))
                            .into());
                        }
                        grants.push(TokenGrant { project, access });
                    }
                }
                if grants.is_empty() {
                    return Err(CliError::Usage(
                        "name the token's projects (--write P, --read P) or make it --admin"
                            .to_owned(),
                    )
                    .into());
                }
                (TokenRole::Tracker, grants)
            };
            let made = store.create_token(&label, role, &grants).await?;
            eprintln!(
                "token {} created ({}). It is shown once, below: store it now.",
                made.token.id,
                role.as_str()
            );
            // The secret alone on stdout, so `$(wstgctl token create …)`
            // captures it.
            out.done(
                &made.secret,
                &json!({
                    "id": made.token.id,
                    "label": made.token.label,
                    "role": role.as_str(),
                    "grants": made.token.grants,
                    "secret": made.secret,
                }),
            )
        }
        TokenCommand::List => {
            let tokens = store.tokens().await?;
            out.show(&tokens, |tokens| {
                table(
                    &["ID", "LABEL", "ROLE", "PROJECTS", "CREATED", "REVOKED"],
                    tokens.iter().map(|t| {
                        vec![
                            t.id.clone(),
                            t.label.clone(),
                            t.role.as_str().to_owned(),
                            t.grants
                                .iter()
                                .map(|g| format!("{}:{}", g.project, g.access.as_str()))
                                .collect::<Vec<_>>()
                                .join(", "),
                            t.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                            opt(t
                                .revoked_at
                                .map(|r| r.format("%Y-%m-%d %H:%M:%S").to_string())),
                        ]
                    }),
                )
            })
        }
        TokenCommand::Revoke { id } => {
            if store.revoke_token(id.trim()).await? {
                out.done(format!("revoked token {id}"), &json!({ "revoked": id }))
            } else {
                Err(
                    CliError::NotFound(format!("no live token {id} (unknown, or revoked already)"))
                        .into(),
                )
            }
        }
    }
}
