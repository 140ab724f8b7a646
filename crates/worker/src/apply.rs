//! Bringing one item's DefectDojo finding to the tracker's latest state.

use std::time::Duration;

use chrono::Utc;
use dojo_client::{DojoClient, DojoError, Finding, NotesField};
use uuid::Uuid;
use wstg_domain::mapping::{desired_tags, flags_for, plan_patch, status_of, DesiredItem};
use wstg_domain::sync::ItemState;
use wstg_domain::{Catalogue, DojoItem, ProjectName, WstgId};
use wstg_store::{AuditEntry, Direction, ItemRecord, Pushed, Store};

use crate::bootstrap::Bootstrapper;
use crate::error::WorkError;
use crate::item_lock::ItemLocks;

/// What applying an item did, for logs, tests and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The tracker's latest state was already in DefectDojo (or recorded as
    /// pushed by another replica): no call.
    AlreadyInSync,
    Created {
        finding_id: i64,
    },
    Updated {
        finding_id: i64,
    },
    /// DefectDojo already held the state; only our record changed.
    Matched {
        finding_id: i64,
    },
}

#[derive(Clone)]
pub struct Applier {
    pub dojo: DojoClient,
    pub store: Store,
    pub locks: ItemLocks,
    pub bootstrap: Bootstrapper,
    pub catalogue: &'static Catalogue,
    pub notes_field: NotesField,
    /// Least time between two writes to one item: changes made in between
    /// are coalesced into the next write (a tester clicking through statuses
    /// makes a handful of DefectDojo writes, not one per click).
    pub min_write_interval: Duration,
    /// How long to wait for another replica to finish with the same item.
    pub lock_wait: Duration,
}

impl Applier {
    /// Pushes the tracker's latest recorded state of `wstg_id` to DefectDojo.
    pub async fn push_item(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        event_id: Uuid,
    ) -> Result<Applied, WorkError> {
        let name = format!("item:{project}:{wstg_id}");
        let lease = self
            .locks
            .acquire(&name, self.lock_wait)
            .await
            .map_err(|e| WorkError::Queue(e.into()))?
            .ok_or_else(|| {
                // Another replica holds the item; a retry will find it done.
                WorkError::Dojo(DojoError::Transient {
                    status: None,
                    retry_after: None,
                    message: format!("{wstg_id} is being applied by another worker"),
                })
            })?;
        let result = self.push_item_locked(project, wstg_id, event_id).await;
        self.locks.release(lease).await;
        result
    }

    async fn push_item_locked(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        event_id: Uuid,
    ) -> Result<Applied, WorkError> {
        let Some(mut item) = self.store.item(project, wstg_id).await? else {
            return Ok(Applied::AlreadyInSync);
        };
        if is_pushed(&item) {
            return Ok(Applied::AlreadyInSync);
        }
        // Coalescing: wait out the write interval, then read the latest state.
        if let Some(last) = item.last_sync_at {
            let since = (Utc::now() - last).to_std().unwrap_or_default();
            if since < self.min_write_interval {
                tokio::time::sleep(self.min_write_interval - since).await;
                item = match self.store.item(project, wstg_id).await? {
                    Some(i) => i,
                    None => return Ok(Applied::AlreadyInSync),
                };
                if is_pushed(&item) {
                    return Ok(Applied::AlreadyInSync);
                }
            }
        }
        let (Some(tracker), Some(tracker_event)) = (item.tracker.clone(), item.tracker_event_id)
        else {
            return Ok(Applied::AlreadyInSync);
        };
        let links = self.bootstrap.links(project).await?;
        let desired = DesiredItem {
            wstg_id,
            status: tracker.status,
            notes: &tracker.notes,
        };

        // The finding as we last saw it, or as DefectDojo has it if we never
        // saw it (found by unique id or id tag, never by title).
        let known = match (item.finding_id, item.dojo.clone()) {
            (Some(_), Some(snapshot)) => Some(snapshot),
            _ => self
                .dojo
                .find_item_finding(links.test_id, wstg_id)
                .await?
                .map(|f| f.to_dojo_item(self.notes_field)),
        };
        let old_status = known.as_ref().map(|d| status_of(&d.flags, &d.tags));

        let (outcome, after) = match known {
            None => {
                let f = self.create(links.test_id, wstg_id, &tracker).await?;
                (
                    Applied::Created { finding_id: f.id },
                    f.to_dojo_item(self.notes_field),
                )
            }
            Some(snapshot) => {
                self.update(links.test_id, wstg_id, snapshot, &desired, &tracker)
                    .await?
            }
        };
        let now = Utc::now();
        self.store
            .mark_pushed(
                project,
                wstg_id,
                &Pushed {
                    finding_id: after.finding_id,
                    dojo: after.clone(),
                    synced: tracker.clone(),
                    pushed_event_id: tracker_event,
                    at: now,
                },
            )
            .await?;
        if !matches!(outcome, Applied::Matched { .. }) || old_status != Some(tracker.status) {
            self.store
                .append_audit(&AuditEntry {
                    id: Uuid::now_v7(),
                    timestamp: now,
                    project: project.clone(),
                    wstg_id: wstg_id.clone(),
                    direction: Direction::TrackerToDojo,
                    old_status,
                    new_status: Some(tracker.status),
                    success: true,
                    error_message: None,
                    event_id: Some(event_id),
                    actor: item.tracker_user.clone(),
                    finding_id: Some(after.finding_id),
                    conflict: None,
                    detail: Some(match outcome {
                        Applied::Created { .. } => "finding created".to_owned(),
                        Applied::Updated { .. } => "finding updated".to_owned(),
                        _ => "finding already matched".to_owned(),
                    }),
                })
                .await?;
        }
        Ok(outcome)
    }

