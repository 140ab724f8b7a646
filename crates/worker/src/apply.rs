//! Syncing one item: load its inputs, ask the planner, carry the plan out,
//! ask the planner what DefectDojo's answer means, record.
//!
//! Every decision is `wstg_domain::sync`'s (`plan`, `interpret`); this file
//! only reads, writes and records, under the item's lease. Each DefectDojo
//! write is recorded in Redis before it is sent (crate::intent) and
//! forgotten once its answer is known good, so a write that failed, half
//! landed or lands late is recognised as ours by the planner.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use dojo_client::{DojoClient, DojoError, NotesField};
use uuid::Uuid;
use wstg_domain::mapping::{status_of, FindingPatch, BRIDGE_TAG};
use wstg_domain::sync::{
    interpret, plan, Answer, Audit, DojoRead, InFlightWrite, Plan, PlanInput, Read, RecordSide,
    RecordedAs, Verdict, WriteKind,
};
use wstg_domain::{Catalogue, ConflictPolicy, DojoItem, ItemState, Notes, ProjectName, WstgId};
use wstg_queue::{Feed, Queue};
use wstg_store::{AuditEntry, Direction, ItemRecord, ItemView, Pulled, Pushed, Store};

use crate::bootstrap::Bootstrapper;
use crate::error::WorkError;
use crate::intent;
use crate::item_lock::ItemLocks;

pub use wstg_domain::sync::Trigger;

/// Steps one sync may take (reads, writes, re-plans) before it gives up
/// and retries later: a bound, never reached by a sane DefectDojo.
const MAX_STEPS: usize = 8;

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
        due: chrono::DateTime<Utc>,
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
    /// The bridge tag, once DefectDojo refused it for a case twin (the
    /// original design's "WSTG" row): every finding carries it, so one
    /// refusal says it for all, and later writes leave it out from the start
    /// instead of each paying a 500 first. Per process, for its lifetime.
    pub bridge_tag_refused: Arc<AtomicBool>,
}

/// The store's record, as the planner sees it.
fn record_side(r: &ItemRecord) -> RecordSide {
    RecordSide {
        tracker: r.tracker.clone(),
        tracker_changed_at: r.tracker_changed_at,
        tracker_pushed: r.tracker_event_id.is_some() && r.tracker_event_id == r.pushed_event_id,
        last_synced: r.last_synced.clone(),
        snapshot: r.finding_id.and(r.dojo.clone()),
        last_write_at: r.last_sync_at,
        in_sync: r.sync_state == wstg_store::SyncState::Synced,
    }
}

fn direction(d: wstg_domain::sync::Direction) -> Direction {
    match d {
        wstg_domain::sync::Direction::TrackerToDojo => Direction::TrackerToDojo,
        wstg_domain::sync::Direction::DojoToTracker => Direction::DojoToTracker,
    }
}

/// What a DefectDojo call's result is, for the planner; the error is kept
/// to be returned if the verdict is a failure.
fn answer_of(result: Result<DojoItem, DojoError>) -> (Answer, Option<DojoError>) {
    match result {
        Ok(d) => (Answer::Saved(d), None),
        Err(e) => {
            let answer = match &e {
                DojoError::NotFound { .. } => Answer::NotFound,
                DojoError::Permanent { status: 400, .. } => Answer::Invalid,
                e if e.is_tag_collision() => Answer::TagCollision,
                e if e.never_sent() => Answer::NotSent,
                e if e.outcome_unknown() => Answer::OutcomeUnknown,
                _ => Answer::Failed,
            };
            (answer, Some(e))
        }
    }
}

/// The inputs that change while one item is synced.
struct Step {
    record: Option<ItemRecord>,
    dojo: DojoRead,
    in_flight: Vec<InFlightWrite>,
    avoid_tags: Vec<String>,
    /// Intents recorded by this sync, forgotten when it ends well.
    written: Vec<Uuid>,
}

