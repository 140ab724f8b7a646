//! Posts an item's tracker comments as notes on its finding, each once
//! (the rule: `wstg_domain::sync::comments`; this file only executes it).
//!
//! Under the item's lease: read the finding's notes first (a post whose
//! answer was lost is found there by its entry and linked, not sent again),
//! then for each comment still to post record the write-ahead mark, POST,
//! and read the notes once more to learn the new notes' ids (DefectDojo's
//! POST answers without one).

use wstg_domain::comment::MAX_COMMENTS_PER_ITEM;
use wstg_domain::sync::comments::{plan_comments, Actor, CommentStep};
use wstg_domain::{ProjectName, WstgId};

use crate::apply::Applier;
use crate::error::WorkError;

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommentsSynced {
    pub posted: usize,
    pub linked: usize,
    pub imported: usize,
    /// DefectDojo requests made.
    pub requests: usize,
}

/// Syncs the item's discussion, if it has comments to send and a finding.
pub async fn sync_item_comments(
    applier: &Applier,
    project: &ProjectName,
    wstg_id: &WstgId,
) -> Result<CommentsSynced, WorkError> {
    let mut done = CommentsSynced::default();
    let unsent = |cs: &[wstg_store::CommentRecord]| {
        cs.iter()
            .any(|c| c.origin == "tracker" && c.dojo_note_id.is_none())
    };
    // Cheap checks first: no DefectDojo call for an item with nothing to send.
    if !unsent(&applier.store.comments(project, wstg_id).await?) {
        return Ok(done);
    }
    let Some(finding) = applier
        .store
        .item(project, wstg_id)
        .await?
        .and_then(|r| r.finding_id)
    else {
        // No finding yet: the comments wait for the item's first sync.
        return Ok(done);
    };
    let name = format!("item:{project}:{wstg_id}");
    let lease = applier
        .locks
        .acquire(&name, applier.lock_wait)
        .await
        .map_err(|e| WorkError::Queue(e.into()))?
        .ok_or_else(|| WorkError::Busy(format!("{wstg_id} is being applied by another worker")))?;
    let work = run(applier, project, wstg_id, finding, &mut done);
    let result = applier
        .locks
        .hold_during(&lease, work)
        .await
        .unwrap_or_else(|lost| Err(WorkError::Busy(format!("{wstg_id} comments: {lost}"))));
    match &result {
        Err(e) if e.outcome_unknown() => applier.locks.keep(lease).await,
        _ => applier.locks.release(lease).await,
    }
    result.map(|()| done)
}

async fn run(
    applier: &Applier,
    project: &ProjectName,
    wstg_id: &WstgId,
    finding: i64,
    done: &mut CommentsSynced,
) -> Result<(), WorkError> {
    let store = &applier.store;
    // Two rounds: post what is missing, then find what was posted.
    for round in 0..2 {
        let comments: Vec<_> = store
            .comments(project, wstg_id)
            .await?
            .iter()
            .map(|c| c.to_stored())
            .collect();
        let notes = applier.dojo.finding_notes(finding).await?;
        done.requests += 1;
        let steps = plan_comments(
            &comments,
            &notes,
            Actor::Worker,
            MAX_COMMENTS_PER_ITEM as usize,
        );
        let mut posted = false;
        for step in steps {
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
                // The second round only finds: a post it does not find is
                // left for the next run, which looks again before posting.
                CommentStep::Post { comment, entry } if round == 0 => {
                    store.mark_comment_posting(comment).await?;
                    applier.dojo.add_finding_note(finding, &entry).await?;
                    done.requests += 1;
                    done.posted += 1;
                    posted = true;
                }
                CommentStep::Post { .. } => {}
            }
        }
        if !posted {
            break;
        }
    }
    if done.posted + done.linked + done.imported > 0 {
        tracing::info!(%project, %wstg_id, finding, posted = done.posted, linked = done.linked, imported = done.imported, requests = done.requests, "comments synced");
    }
    Ok(())
}