    async fn create(
        &self,
        test_id: i64,
        wstg_id: &WstgId,
        tracker: &ItemState,
    ) -> Result<Finding, WorkError> {
        let entry = self.catalogue.entry(wstg_id).ok_or_else(|| {
            WorkError::Permanent(format!(
                "{wstg_id} is not in the WSTG {} catalogue",
                self.catalogue.version()
            ))
        })?;
        let tags = desired_tags(&[], wstg_id, tracker.status);
        Ok(self
            .dojo
            .create_item_finding(
                test_id,
                entry,
                wstg_id,
                &flags_for(tracker.status),
                &tags,
                &tracker.notes,
            )
            .await?)
    }

    /// PATCHes what differs. Our snapshot can be stale (a lead changed the
    /// finding since the last poll): the PATCH answer is the truth, so when
    /// it does not map to the tracker's status we plan once more from it.
    async fn update(
        &self,
        test_id: i64,
        wstg_id: &WstgId,
        snapshot: DojoItem,
        desired: &DesiredItem<'_>,
        tracker: &ItemState,
    ) -> Result<(Applied, DojoItem), WorkError> {
        let mut current = snapshot;
        let mut wrote = false;
        for _ in 0..2 {
            let patch = plan_patch(&current, desired);
            if patch.is_empty() {
                break;
            }
            match self.dojo.patch_finding(current.finding_id, &patch).await {
                Ok(f) => {
                    current = f.to_dojo_item(self.notes_field);
                    wrote = true;
                }
                Err(DojoError::NotFound { .. }) => {
                    // Deleted in DefectDojo: the tracker changed, so the
                    // finding is made again (docs/sync-rules.md).
                    let f = match self.dojo.find_item_finding(test_id, wstg_id).await? {
                        Some(f) => f,
                        None => self.create(test_id, wstg_id, tracker).await?,
                    };
                    let id = f.id;
                    let item = f.to_dojo_item(self.notes_field);
                    if plan_patch(&item, desired).is_empty() {
                        return Ok((Applied::Created { finding_id: id }, item));
                    }
                    current = item;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let id = current.finding_id;
        Ok((
            if wrote {
                Applied::Updated { finding_id: id }
            } else {
                Applied::Matched { finding_id: id }
            },
            current,
        ))
    }

    /// Records a failure that will not be retried.
    pub async fn record_failure(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        event_id: Uuid,
        error: &str,
    ) -> Result<(), WorkError> {
        self.store.mark_failed(project, wstg_id, error).await?;
        let item = self.store.item(project, wstg_id).await?;
        self.store
            .append_audit(&AuditEntry {
                id: Uuid::now_v7(),
                timestamp: Utc::now(),
                project: project.clone(),
                wstg_id: wstg_id.clone(),
                direction: Direction::TrackerToDojo,
                old_status: item
                    .as_ref()
                    .and_then(|i| i.dojo.as_ref())
                    .map(|d| status_of(&d.flags, &d.tags)),
                new_status: item
                    .as_ref()
                    .and_then(|i| i.tracker.as_ref())
                    .map(|t| t.status),
                success: false,
                error_message: Some(error.to_owned()),
                event_id: Some(event_id),
                actor: item.and_then(|i| i.tracker_user),
                finding_id: None,
                conflict: None,
                detail: Some("dead-lettered".to_owned()),
            })
            .await?;
        Ok(())
    }
}

/// The tracker version recorded is the one already pushed.
fn is_pushed(item: &ItemRecord) -> bool {
    item.tracker_event_id.is_some() && item.tracker_event_id == item.pushed_event_id
}