/// A write to carry out.
struct Write {
    kind: WriteKind,
    sent: ItemState,
    tags: Option<Vec<String>>,
    audit: Audit,
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
        let work = self.sync_locked(project, wstg_id, &trigger, event_id);
        let result = match self
            .locks
            .hold_during(&lease, work)
            .await
            .unwrap_or_else(|lost| {
                // Another worker has the item now; a retry finds it done.
                Err(WorkError::Busy(format!("{wstg_id}: {lost}")))
            }) {
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
        WorkError::Retry(format!("the project's DefectDojo test is gone ({e})"))
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

    /// load → plan → execute → interpret → record, until the plan is carried out.
    async fn sync_locked(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        trigger: &Trigger,
        event_id: Uuid,
    ) -> Result<Applied, WorkError> {
        let mut step = Step {
            record: self.store.item(project, wstg_id).await?,
            dojo: DojoRead::NotRead,
            in_flight: intent::load(&self.queue, project, wstg_id).await?,
            avoid_tags: if self.bridge_tag_refused.load(Ordering::Relaxed) {
                vec![BRIDGE_TAG.to_owned()]
            } else {
                Vec::new()
            },
            written: Vec::new(),
        };
        for _ in 0..MAX_STEPS {
            let input = PlanInput {
                wstg_id: wstg_id.clone(),
                trigger: trigger.clone(),
                record: step.record.as_ref().map(record_side),
                dojo: step.dojo.clone(),
                in_flight: step.in_flight.clone(),
                avoid_tags: step.avoid_tags.clone(),
                policy: self.policy,
                now: Utc::now(),
                write_interval: chrono::Duration::from_std(self.min_write_interval)
                    .unwrap_or_default(),
            };
            let planned = plan(&input);
            tracing::debug!(?trigger, ?planned, "sync plan");
            let done = match planned {
                Plan::NoOp => Some(Applied::AlreadyInSync),
                Plan::Defer { due } => Some(Applied::Deferred { due }),
                Plan::Read(read) => {
                    step.dojo = self.read(project, wstg_id, &read).await?;
                    None
                }
                Plan::Create {
                    sent,
                    flags,
                    tags,
                    audit,
                } => {
                    let test_id = self.bootstrap.links(project).await?.test_id;
                    let catalogue = self.bootstrap.catalogues().of(project).await?;
                    let entry = catalogue.entry(wstg_id).ok_or_else(|| {
                        WorkError::Permanent(format!(
                            "{wstg_id} is not in the {} catalogue",
                            catalogue.version().label()
                        ))
                    })?;
                    let write = Write {
                        kind: WriteKind::Create,
                        sent: sent.clone(),
                        tags: Some(tags.clone()),
                        audit,
                    };
                    let intent = self
                        .write_ahead(project, wstg_id, &write, &mut step)
                        .await?;
                    let result = self
                        .dojo
                        .create_item_finding(test_id, entry, wstg_id, &flags, &tags, &sent.notes)
                        .await
                        .map(|f| f.to_dojo_item(self.notes_field));
                    self.after_write(project, wstg_id, write, intent, result, event_id, &mut step)
                        .await?
                }
                Plan::Patch {
                    finding_id,
                    patch,
                    sent,
                    audit,
                } => {
                    let write = Write {
                        kind: WriteKind::Patch { finding_id },
                        sent: sent.clone(),
                        tags: patch.tags.clone(),
                        audit,
                    };
                    let intent = self
                        .write_ahead_patch(project, wstg_id, &write, &patch, &mut step)
                        .await?;
                    let result = self
                        .dojo
                        .patch_finding(finding_id, &patch)
                        .await
                        .map(|f| f.to_dojo_item(self.notes_field));
                    self.after_write(project, wstg_id, write, intent, result, event_id, &mut step)
                        .await?
                }
                Plan::Pull {
                    dojo,
                    state,
                    align,
                    audit,
                } => {
                    let dojo = match align {
                        Some(align) => {
                            self.align(project, wstg_id, dojo, &state, align, &mut step)
                                .await?
                        }
                        None => dojo,
                    };
                    self.record_pull(project, wstg_id, &dojo, state, &audit, &mut step)
                        .await?
                }
                Plan::Link {
                    dojo,
                    state,
                    recorded_as,
                    audit,
                } => {
                    self.record_link(
                        project,
                        wstg_id,
                        dojo,
                        state,
                        recorded_as,
                        audit,
                        event_id,
                        &mut step,
                    )
                    .await?
                }
                Plan::Unlink { audit } => {
                    self.store.unlink(project, wstg_id).await?;
                    self.audit(project, wstg_id, &step, &audit, None, None)
                        .await?;
                    Some(Applied::Unlinked)
                }
            };
            if let Some(applied) = done {
                self.forget_written(project, wstg_id, &step).await;
                return Ok(applied);
            }
        }
        Err(WorkError::Retry(format!(
            "{wstg_id} kept changing while being synced"
        )))
    }

    /// Reads DefectDojo for the planner.
    async fn read(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        read: &Read,
    ) -> Result<DojoRead, WorkError> {
        Ok(match read {
            Read::Finding(id) => match self.dojo.get_finding(*id).await {
                Ok(f) => DojoRead::Present(f.to_dojo_item(self.notes_field)),
                Err(DojoError::NotFound { .. }) => DojoRead::Absent,
                Err(e) => return Err(e.into()),
            },
            Read::Search => {
                let test_id = self.bootstrap.links(project).await?.test_id;
                match self.dojo.find_item_finding(test_id, wstg_id).await? {
                    Some(f) => DojoRead::Present(f.to_dojo_item(self.notes_field)),
                    None => DojoRead::Absent,
                }
            }
        })
    }

    /// Records a create before it is sent. A write that cannot be recorded
    /// is not sent (Redis being away is retried like any outage).
    async fn write_ahead(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        write: &Write,
        step: &mut Step,
    ) -> Result<InFlightWrite, WorkError> {
        let intent = InFlightWrite {
            id: Uuid::now_v7(),
            finding_id: match write.kind {
                WriteKind::Create => None,
                WriteKind::Patch { finding_id } | WriteKind::Align { finding_id } => {
                    Some(finding_id)
                }
            },
            status: Some(write.sent.status),
            notes: Some(write.sent.notes.clone()),
            tags: write.tags.clone(),
            sent_at: Utc::now(),
        };
        intent::record(&self.queue, project, wstg_id, &intent).await?;
        step.written.push(intent.id);
        Ok(intent)
    }

    /// Records a PATCH before it is sent: only the fields it carries.
    async fn write_ahead_patch(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        write: &Write,
        patch: &FindingPatch,
        step: &mut Step,
    ) -> Result<InFlightWrite, WorkError> {
        let intent = self.write_ahead_fields(write, patch);
        intent::record(&self.queue, project, wstg_id, &intent).await?;
        step.written.push(intent.id);
        Ok(intent)
    }

    fn write_ahead_fields(&self, write: &Write, patch: &FindingPatch) -> InFlightWrite {
        InFlightWrite {
            id: Uuid::now_v7(),
            finding_id: match write.kind {
                WriteKind::Patch { finding_id } | WriteKind::Align { finding_id } => {
                    Some(finding_id)
                }
                WriteKind::Create => None,
            },
            status: (patch.changes_status() || patch.tags.is_some()).then_some(write.sent.status),
            notes: patch
                .notes
                .as_ref()
                .and_then(|n| Notes::parse(n.clone()).ok()),
            tags: patch.tags.clone(),
            sent_at: Utc::now(),
        }
    }

    /// What the answer to a create or PATCH means, acted on. `Some` when
    /// the sync is over.
    #[allow(clippy::too_many_arguments)]
    async fn after_write(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        write: Write,
        intent: InFlightWrite,
        result: Result<DojoItem, DojoError>,
        event_id: Uuid,
        step: &mut Step,
    ) -> Result<Option<Applied>, WorkError> {
        let (answer, error) = answer_of(result);
        let verdict = interpret(
            write.kind,
            &write.sent,
            write.tags.as_deref(),
            &step.avoid_tags,
            answer,
        );
        tracing::debug!(?verdict, "write answer");
        let fail = |error: Option<DojoError>| -> WorkError {
            error
                .map(WorkError::Dojo)
                .unwrap_or_else(|| WorkError::Permanent("DefectDojo refused the write".to_owned()))
        };
        match verdict {
            Verdict::Done { after } => {
                let applied = match write.kind {
                    WriteKind::Create => Applied::Created {
                        finding_id: after.finding_id,
                    },
                    _ => Applied::Updated {
                        finding_id: after.finding_id,
                    },
                };
                self.record_push(
                    project,
                    wstg_id,
                    after,
                    write.sent,
                    &write.audit,
                    applied,
                    event_id,
                    step,
                )
                .await
                .map(Some)
            }
            Verdict::Replan { dojo } => {
                // The answer holds this write and something more: planned
                // again with this write among ours, so only what none of our
                // writes explains counts as DefectDojo's own change.
                step.in_flight.push(intent);
                step.dojo = dojo;
                Ok(None)
            }
            Verdict::Reread {
                read,
                avoid_tags,
                warning,
            } => {
                // The write may have half landed: it stays remembered, and
                // the planner reads what DefectDojo holds with it in mind.
                step.in_flight.push(intent);
                if let Some(warning) = warning {
                    tracing::warn!(%project, %wstg_id, "{warning}");
                    self.audit(
                        project,
                        wstg_id,
                        step,
                        &Audit {
                            detail: warning,
                            conflict: None,
                            ..write.audit.clone()
                        },
                        Some(event_id),
                        None,
                    )
                    .await?;
                }
                if avoid_tags
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(BRIDGE_TAG))
                {
                    self.bridge_tag_refused.store(true, Ordering::Relaxed);
                }
                step.avoid_tags = avoid_tags;
                step.dojo = self.read(project, wstg_id, &read).await?;
                Ok(None)
            }
            Verdict::InFlight => Err(fail(error)),
            Verdict::Failed | Verdict::GiveUpAlign { .. } => {
                self.forget(project, wstg_id, intent.id, step).await;
                Err(fail(error))
            }
        }
    }

