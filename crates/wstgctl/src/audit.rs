//! `wstgctl audit`: recent audit rows, newest first.

use wstg_settings::Settings;
use wstg_store::AuditEntry;

use crate::open;
use crate::output::{opt, table, Out};

pub async fn run(
    settings: &Settings,
    out: Out,
    project: Option<String>,
    limit: u32,
) -> anyhow::Result<()> {
    let store = open::store(settings).await?;
    let project = match project {
        Some(p) => Some(open::existing_project(&store, settings, &p).await?),
        None => None,
    };
    let rows = store.recent_audit(project.as_ref(), limit).await?;
    out.show(&rows, |rows| {
        table(
            &[
                "TIME",
                "PROJECT",
                "ITEM",
                "DIRECTION",
                "CHANGE",
                "OK",
                "FINDING",
                "ACTOR",
                "DETAIL",
            ],
            rows.iter().map(row),
        )
    })
}

fn row(e: &AuditEntry) -> Vec<String> {
    let status = |s: Option<wstg_domain::Status>| s.map_or("-", |s| s.as_str()).to_owned();
    let detail = e
        .error_message
        .as_deref()
        .or(e.conflict.as_deref())
        .or(e.detail.as_deref())
        .unwrap_or("");
    vec![
        e.timestamp.format("%Y-%m-%d %H:%M:%S").to_string(),
        e.project.to_string(),
        e.wstg_id.to_string(),
        e.direction.as_str().to_owned(),
        format!("{} -> {}", status(e.old_status), status(e.new_status)),
        if e.success { "yes" } else { "no" }.to_owned(),
        opt(e.finding_id),
        opt(e.actor.as_deref()),
        detail.chars().take(80).collect(),
    ]
}
