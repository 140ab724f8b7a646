//! The write-ahead record of our DefectDojo writes, per item, in Redis
//! (`wstg_queue::Keys::intents`, kept by the queue crate).
//!
//! Every write is recorded BEFORE it is sent and forgotten once its answer
//! is known good. A write that timed out (or whose connection broke after it
//! was sent) may still be carried out by DefectDojo, seconds later; a PATCH
//! DefectDojo answered 500 for a tag may have saved its other fields and
//! wiped the tags (docs/defectdojo.md §7). Such writes stay remembered for
//! `wstg_queue::intents::TTL`, and the planner
//! (`wstg_domain::sync::explain`) recognises a DefectDojo state they explain
//! as ours, not as an edit made in DefectDojo: the tracker's state is pushed
//! again instead of DefectDojo's being pulled over the tester's change.
//!
//! Two more defences for a write of unknown outcome: the item's lease is
//! kept for one more full term (longer than three DefectDojo timeouts)
//! instead of released, so no replica writes the item while the lost write
//! can still land; and the retry plans again with the intent in mind.

use uuid::Uuid;
use wstg_domain::sync::InFlightWrite;
use wstg_domain::{ProjectName, WstgId};
use wstg_queue::Queue;

use crate::error::WorkError;

/// Records `write` before it is sent. If this fails the write is not sent.
pub async fn record(
    queue: &Queue,
    project: &ProjectName,
    wstg_id: &WstgId,
    write: &InFlightWrite,
) -> Result<(), WorkError> {
    queue
        .record_intent(project.as_str(), wstg_id.as_str(), write)
        .await?;
    Ok(())
}

/// Forgets a write whose outcome is known.
pub async fn clear(
    queue: &Queue,
    project: &ProjectName,
    wstg_id: &WstgId,
    id: Uuid,
) -> Result<(), WorkError> {
    queue
        .clear_intent(project.as_str(), wstg_id.as_str(), id)
        .await?;
    Ok(())
}

/// The item's writes not known good. Unreadable, the sync does not go on:
/// deciding without them could pull our own half-landed write over a
/// tester's change.
pub async fn load(
    queue: &Queue,
    project: &ProjectName,
    wstg_id: &WstgId,
) -> Result<Vec<InFlightWrite>, WorkError> {
    Ok(queue.intents(project.as_str(), wstg_id.as_str()).await?)
}