    /// The one status-tag write after a pull. Best effort: the pull stands
    /// without it.
    async fn align(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        dojo: DojoItem,
        state: &ItemState,
        align: FindingPatch,
        step: &mut Step,
    ) -> Result<DojoItem, WorkError> {
        let write = Write {
            kind: WriteKind::Align {
                finding_id: dojo.finding_id,
            },
            sent: state.clone(),
            tags: align.tags.clone(),
            audit: Audit {
                direction: wstg_domain::sync::Direction::DojoToTracker,
                old_status: None,
                new_status: Some(state.status),
                conflict: None,
                detail: String::new(),
            },
        };
        let intent = self
            .write_ahead_patch(project, wstg_id, &write, &align, step)
            .await?;
        let result = self
            .dojo
            .patch_finding(dojo.finding_id, &align)
            .await
            .map(|f| f.to_dojo_item(self.notes_field));
        let (answer, error) = answer_of(result);
        match interpret(
            write.kind,
            state,
            write.tags.as_deref(),
            &step.avoid_tags,
            answer,
        ) {
            Verdict::Done { after } => Ok(after),
            Verdict::InFlight => Err(error.map(WorkError::Dojo).unwrap_or_else(|| {
                WorkError::Retry("the status tag write has an unknown outcome".to_owned())
            })),
            Verdict::GiveUpAlign { warning } => {
                // It may have wiped the tags: remembered, so the next
                // reading is recognised as ours.
                step.written.retain(|id| *id != intent.id);
                tracing::warn!(%project, %wstg_id, "{warning}");
                Ok(dojo)
            }
            other => {
                tracing::warn!(%project, %wstg_id, verdict = ?other, error = ?error, "status tag not aligned");
                self.forget(project, wstg_id, intent.id, step).await;
                Ok(dojo)
            }
        }
    }

