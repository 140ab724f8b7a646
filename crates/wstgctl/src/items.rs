//! `wstgctl items`: a project's items as the bridge knows them (every item
//! the tracker or DefectDojo has touched), with the tracker status, how the
//! sync stands and the linked DefectDojo finding; filters narrow the list.

use chrono::{DateTime, Utc};
use serde::Serialize;
use wstg_domain::{Catalogue, Status};
use wstg_settings::Settings;
use wstg_store::{ItemRecord, SyncState};

use crate::exit::CliError;
use crate::open;
use crate::output::{opt, table, Out};

#[derive(clap::Args)]
pub struct ItemsArgs {
    /// The project (default: WSTG_DEFAULT_PROJECT).
    #[arg(long)]
    project: Option<String>,
    /// Only items with this tracker status (not_started, in_progress,
    /// blocked, done, not_applicable; other spellings as the API accepts).
    #[arg(long)]
    status: Option<String>,
    /// Only items whose sync is in this state.
    #[arg(long, value_parser = ["synced", "pending", "conflict", "failed"])]
    sync_state: Option<String>,
    /// Only items linked to a DefectDojo finding.
    #[arg(long, conflicts_with = "unlinked")]
    linked: bool,
    /// Only items with no DefectDojo finding yet.
    #[arg(long)]
    unlinked: bool,
    /// Only this item (an id of the configured catalogue).
    #[arg(long)]
    item: Option<String>,
}

/// One item, as `--output json` prints it (a stable contract for scripts).
#[derive(Debug, Serialize)]
pub struct ItemRow {
    pub project: String,
    pub wstg_id: String,
    /// The tracker's status; `null` when only DefectDojo has spoken.
    pub status: Option<Status>,
    pub sync_state: SyncState,
    pub finding_id: Option<i64>,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub last_sync_direction: Option<String>,
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl From<&ItemRecord> for ItemRow {
    fn from(r: &ItemRecord) -> Self {
        ItemRow {
            project: r.project.to_string(),
            wstg_id: r.wstg_id.to_string(),
            status: r.tracker.as_ref().map(|t| t.status),
            sync_state: r.sync_state,
            finding_id: r.finding_id,
            last_sync_at: r.last_sync_at,
            last_sync_direction: r.last_sync_direction.map(|d| d.as_str().to_owned()),
            last_error: r.last_error.clone(),
            updated_at: r.updated_at,
        }
    }
}

pub async fn run(settings: &Settings, out: Out, args: ItemsArgs) -> anyhow::Result<()> {
    // Arguments first: a typo is a usage error even with the store away.
    let status = args
        .status
        .as_deref()
        .map(|s| {
            s.parse::<Status>()
                .map_err(|e| CliError::Usage(format!("--status: {e}")))
        })
        .transpose()?;
    let sync_state = args
        .sync_state
        .as_deref()
        .map(|s| {
            s.parse::<SyncState>()
                .map_err(|e| CliError::Usage(format!("--sync-state: {e}")))
        })
        .transpose()?;
    let store = open::store(settings).await?;
    let project = match &args.project {
        Some(p) => open::existing_project(&store, settings, p).await?,
        None => settings.default_project.clone(),
    };
    // The id is one of the project's own catalogue (issue 12 item 5).
    let catalogue = store
        .project_catalogue(&project)
        .await?
        .unwrap_or(settings.catalogue_version);
    let only = args
        .item
        .as_deref()
        .map(|i| Catalogue::get(catalogue).parse_id(i))
        .transpose()?;
    let mut rows: Vec<ItemRow> = store
        .items(&project)
        .await?
        .iter()
        .filter(|r| only.as_ref().is_none_or(|o| *o == r.wstg_id))
        .filter(|r| status.is_none_or(|s| r.tracker.as_ref().map(|t| t.status) == Some(s)))
        .filter(|r| sync_state.is_none_or(|s| r.sync_state == s))
        .filter(|r| !args.linked || r.finding_id.is_some())
        .filter(|r| !args.unlinked || r.finding_id.is_none())
        .map(ItemRow::from)
        .collect();
    rows.sort_by(|a, b| a.wstg_id.cmp(&b.wstg_id));
    if let (Some(id), true) = (&only, rows.is_empty()) {
        if args.status.is_none() && args.sync_state.is_none() && !args.linked && !args.unlinked {
            return Err(CliError::NotFound(format!(
                "{id} has no record in project {project} (no change seen from the tracker or DefectDojo yet)"
            ))
            .into());
        }
    }
    out.show(&rows, |rows| {
        table(
            &[
                "ITEM",
                "STATUS",
                "SYNC",
                "FINDING",
                "LAST SYNC",
                "DIRECTION",
                "ERROR",
            ],
            rows.iter().map(|r| {
                vec![
                    r.wstg_id.clone(),
                    opt(r.status.map(Status::as_str)),
                    r.sync_state.as_str().to_owned(),
                    opt(r.finding_id),
                    opt(r
                        .last_sync_at
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())),
                    opt(r.last_sync_direction.as_deref()),
                    r.last_error
                        .as_deref()
                        .map(|e| e.chars().take(60).collect())
                        .unwrap_or_default(),
                ]
            }),
        )
    })
}
