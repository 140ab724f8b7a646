//! Syncing one item: the domain's sync decision, applied.
//!
//! Both triggers end here: a tracker change (push the tracker's latest
//! recorded state) and a DefectDojo observation from the poller (pull, push,
//! resolve a conflict, or unlink). Every path runs under the item's lease,
//! reads the store afresh, decides with `wstg_domain::sync::decide`, writes
//! at most what differs, then records the result, an audit row and a change
//! notice for the trackers.

use std::time::Duration;

use chrono::{DateTime, Utc};
use dojo_client::{DojoClient, DojoError, Finding, NotesField};
use uuid::Uuid;
use wstg_domain::mapping::{
    desired_tags, flags_for, plan_patch, status_of, DesiredItem, FindingPatch,
};
use wstg_domain::sync::{decide, ItemState, SyncInputs};
use wstg_domain::{
    Catalogue, ConflictPolicy, DojoItem, DojoObservation, Notes, ProjectName, Status, SyncAction,
    WstgId,
};
use wstg_queue::{Feed, Queue};
use wstg_store::{AuditEntry, Direction, ItemRecord, ItemView, Pulled, Pushed, Store};

use crate::bootstrap::Bootstrapper;
use crate::error::WorkError;
use crate::item_lock::ItemLocks;

/// Why an item is being synced.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// The tracker recorded a change: push its latest state.
    TrackerChanged,
    /// The poller saw the item's finding change (or vanish).
    Observed(DojoObservation),
    /// Look again: read the finding from DefectDojo and decide.
    Recheck,
}

/// What syncing an item did, for logs, tests and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Nothing to do: both sides already agree.
    AlreadyInSync,
    Created {
        finding_id: i64,
    },
    Updated {
        finding_id: i64,
    },
    /// DefectDojo already held the tracker's state; only our record changed.
    Matched {
        finding_id: i64,
    },
    /// DefectDojo's state was copied to the tracker.
    Pulled {
        finding_id: i64,
    },
    /// The finding was deleted in DefectDojo and the tracker did not change.
    Unlinked,
    /// The item was written less than the write interval ago: the push is
    /// due at `due` (the caller defers it; changes until then coalesce).
    Deferred {
        due: DateTime<Utc>,
    },
}

impl Applied {
    /// True when DefectDojo was written.
    pub fn wrote(&self) -> bool {
        matches!(self, Applied::Created { .. } | Applied::Updated { .. })
    }
}

#[derive(Clone)]
pub struct Applier {
    pub dojo: DojoClient,
    pub store: Store,
    pub queue: Queue,
    pub locks: ItemLocks,
    pub bootstrap: Bootstrapper,
    pub catalogue: &'static Catalogue,
    pub notes_field: NotesField,
    pub policy: ConflictPolicy,
    /// DefectDojo's base URL, for links in change notices.
    pub dojo_ui: String,
    /// Least time between two writes to one item: changes made in between
    /// are coalesced into the next write (a tester clicking through statuses
    /// makes a handful of DefectDojo writes, not one per click).
    pub min_write_interval: Duration,
    /// How long to wait for another replica to finish with the same item.
    pub lock_wait: Duration,
}

/// What the decision is about, read from the store in one go.
struct Sides {
    record: Option<ItemRecord>,
    tracker: Option<ItemState>,
    tracker_event: Option<Uuid>,
    last_synced: Option<ItemState>,
    /// Our last view of the finding, if the item is linked.
    snapshot: Option<DojoItem>,
}

impl Sides {
    fn of(record: Option<ItemRecord>) -> Sides {
        Sides {
            tracker: record.as_ref().and_then(|r| r.tracker.clone()),
            tracker_event: record.as_ref().and_then(|r| r.tracker_event_id),
            last_synced: record.as_ref().and_then(|r| r.last_synced.clone()),
            snapshot: record
                .as_ref()
                .filter(|r| r.finding_id.is_some())
                .and_then(|r| r.dojo.clone()),
            record,
        }
    }

    /// The tracker version recorded is the one already pushed.
    fn is_pushed(&self) -> bool {
        self.record.as_ref().is_some_and(|r| {
            r.tracker_event_id.is_some() && r.tracker_event_id == r.pushed_event_id
        })
    }
}