    /// Forgets one intent now (its outcome is known).
    async fn forget(&self, project: &ProjectName, wstg_id: &WstgId, id: Uuid, step: &mut Step) {
        step.written.retain(|w| *w != id);
        if let Err(e) = intent::clear(&self.queue, project, wstg_id, id).await {
            // It expires by itself; until then it only makes the planner
            // more careful.
            tracing::debug!(error = %e, "intent not cleared");
        }
    }

    /// The sync ended well: every write it made is settled.
    async fn forget_written(&self, project: &ProjectName, wstg_id: &WstgId, step: &Step) {
        for id in &step.written {
            if let Err(e) = intent::clear(&self.queue, project, wstg_id, *id).await {
                tracing::debug!(error = %e, "intent not cleared");
            }
        }
    }

    /// Reloads the record after the store refused a pull (the tracker changed).
    async fn reload(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        step: &mut Step,
    ) -> Result<(), WorkError> {
        step.record = self.store.item(project, wstg_id).await?;
        Ok(())
    }

    /// Copies DefectDojo's state to the tracker side; `None` (plan again)
    /// when the tracker changed since the record was read.
    async fn record_pull(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        dojo: &DojoItem,
        state: ItemState,
        audit: &Audit,
        step: &mut Step,
    ) -> Result<Option<Applied>, WorkError> {
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
                    seen_tracker_event_id: step.record.as_ref().and_then(|r| r.tracker_event_id),
                },
            )
            .await?;
        if !applied {
            self.reload(project, wstg_id, step).await?;
            step.dojo = DojoRead::Present(dojo.clone());
            return Ok(None);
        }
        self.audit(project, wstg_id, step, audit, None, Some(dojo.finding_id))
            .await?;
        self.conflict_state(project, wstg_id, audit).await?;
        Ok(Some(Applied::Pulled {
            finding_id: dojo.finding_id,
        }))
    }

    /// Both sides agree: records the link and snapshot.
    #[allow(clippy::too_many_arguments)]
    async fn record_link(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        dojo: DojoItem,
        state: ItemState,
        recorded_as: RecordedAs,
        audit: Option<Audit>,
        event_id: Uuid,
        step: &mut Step,
    ) -> Result<Option<Applied>, WorkError> {
        let matched = Applied::Matched {
            finding_id: dojo.finding_id,
        };
        let tracker_event = step.record.as_ref().and_then(|r| r.tracker_event_id);
        match (recorded_as, tracker_event) {
            (RecordedAs::Pushed, Some(_)) => {
                let audit = audit.unwrap_or(Audit {
                    direction: wstg_domain::sync::Direction::TrackerToDojo,
                    old_status: None,
                    new_status: None,
                    conflict: None,
                    detail: String::new(),
                });
                self.record_push(
                    project, wstg_id, dojo, state, &audit, matched, event_id, step,
                )
                .await
                .map(Some)
            }
            _ => {
                let audit = audit.unwrap_or(Audit {
                    direction: wstg_domain::sync::Direction::DojoToTracker,
                    old_status: None,
                    new_status: None,
                    conflict: None,
                    detail: String::new(),
                });
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
                            seen_tracker_event_id: tracker_event,
                        },
                    )
                    .await?;
                if !applied {
                    self.reload(project, wstg_id, step).await?;
                    step.dojo = DojoRead::Present(dojo);
                    return Ok(None);
                }
                self.audit(project, wstg_id, step, &audit, None, Some(dojo.finding_id))
                    .await?;
                Ok(Some(matched))
            }
        }
    }

    /// Records a write of the tracker's state (or a match with it).
    #[allow(clippy::too_many_arguments)]
    async fn record_push(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        after: DojoItem,
        sent: ItemState,
        audit: &Audit,
        applied: Applied,
        event_id: Uuid,
        step: &mut Step,
    ) -> Result<Applied, WorkError> {
        let Some(tracker_event) = step.record.as_ref().and_then(|r| r.tracker_event_id) else {
            // A pushed state with no tracker version: only reachable when a
            // conflict made the tracker win for an item DefectDojo created.
            return Ok(applied);
        };
        self.store
            .mark_pushed(
                project,
                wstg_id,
                &Pushed {
                    finding_id: after.finding_id,
                    dojo: after.clone(),
                    synced: sent,
                    pushed_event_id: tracker_event,
                    at: Utc::now(),
                },
            )
            .await?;
        self.audit(
            project,
            wstg_id,
            step,
            audit,
            Some(event_id),
            Some(after.finding_id),
        )
        .await?;
        self.conflict_state(project, wstg_id, audit).await?;
        Ok(applied)
    }

    /// A conflict settled by the policy leaves the item `conflict` (counted
    /// in the status) until its next sync without one: the losing side's
    /// change was discarded, and a person may want to look.
    async fn conflict_state(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        audit: &Audit,
    ) -> Result<(), WorkError> {
        if let Some(policy) = audit.conflict {
            self.store.mark_conflict(project, wstg_id).await?;
            crate::metrics::conflict(policy);
        }
        Ok(())
    }

    /// Appends the plan's audit row (none for an empty detail).
    async fn audit(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        step: &Step,
        audit: &Audit,
        event_id: Option<Uuid>,
        finding_id: Option<i64>,
    ) -> Result<(), WorkError> {
        if audit.detail.is_empty() {
            return Ok(());
        }
        let direction = direction(audit.direction);
        // Who made the change: the tester (as read under the lease), or DefectDojo.
        let actor = match direction {
            Direction::TrackerToDojo => step.record.as_ref().and_then(|r| r.tracker_user.clone()),
            Direction::DojoToTracker => Some("defectdojo".to_owned()),
        };
        let finding_id = finding_id.or_else(|| step.record.as_ref().and_then(|r| r.finding_id));
        self.store
            .append_audit(&AuditEntry {
                id: Uuid::now_v7(),
                timestamp: Utc::now(),
                project: project.clone(),
                wstg_id: wstg_id.clone(),
                direction,
                old_status: audit.old_status,
                new_status: audit.new_status,
                success: true,
                error_message: None,
                event_id: if direction == Direction::TrackerToDojo {
                    event_id
                } else {
                    None
                },
                actor,
                finding_id,
                conflict: audit.conflict.map(|c| c.as_str().to_owned()),
                detail: Some(audit.detail.clone()),
            })
            .await?;
        Ok(())
    }

    /// Tells the trackers (server-sent events) what the item looks like now.
    /// Best effort: a tracker that misses a notice reads the item on reconnect.
    pub async fn notify(&self, project: &ProjectName, wstg_id: &WstgId) {
        let Ok(catalogue) = self.bootstrap.catalogues().of(project).await else {
            return;
        };
        let Some(entry) = catalogue.entry(wstg_id) else {
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
