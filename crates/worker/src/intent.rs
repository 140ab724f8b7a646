//! Writes to DefectDojo whose outcome is unknown, remembered so they are not
//! mistaken for someone's edit in DefectDojo.
//!
//! A write that timed out (or whose connection broke after it was sent) may
//! still be carried out by DefectDojo, seconds later. Two defences:
//!
//! 1. the item's lease is kept for one more full lease (more than three
//!    DefectDojo timeouts) instead of being released (`ItemLocks::keep`), so
//!    no replica writes the item while the lost write can still land;
//! 2. the state that write carried is remembered here, in the list
//!    `P:intent:<project>:<wstg_id>` (newest first, at most [`KEEP`], for
//!    [`TTL`]). When the sync decision, or the answer to a PATCH, later finds
//!    DefectDojo differing from what we know only by values such a write
//!    carried, that is our own late write, not a change made in DefectDojo:
//!    the tracker's newer state is pushed over it instead of DefectDojo's
//!    being pulled into the tracker (which, under `dojo_wins`, would undo the
//!    tester's change). The price: for [`TTL`] after a timeout on an item, an
//!    edit made in DefectDojo that sets exactly a value of that lost write is
//!    taken for ours and overwritten by the tracker's state.
//!
//! The fault-injection suite's "2 s latency with 1 s client timeouts" case
//! fails without these: a PATCH abandoned by the client landed after the
//! retry's PATCH, and the item ended in the older state.

use std::time::Duration;

use wstg_domain::sync::ItemState;
use wstg_domain::{ProjectName, WstgId};
use wstg_queue::Queue;

use crate::error::WorkError;

/// How long an unknown-outcome write is remembered.
pub const TTL: Duration = Duration::from_secs(600);

/// How many of an item's unknown-outcome writes are remembered.
pub const KEEP: isize = 8;

fn key(queue: &Queue, project: &ProjectName, wstg_id: &WstgId) -> String {
    format!("{}:intent:{project}:{wstg_id}", queue.keys().prefix())
}

/// Passes `result` through; if it failed with an unknown outcome, remembers
/// that `sent` may be in DefectDojo now or soon.
pub async fn note<T>(
    queue: &Queue,
    project: &ProjectName,
    wstg_id: &WstgId,
    sent: &ItemState,
    result: Result<T, WorkError>,
) -> Result<T, WorkError> {
    if let Err(e) = &result {
        if e.outcome_unknown() {
            if let Err(e) = remember(queue, project, wstg_id, sent).await {
                tracing::warn!(error = %e, %wstg_id, "could not remember a write of unknown outcome");
            }
        }
    }
    result
}

async fn remember(
    queue: &Queue,
    project: &ProjectName,
    wstg_id: &WstgId,
    sent: &ItemState,
) -> Result<(), WorkError> {
    let json = serde_json::to_string(sent)
        .map_err(|e| WorkError::Permanent(format!("encoding a write intent: {e}")))?;
    let key = key(queue, project, wstg_id);
    redis::pipe()
        .atomic()
        .cmd("LPUSH")
        .arg(&key)
        .arg(json)
        .ignore()
        .cmd("LTRIM")
        .arg(&key)
        .arg(0)
        .arg(KEEP - 1)
        .ignore()
        .cmd("PEXPIRE")
        .arg(&key)
        .arg(TTL.as_millis() as u64)
        .ignore()
        .query_async::<()>(&mut queue.connection())
        .await
        .map_err(|e| WorkError::Queue(e.into()))?;
    Ok(())
}

async fn sent(queue: &Queue, project: &ProjectName, wstg_id: &WstgId) -> Vec<ItemState> {
    let raw: Vec<String> = redis::cmd("LRANGE")
        .arg(key(queue, project, wstg_id))
        .arg(0)
        .arg(-1)
        .query_async(&mut queue.connection())
        .await
        .unwrap_or_default();
    raw.iter()
        .filter_map(|s| serde_json::from_str::<ItemState>(s).ok())
        .collect()
}

/// True when `dojo` differs from `base` only by values our unknown-outcome
/// writes carried: each differing field (status, notes) holds the value of
/// one of them. Field by field, because a late PATCH carries only the fields
/// it changed and lands on whatever the finding held by then.
pub async fn explains(
    queue: &Queue,
    project: &ProjectName,
    wstg_id: &WstgId,
    base: &ItemState,
    dojo: &ItemState,
) -> bool {
    if dojo == base {
        return false;
    }
    let sent = sent(queue, project, wstg_id).await;
    let status = dojo.status == base.status || sent.iter().any(|s| s.status == dojo.status);
    let notes = dojo.notes == base.notes || sent.iter().any(|s| s.notes == dojo.notes);
    let ours = !sent.is_empty() && status && notes;
    if ours {
        tracing::info!(%project, %wstg_id, "DefectDojo holds our own late write, not an edit made there");
    }
    ours
}

/// For the sync decision: if DefectDojo's state differs from the last synced
/// one only by our own late writes, DefectDojo's state, to be taken as the
/// last synced one (DefectDojo did not change; we did).
pub async fn explain(
    queue: &Queue,
    project: &ProjectName,
    wstg_id: &WstgId,
    last_synced: Option<&ItemState>,
    dojo: Option<&ItemState>,
) -> Option<ItemState> {
    let (base, dojo) = (last_synced?, dojo?);
    explains(queue, project, wstg_id, base, dojo)
        .await
        .then(|| dojo.clone())
}
