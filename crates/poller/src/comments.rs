//! Brings DefectDojo notes back as item comments, and asks the workers to
//! post the tracker comments still waiting (the rule:
//! `wstg_domain::sync::comments`; this step reads, links and imports).
//!
//! What it costs: a note bumps the finding's `updated` (not its
//! `last_status_update`), so the pass's list read already shows which
//! findings may hold new notes: one `GET findings/{id}/notes/` per finding
//! seen changed, none when nothing changed. Notes of a finding nobody
//! touched since are not read again. Our own post bumps `updated` too, so
//! each post costs one notes read here, which links it (no echo).

use chrono::Utc;
use dojo_client::DojoClient;
use wstg_domain::comment::MAX_COMMENTS_PER_ITEM;
use wstg_domain::sync::comments::{plan_comments, Actor, CommentStep};
use wstg_domain::{Envelope, EventKind, ProjectName, WstgId};
use wstg_queue::Queue;
use wstg_store::Store;

/// How long a tried but unconfirmed post waits before it is handed to the
/// workers again (a note DefectDojo keeps refusing is not retried, nor
/// dead-lettered, on every pass).
const RETRY_AFTER: chrono::Duration = chrono::Duration::minutes(5);

/// What the step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommentsRead {
    /// `GET findings/{id}/notes/` requests made.
    pub requests: u32,
    pub imported: usize,
    pub linked: usize,
    /// Items whose unsent comments were handed to the workers.
    pub queued: usize,
}

/// Reads the notes of the `changed` findings of `project` and hands the
/// items with unsent comments to the workers.
pub async fn sync_project_comments(
    dojo: &DojoClient,
    store: &Store,
    queue: &Queue,
    project: &ProjectName,
    changed: &[(WstgId, i64)],
) -> anyhow::Result<CommentsRead> {
    let mut done = CommentsRead::default();
    for (wstg_id, finding) in changed {
        let notes = dojo.finding_notes(*finding).await?;
        done.requests += 1;
        let comments: Vec<_> = store
            .comments(project, wstg_id)
            .await?
            .iter()
            .map(|c| c.to_stored())
            .collect();
        for step in plan_comments(
            &comments,
            &notes,
            Actor::Poller,
            MAX_COMMENTS_PER_ITEM as usize,
        ) {
            match step {
                CommentStep::Link { comment, note_id } => {
                    store.link_comment(comment, note_id).await?;
                    done.linked += 1;
                }
                CommentStep::Import {
                    note_id,
                    author,
                    body,
                    created_at,
                } => {
                    if store
                        .import_comment(project, wstg_id, note_id, &author, &body, created_at)
                        .await?
                    {
                        done.imported += 1;
                    }
                }
                CommentStep::Post { .. } => {}
            }
        }
    }
    // Comments written before their item had a finding, or whose post
    // failed: one event per such linked item (no DefectDojo call), at most
    // every RETRY_AFTER for a post already tried.
    let retry_before = Utc::now() - RETRY_AFTER;
    for wstg_id in store
        .items_with_unsent_comments(project, retry_before)
        .await?
    {
        let linked = store
            .item(project, &wstg_id)
            .await?
            .is_some_and(|r| r.finding_id.is_some());
        if linked {
            let env = Envelope::new(
                project.clone(),
                EventKind::SyncComments { wstg_id },
                Utc::now(),
            );
            queue.publish(&env).await?;
            done.queued += 1;
        }
    }
    if done.imported + done.linked > 0 {
        tracing::info!(%project, requests = done.requests, imported = done.imported, linked = done.linked, "DefectDojo notes read");
    }
    Ok(done)
}