fn state_of(d: &DojoItem) -> ItemState {
    ItemState {
        status: status_of(&d.flags, &d.tags),
        notes: Notes::parse(d.notes.clone()).unwrap_or_default(),
    }
}

fn parse_time(t: Option<&str>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// True when `observed` is not older than `known` (DefectDojo bumps
/// `updated` on every save, so an older `updated` is an old reading).
fn is_fresh(observed: &DojoItem, known: &DojoItem) -> bool {
    if observed.finding_id != known.finding_id {
        return true;
    }
    match (
        parse_time(observed.updated.as_deref()),
        parse_time(known.updated.as_deref()),
    ) {
        (Some(o), Some(k)) => o > k,
        _ => observed != known,
    }
}

impl Applier {
    /// Syncs one item under its lease.
    pub async fn sync_item(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        trigger: Trigger,
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
                // Not a DefectDojo failure: the circuit breaker ignores it.
                WorkError::Busy(format!("{wstg_id} is being applied by another worker"))
            })?;
        let result = match self.sync_locked(project, wstg_id, &trigger, event_id).await {
            Err(WorkError::Dojo(e)) if e.is_missing_test() => {
                Err(self.forget_missing_test(project, e).await)
            }
            other => other,
        };
        match &result {
            // A write that timed out may still land: nobody touches the item
            // until it surely has, or a later write could be overtaken by it
            // (or a second finding created next to it).
            Err(e) if e.outcome_unknown() => self.locks.keep(lease).await,
            _ => self.locks.release(lease).await,
        }
        if let Ok(applied) = &result {
            if !matches!(applied, Applied::AlreadyInSync | Applied::Deferred { .. }) {
                self.notify(project, wstg_id).await;
            }
        }
        result
    }

    /// The project's test was deleted in DefectDojo: forget the hierarchy so
    /// the retry bootstraps it again, instead of failing on a stale id.
    async fn forget_missing_test(&self, project: &ProjectName, e: DojoError) -> WorkError {
        self.bootstrap.forget(project).await;
        if let Ok(Some(links)) = self.store.project_links(project).await {
            if let Err(e) = self
                .store
                .forget_project_links(project, links.test_id)
                .await
            {
                tracing::warn!(error = %e, "could not forget the project's links");
            }
        }
        tracing::warn!(%project, "the project's DefectDojo test is gone; it is made again on retry");
        WorkError::Dojo(DojoError::Transient {
            status: e.status(),
            retry_after: None,
            message: format!("the project's DefectDojo test is gone ({e})"),
        })
    }

    /// When the item's next write may happen, if that is in the future (the
    /// last write was less than `min_write_interval` ago).
    fn write_due(&self, sides: &Sides) -> Option<DateTime<Utc>> {
        let interval = chrono::Duration::from_std(self.min_write_interval).unwrap_or_default();
        sides
            .record
            .as_ref()
            .and_then(|r| r.last_sync_at)
            .map(|last| last + interval)
            .filter(|due| *due > Utc::now())
    }

    /// Pushes the tracker's latest recorded state (a tracker change).
    pub async fn push_item(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        event_id: Uuid,
    ) -> Result<Applied, WorkError> {
        self.sync_item(project, wstg_id, Trigger::TrackerChanged, event_id)
            .await
    }

    async fn sync_locked(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        trigger: &Trigger,
        event_id: Uuid,
    ) -> Result<Applied, WorkError> {
        // A pull refused because the tracker changed meanwhile is decided again.
        for _ in 0..3 {
            let sides = Sides::of(self.store.item(project, wstg_id).await?);
            if *trigger == Trigger::TrackerChanged && (sides.record.is_none() || sides.is_pushed())
            {
                return Ok(Applied::AlreadyInSync);
            }
            // Coalescing, decided under the lease so two replicas cannot both
            // find the interval over: too soon after the last write, the push
            // is deferred to the end of the interval.
            if *trigger == Trigger::TrackerChanged {
                if let Some(due) = self.write_due(&sides) {
                    return Ok(Applied::Deferred { due });
                }
            }
            let links = self.bootstrap.links(project).await?;
            let dojo_now = self
                .dojo_side(&sides, trigger, links.test_id, wstg_id)
                .await?;
            let dojo_state = dojo_now.as_ref().map(state_of);
            // Our own late write is not an edit made in DefectDojo (crate::intent).
            let ours = crate::intent::explain(
                &self.queue,
                project,
                wstg_id,
                sides.last_synced.as_ref(),
                dojo_state.as_ref(),
            )
            .await;
            let action = if *trigger == Trigger::TrackerChanged && dojo_now.is_none() {
                // The tester acted and there is no finding: make it.
                wstg_domain::sync::Decision {
                    action: SyncAction::PushToDojo,
                    conflict: None,
                }
            } else {
                decide(
                    SyncInputs {
                        tracker: sides.tracker.as_ref(),
                        dojo: dojo_state.as_ref(),
                        last_synced: ours.as_ref().or(sides.last_synced.as_ref()),
                        tracker_changed_at: sides
                            .record
                            .as_ref()
                            .and_then(|r| r.tracker_changed_at),
                        dojo_changed_at: dojo_now.as_ref().and_then(|d| {
                            parse_time(d.last_status_update.as_deref())
                                .or(parse_time(d.updated.as_deref()))
                        }),
                    },
                    self.policy,
                )
            };
            tracing::debug!(?trigger, ?action, "sync decision");
            let outcome = match action.action {
                SyncAction::NoOp => match (dojo_now, dojo_state) {
                    (Some(d), Some(state))
                        if sides.snapshot.as_ref() != Some(&d) || !synced(&sides) =>
                    {
                        if !self
                            .record_pull(project, wstg_id, &d, state, &sides, None, false)
                            .await?
                        {
                            continue;
                        }
                        Applied::Matched {
                            finding_id: d.finding_id,
                        }
                    }
                    _ => Applied::AlreadyInSync,
                },
                SyncAction::PullToTracker => {
                    let (Some(d), Some(state)) = (dojo_now, dojo_state) else {
                        return Ok(Applied::AlreadyInSync);
                    };
                    if !self
                        .record_pull(project, wstg_id, &d, state, &sides, action.conflict, true)
                        .await?
                    {
                        continue;
                    }
                    Applied::Pulled {
                        finding_id: d.finding_id,
                    }
                }
                SyncAction::Unlink => {
                    self.store.unlink(project, wstg_id).await?;
                    self.audit(
                        project,
                        wstg_id,
                        &sides,
                        Direction::DojoToTracker,
                        sides.tracker.as_ref().map(|t| t.status),
                        sides.tracker.as_ref().map(|t| t.status),
                        None,
                        sides.snapshot.as_ref().map(|s| s.finding_id),
                        None,
                        "finding deleted in DefectDojo: unlinked; the next tracker change re-creates it",
                    )
                    .await?;
                    Applied::Unlinked
                }
                SyncAction::PushToDojo => {
                    let Some(tracker) = sides.tracker.clone() else {
                        return Ok(Applied::AlreadyInSync);
                    };
                    let sent = tracker.clone();
                    let pushed = self
                        .push(
                            project,
                            wstg_id,
                            links.test_id,
                            &sides,
                            tracker,
                            dojo_now,
                            action.conflict,
                            event_id,
                        )
                        .await;
                    crate::intent::note(&self.queue, project, wstg_id, &sent, pushed).await?
                }
            };
            return Ok(outcome);
        }
        Err(WorkError::Dojo(DojoError::Transient {
            status: None,
            retry_after: None,
            message: format!("{wstg_id} kept changing in the tracker while being synced"),
        }))
    }

    /// DefectDojo's side of the item for this decision.
    async fn dojo_side(
        &self,
        sides: &Sides,
        trigger: &Trigger,
        test_id: i64,
        wstg_id: &WstgId,
    ) -> Result<Option<DojoItem>, WorkError> {
        Ok(match trigger {
            Trigger::Observed(DojoObservation::Present(o)) => match &sides.snapshot {
                Some(known) if !is_fresh(o, known) => Some(known.clone()),
                _ => Some(o.clone()),
            },
            Trigger::Observed(DojoObservation::Deleted { finding_id }) => match &sides.snapshot {
                Some(s) if s.finding_id == *finding_id => None,
                other => other.clone(),
            },
            Trigger::TrackerChanged => match &sides.snapshot {
                Some(s) => Some(s.clone()),
                None => self.find(test_id, wstg_id).await?,
            },
            Trigger::Recheck => match &sides.snapshot {
                Some(s) => match self.dojo.get_finding(s.finding_id).await {
                    Ok(f) => Some(f.to_dojo_item(self.notes_field)),
                    Err(DojoError::NotFound { .. }) => None,
                    Err(e) => return Err(e.into()),
                },
                None => self.find(test_id, wstg_id).await?,
            },
        })
    }

    async fn find(&self, test_id: i64, wstg_id: &WstgId) -> Result<Option<DojoItem>, WorkError> {
        Ok(self
            .dojo
            .find_item_finding(test_id, wstg_id)
            .await?
            .map(|f| f.to_dojo_item(self.notes_field)))
    }

    /// Copies DefectDojo's state to the tracker side. False when the tracker
    /// changed since `sides` was read (nothing was written).
    #[allow(clippy::too_many_arguments)]
    async fn record_pull(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        dojo: &DojoItem,
        state: ItemState,
        sides: &Sides,
        conflict: Option<ConflictPolicy>,
        audit: bool,
    ) -> Result<bool, WorkError> {
        let new_status = state.status;
        let applied = self
            .store
            .mark_pulled(
                project,
                wstg_id,
                &Pulled {
                    finding_id: dojo.finding_id,
                    dojo: dojo.clone(),
                    synced: state,
                    at: Utc::now(),
                    seen_tracker_event_id: sides.tracker_event,
                },
            )
            .await?;
        if applied && audit {
            self.audit(
                project,
                wstg_id,
                sides,
                Direction::DojoToTracker,
                sides.tracker.as_ref().map(|t| t.status),
                Some(new_status),
                None,
                Some(dojo.finding_id),
                conflict,
                if conflict.is_some() {
                    "conflict: both sides changed; DefectDojo's state kept"
                } else {
                    "DefectDojo change copied to the tracker"
                },
            )
            .await?;
        }
        Ok(applied)
    }

    /// Writes the tracker's state to DefectDojo (create or PATCH).
    #[allow(clippy::too_many_arguments)]
    async fn push(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        test_id: i64,
        sides: &Sides,
        tracker: ItemState,
        dojo_now: Option<DojoItem>,
        conflict: Option<ConflictPolicy>,
        event_id: Uuid,
    ) -> Result<Applied, WorkError> {
        let old_status = dojo_now.as_ref().map(|d| status_of(&d.flags, &d.tags));
        let desired = DesiredItem {
            wstg_id,
            status: tracker.status,
            notes: &tracker.notes,
        };
        let (outcome, after) = match dojo_now {
            None => {
                let f = self.create(test_id, wstg_id, &tracker).await?;
                (
                    Applied::Created { finding_id: f.id },
                    f.to_dojo_item(self.notes_field),
                )
            }
            Some(current) => {
                self.update(test_id, wstg_id, current, &desired, &tracker)
                    .await?
            }
        };
        // The PATCH answer is the truth: if it does not say what the tracker
        // says, DefectDojo changed after our last reading (a lead acted
        // between two polls). That is a conflict, settled by the policy.
        let dojo_after = state_of(&after);
        if dojo_after != tracker {
            // Unless the difference is our own late write (crate::intent).
            let ours =
                crate::intent::explains(&self.queue, project, wstg_id, &tracker, &dojo_after).await;
            let dojo_newer = !ours
                && match self.policy {
                    ConflictPolicy::DojoWins => true,
                    ConflictPolicy::TrackerWins => false,
                    ConflictPolicy::NewestWins => {
                        let t = sides.record.as_ref().and_then(|r| r.tracker_changed_at);
                        let d = parse_time(after.last_status_update.as_deref())
                            .or(parse_time(after.updated.as_deref()));
                        !matches!((t, d), (Some(t), Some(d)) if t > d)
                    }
                };
            if dojo_newer {
                // Keep DefectDojo's state; put the status tag back in line
                // with it (we just wrote the tracker's).
                let fixed = self.align_tag(wstg_id, &after).await?;
                let state = state_of(&fixed);
                if self
                    .record_pull(
                        project,
                        wstg_id,
                        &fixed,
                        state,
                        sides,
                        Some(self.policy),
                        true,
                    )
                    .await?
                {
                    return Ok(Applied::Pulled {
                        finding_id: fixed.finding_id,
                    });
                }
                return Ok(Applied::AlreadyInSync);
            }
            // The tracker wins: write its state over DefectDojo's.
            let patch = plan_patch(&after, &desired);
            let f = self.dojo.patch_finding(after.finding_id, &patch).await?;
            let after = f.to_dojo_item(self.notes_field);
            return self
                .record_push(
                    project,
                    wstg_id,
                    sides,
                    tracker,
                    after,
                    old_status,
                    Some(self.policy),
                    event_id,
                    Applied::Updated { finding_id: f.id },
                )
                .await;
        }
        self.record_push(
            project, wstg_id, sides, tracker, after, old_status, conflict, event_id, outcome,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_push(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        sides: &Sides,
        tracker: ItemState,
        after: DojoItem,
        old_status: Option<Status>,
        conflict: Option<ConflictPolicy>,
        event_id: Uuid,
        outcome: Applied,
    ) -> Result<Applied, WorkError> {
        let Some(tracker_event) = sides.tracker_event else {
            // A pushed state with no tracker version: only reachable when a
            // conflict made the tracker win for an item DefectDojo created.
            return Ok(outcome);
        };
        let new_status = tracker.status;
        self.store
            .mark_pushed(
                project,
                wstg_id,
                &Pushed {
                    finding_id: after.finding_id,
                    dojo: after.clone(),
                    synced: tracker,
                    pushed_event_id: tracker_event,
                    at: Utc::now(),
                },
            )
            .await?;
        if !matches!(outcome, Applied::Matched { .. })
            || old_status != Some(new_status)
            || conflict.is_some()
        {
            self.audit(
                project,
                wstg_id,
                sides,
                Direction::TrackerToDojo,
                old_status,
                Some(new_status),
                Some(event_id),
                Some(after.finding_id),
                conflict,
                match (conflict, outcome) {
                    (Some(_), _) => "conflict: both sides changed; the tracker's state kept",
                    (None, Applied::Created { .. }) => "finding created",
                    (None, Applied::Updated { .. }) => "finding updated",
                    _ => "finding already matched",
                },
            )
            .await?;
        }
        Ok(outcome)
    }

    /// Makes the finding. A finding carries the `wstg` and id tags; where
    /// DefectDojo holds those tags in another case (written by the original
    /// design), writing them makes it answer 500 (FACTS §7), so the finding
    /// is made with the status tag only and found by its unique id.
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
        let flags = flags_for(tracker.status);
        let tags = desired_tags(&[], wstg_id, tracker.status);
        match self
            .dojo
            .create_item_finding(test_id, entry, wstg_id, &flags, &tags, &tracker.notes)
            .await
        {
            Err(DojoError::Permanent { status: 500, .. }) => {
                tracing::warn!(%wstg_id, "create refused with 500 (tag case twin); creating with the status tag only");
                let status_only = vec![wstg_domain::mapping::status_tag(tracker.status)];
                Ok(self
                    .dojo
                    .create_item_finding(
                        test_id,
                        entry,
                        wstg_id,
                        &flags,
                        &status_only,
                        &tracker.notes,
                    )
                    .await?)
            }
            other => Ok(other?),
        }
    }

    /// PATCHes what differs from our view of the finding. A deleted finding
    /// (404) is made again, since the tracker changed. A 400 may come from a
    /// stale view (DefectDojo validates the merged state): the finding is
    /// read once and the PATCH planned again.
    async fn update(
        &self,
        test_id: i64,
        wstg_id: &WstgId,
        snapshot: DojoItem,
        desired: &DesiredItem<'_>,
        tracker: &ItemState,
    ) -> Result<(Applied, DojoItem), WorkError> {
        let mut current = snapshot;
        let mut reread = false;
        loop {
            let patch = plan_patch(&current, desired);
            if patch.is_empty() {
                let id = current.finding_id;
                return Ok((Applied::Matched { finding_id: id }, current));
            }
            match self.dojo.patch_finding(current.finding_id, &patch).await {
                Ok(f) => {
                    return Ok((
                        Applied::Updated { finding_id: f.id },
                        f.to_dojo_item(self.notes_field),
                    ))
                }
                Err(DojoError::NotFound { .. }) => break,
                Err(DojoError::Permanent { status: 400, .. }) if !reread => {
                    reread = true;
                    match self.dojo.get_finding(current.finding_id).await {
                        Ok(f) => current = f.to_dojo_item(self.notes_field),
                        Err(DojoError::NotFound { .. }) => break,
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        // Deleted in DefectDojo: find it again (someone may have re-made
        // it), else make it anew (docs/sync-rules.md).
        match self.find(test_id, wstg_id).await? {
            Some(found) => {
                let patch: FindingPatch = plan_patch(&found, desired);
                if patch.is_empty() {
                    return Ok((
                        Applied::Matched {
                            finding_id: found.finding_id,
                        },
                        found,
                    ));
                }
                let f = self.dojo.patch_finding(found.finding_id, &patch).await?;
                Ok((
                    Applied::Updated { finding_id: f.id },
                    f.to_dojo_item(self.notes_field),
                ))
            }
            None => {
                let f = self.create(test_id, wstg_id, tracker).await?;
                Ok((
                    Applied::Created { finding_id: f.id },
                    f.to_dojo_item(self.notes_field),
                ))
            }
        }
    }

    /// Rewrites the status tag to match the finding's flags, if it does not.
    async fn align_tag(&self, wstg_id: &WstgId, after: &DojoItem) -> Result<DojoItem, WorkError> {
        let status = status_of(&after.flags, &after.tags);
        let tags = desired_tags(&after.tags, wstg_id, status);
        if wstg_domain::mapping::same_tags(&tags, &after.tags) {
            return Ok(after.clone());
        }
        let patch = FindingPatch {
            tags: Some(tags),
            ..FindingPatch::default()
        };
        let f = self.dojo.patch_finding(after.finding_id, &patch).await?;
        Ok(f.to_dojo_item(self.notes_field))
    }

    #[allow(clippy::too_many_arguments)]
    async fn audit(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        sides: &Sides,
        direction: Direction,
        old_status: Option<Status>,
        new_status: Option<Status>,
        event_id: Option<Uuid>,
        finding_id: Option<i64>,
        conflict: Option<ConflictPolicy>,
        detail: &str,
    ) -> Result<(), WorkError> {
        // Who made the change: the tester (as read under the lease), or DefectDojo.
        let actor = match direction {
            Direction::TrackerToDojo => sides.record.as_ref().and_then(|r| r.tracker_user.clone()),
            Direction::DojoToTracker => Some("defectdojo".to_owned()),
        };
        self.store
            .append_audit(&AuditEntry {
                id: Uuid::now_v7(),
                timestamp: Utc::now(),
                project: project.clone(),
                wstg_id: wstg_id.clone(),
                direction,
                old_status,
                new_status,
                success: true,
                error_message: None,
                event_id,
                actor,
                finding_id,
                conflict: conflict.map(|c| c.as_str().to_owned()),
                detail: Some(detail.to_owned()),
            })
            .await?;
        Ok(())
    }

    /// Tells the trackers (server-sent events) what the item looks like now.
    /// Best effort: a tracker that misses a notice reads the item on reconnect.
    pub async fn notify(&self, project: &ProjectName, wstg_id: &WstgId) {
        let Some(entry) = self.catalogue.entry(wstg_id) else {
            return;
        };
        let record = match self.store.item(project, wstg_id).await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, "no change notice: store unavailable");
                return;
            }
        };
        let view = ItemView::new(project, entry, record.as_ref(), &self.dojo_ui);
        match serde_json::to_string(&view) {
            Ok(json) => {
                if let Err(e) = self.queue.publish_feed(Feed::Changes, &json).await {
                    tracing::debug!(error = %e, "change notice not published");
                }
            }
            Err(e) => tracing::debug!(error = %e, "change notice not encoded"),
        }
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
        self.notify(project, wstg_id).await;
        Ok(())
    }
}

/// True when the store already counts the item as synced.
fn synced(sides: &Sides) -> bool {
    sides
        .record
        .as_ref()
        .is_some_and(|r| r.sync_state == wstg_store::SyncState::Synced)
}
