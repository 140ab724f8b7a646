//! Items: each checklist item's two sides, its last synced state and how its
//! sync stands.
//!
//! Every write is one statement (an upsert or an update), never a read then a
//! write: on PostgreSQL replicas and on a SQLite file shared by processes that
//! is what makes concurrent calls safe without transactions or locks, and on
//! SQLite it avoids the deferred-transaction upgrade that fails with BUSY
//! instead of waiting. The one transaction here, recording a batch of
//! tracker changes, holds only such writes: its first statement takes the
//! write lock (waiting for it like any write), no read ever upgrades.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use uuid::Uuid;
use wstg_domain::sync::ItemState;
use wstg_domain::{DojoItem, ProjectName, TrackerChange, Username, WstgId};

use crate::error::StoreError;
use crate::rows::{self, get};
use crate::states::{Direction, SyncState};
use crate::store::Store;

/// What [`Store::record_tracker_change`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackerRecord {
    /// The change is newer than the stored tracker version and is now it.
    Applied,
    /// The stored version is newer or the same (a redelivery): nothing changed.
    Stale,
}

/// Everything the store knows about one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRecord {
    pub project: ProjectName,
    pub wstg_id: WstgId,
    /// The tracker's state; `None` until the tracker or a pull set it.
    pub tracker: Option<ItemState>,
    /// The tracker version: the tracker's clock and the event that carried
    /// the change (ties in time are broken by event id).
    pub tracker_changed_at: Option<DateTime<Utc>>,
    pub tracker_event_id: Option<Uuid>,
    pub tracker_user: Option<String>,
    /// The linked DefectDojo finding and its last known snapshot.
    pub finding_id: Option<i64>,
    pub dojo: Option<DojoItem>,
    /// When the DefectDojo side last changed: the snapshot's `updated` when
    /// DefectDojo gave one, else when we stored it.
    pub dojo_changed_at: Option<DateTime<Utc>>,
    /// What both sides held after the last sync (the base of `decide`).
    pub last_synced: Option<ItemState>,
    /// The tracker version last pushed to DefectDojo.
    pub pushed_event_id: Option<Uuid>,
    pub sync_state: SyncState,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub last_sync_direction: Option<Direction>,
    pub last_error: Option<String>,
    /// When this row last changed.
    pub updated_at: DateTime<Utc>,
}

/// A successful push of the tracker's state to DefectDojo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pushed {
    pub finding_id: i64,
    /// The finding as DefectDojo answered the write.
    pub dojo: DojoItem,
    /// The state both sides now hold.
    pub synced: ItemState,
    /// The tracker version that was pushed.
    pub pushed_event_id: Uuid,
    pub at: DateTime<Utc>,
}

/// A DefectDojo change copied to the tracker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pulled {
    pub finding_id: i64,
    pub dojo: DojoItem,
    /// The state both sides now hold (DefectDojo's, mapped).
    pub synced: ItemState,
    pub at: DateTime<Utc>,
    /// The tracker version the decision to pull looked at. The pull is
    /// applied only if it is still the current one: a tracker change
    /// recorded meanwhile is never overwritten.
    pub seen_tracker_event_id: Option<Uuid>,
}

const ITEM_COLUMNS: &str = "project, wstg_id, tracker_status, tracker_notes, tracker_changed_at, \
     tracker_event_id, tracker_user, finding_id, dojo_json, dojo_changed_at, synced_status, \
     synced_notes, pushed_event_id, sync_state, last_sync_at, last_sync_direction, last_error, \
     updated_at, tracker_assignee, synced_assignee";

impl Store {
    /// Records a tracker change if it is newer than the stored tracker
    /// version (compare-and-set, newest wins).
    ///
    /// A change's version is `(occurred_at, event_id)`, compared at the
    /// store's millisecond precision; equal times are ordered by event id
    /// (UUID v7, so by when the bridge accepted them). `notes: None` keeps
    /// the stored notes. The first change of an item creates its row. An
    /// applied change leaves the item `pending` until a worker pushes it.
    pub async fn record_tracker_change(
        &self,
        project: &ProjectName,
        change: &TrackerChange,
        event_id: Uuid,
    ) -> Result<TrackerRecord, StoreError> {
        record_change(&self.pool, project, change, event_id, Utc::now()).await
    }

    /// [`Store::record_tracker_change`] for many changes in one transaction:
    /// each is the same compare-and-set, in the order given, and either all
    /// are durable when this returns `Ok` or none is. A worker records a
    /// whole batch this way: one commit (one fsync on SQLite) instead of
    /// one per change. Rows are written in (project, item) order, the order
    /// every caller uses, so two replicas' batches cannot deadlock on
    /// PostgreSQL; an item's changes keep their given order.
    pub async fn record_tracker_changes(
        &self,
        changes: &[(&ProjectName, &TrackerChange, Uuid)],
    ) -> Result<Vec<TrackerRecord>, StoreError> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let mut order: Vec<usize> = (0..changes.len()).collect();
        // Stable: an item's changes stay in their given order.
        order.sort_by(|&a, &b| {
            let (pa, ca, _) = changes[a];
            let (pb, cb, _) = changes[b];
            (pa.as_str(), ca.wstg_id.as_str()).cmp(&(pb.as_str(), cb.wstg_id.as_str()))
        });
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(StoreError::query("record_tracker_changes"))?;
        let now = Utc::now();
        let mut out = vec![TrackerRecord::Stale; changes.len()];
        for i in order {
            let (project, change, event_id) = changes[i];
            out[i] = record_change(&mut *tx, project, change, event_id, now).await?;
        }
        tx.commit()
            .await
            .map_err(StoreError::query("record_tracker_changes"))?;
        Ok(out)
    }

    pub async fn item(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
    ) -> Result<Option<ItemRecord>, StoreError> {
        let sql = format!("SELECT {ITEM_COLUMNS} FROM items WHERE project = $1 AND wstg_id = $2");
        let row = sqlx::query(&sql)
            .bind(project.as_str())
            .bind(wstg_id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(format!("item({project}/{wstg_id})")))?;
        row.as_ref().map(item_from_row).transpose()
    }

    /// The items of `project`, by WSTG id.
    pub async fn items(&self, project: &ProjectName) -> Result<Vec<ItemRecord>, StoreError> {
        let sql = format!("SELECT {ITEM_COLUMNS} FROM items WHERE project = $1");
        let found = sqlx::query(&sql)
            .bind(project.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(format!("items({project})")))?;
        let mut items = found
            .iter()
            .map(item_from_row)
            .collect::<Result<Vec<_>, StoreError>>()?;
        // Sorted here: SQL text order depends on the database's collation.
        items.sort_by(|a, b| a.wstg_id.cmp(&b.wstg_id));
        Ok(items)
    }

    /// Records a successful push: the finding link, DefectDojo's answer, the
    /// state both sides now hold and the tracker version pushed. The item is
    /// `synced` unless the tracker recorded another version meanwhile, which
    /// keeps it `pending` for the next push.
    pub async fn mark_pushed(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        pushed: &Pushed,
    ) -> Result<(), StoreError> {
        let dojo_json = serde_json::to_string(&pushed.dojo).map_err(|e| {
            StoreError::corrupt(format!("DefectDojo snapshot of {project}/{wstg_id}"), e)
        })?;
        // "Moved on" is judged by the tracker version; an item with no tracker
        // version (pushed from a state it never recorded) is synced when its
        // tracker state, if any, is what was pushed.
        sqlx::query(
            "INSERT INTO items \
                 (project, wstg_id, finding_id, dojo_json, dojo_changed_at, synced_status, \
                  synced_notes, pushed_event_id, sync_state, last_sync_at, last_sync_direction, \
                  last_error, updated_at, synced_assignee) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'synced', $9, 'tracker->dd', NULL, $10, $11) \
             ON CONFLICT (project, wstg_id) DO UPDATE SET \
                 finding_id = excluded.finding_id, \
                 dojo_json = excluded.dojo_json, \
                 dojo_changed_at = excluded.dojo_changed_at, \
                 synced_status = excluded.synced_status, \
                 synced_notes = excluded.synced_notes, \
                 synced_assignee = excluded.synced_assignee, \
                 pushed_event_id = excluded.pushed_event_id, \
                 sync_state = CASE \
                     WHEN items.tracker_event_id = excluded.pushed_event_id THEN 'synced' \
                     WHEN items.tracker_event_id IS NULL \
                          AND (items.tracker_status IS NULL \
                               OR (items.tracker_status = excluded.synced_status \
                                   AND items.tracker_notes = excluded.synced_notes)) \
                         THEN 'synced' \
                     ELSE 'pending' END, \
                 last_sync_at = excluded.last_sync_at, \
                 last_sync_direction = excluded.last_sync_direction, \
                 last_error = NULL, \
                 updated_at = excluded.updated_at",
        )
        .bind(project.as_str())
        .bind(wstg_id.as_str())
        .bind(pushed.finding_id)
        .bind(dojo_json)
        .bind(rows::millis(dojo_changed_at(&pushed.dojo, pushed.at)))
        .bind(pushed.synced.status.as_str())
        .bind(pushed.synced.notes.as_str())
        .bind(rows::uuid_text(pushed.pushed_event_id))
        .bind(rows::millis(pushed.at))
        .bind(rows::millis(Utc::now()))
        .bind(
            pushed
                .synced
                .assignee
                .as_ref()
                .map(|a| a.as_str().to_owned()),
        )
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(format!(
            "mark_pushed({project}/{wstg_id})"
        )))?;
        Ok(())
    }

    /// Records that DefectDojo's state was copied to the tracker: the
    /// tracker state becomes DefectDojo's, which is also the synced state.
    /// The tracker version is left alone: it orders the tracker's own
    /// changes by the tracker's clock, and mixing in ours would let a
    /// tracker whose clock runs behind have its next changes dropped as stale.
    pub async fn mark_pulled(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        pulled: &Pulled,
    ) -> Result<bool, StoreError> {
        let dojo_json = serde_json::to_string(&pulled.dojo).map_err(|e| {
            StoreError::corrupt(format!("DefectDojo snapshot of {project}/{wstg_id}"), e)
        })?;
        let done = sqlx::query(
            "INSERT INTO items \
                 (project, wstg_id, tracker_status, tracker_notes, finding_id, dojo_json, \
                  dojo_changed_at, synced_status, synced_notes, sync_state, last_sync_at, \
                  last_sync_direction, last_error, updated_at, tracker_assignee, synced_assignee) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $3, $4, 'synced', $8, 'dd->tracker', NULL, $9, $11, $11) \
             ON CONFLICT (project, wstg_id) DO UPDATE SET \
                 tracker_status = excluded.tracker_status, \
                 tracker_notes = excluded.tracker_notes, \
                 finding_id = excluded.finding_id, \
                 dojo_json = excluded.dojo_json, \
                 dojo_changed_at = excluded.dojo_changed_at, \
                 synced_status = excluded.synced_status, \
                 synced_notes = excluded.synced_notes, \
                 tracker_assignee = excluded.tracker_assignee, \
                 synced_assignee = excluded.synced_assignee, \
                 sync_state = 'synced', \
                 last_sync_at = excluded.last_sync_at, \
                 last_sync_direction = excluded.last_sync_direction, \
                 last_error = NULL, \
                 pushed_event_id = items.tracker_event_id, \
                 updated_at = excluded.updated_at \
             WHERE (items.tracker_event_id = $10 \
                    OR (items.tracker_event_id IS NULL AND $10 IS NULL)) \
             RETURNING project",
        )
        .bind(project.as_str())
        .bind(wstg_id.as_str())
        .bind(pulled.synced.status.as_str())
        .bind(pulled.synced.notes.as_str())
        .bind(pulled.finding_id)
        .bind(dojo_json)
        .bind(rows::millis(dojo_changed_at(&pulled.dojo, pulled.at)))
        .bind(rows::millis(pulled.at))
        .bind(rows::millis(Utc::now()))
        .bind(pulled.seen_tracker_event_id.map(rows::uuid_text))
        .bind(pulled.synced.assignee.as_ref().map(|a| a.as_str().to_owned()))
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::query(format!(
            "mark_pulled({project}/{wstg_id})"
        )))?;
        Ok(done.is_some())
    }

    /// Records a failure that will not be retried; the next tracker change
    /// makes the item `pending` again. Long messages are cut to 8 KiB.
    pub async fn mark_failed(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        error: &str,
    ) -> Result<(), StoreError> {
        self.set_state(project, wstg_id, SyncState::Failed, Some(error))
            .await
            .map_err(StoreError::query(format!(
                "mark_failed({project}/{wstg_id})"
            )))
    }

    /// Marks both sides as changed differently; the item stays `conflict`
    /// until a push, a pull or a new tracker change resolves it.
    pub async fn mark_conflict(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
    ) -> Result<(), StoreError> {
        self.set_state(project, wstg_id, SyncState::Conflict, None)
            .await
            .map_err(StoreError::query(format!(
                "mark_conflict({project}/{wstg_id})"
            )))
    }

    /// Records that both sides were found in agreement (the sync decision was
    /// a no-op), so the item is `synced` without a write to either side.
    ///
    /// `seen_tracker_event_id` is the tracker version the decision looked at:
    /// if the tracker recorded another one since, nothing changes and `false`
    /// is returned, so a newer change is never hidden as synced.
    pub async fn mark_in_sync(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        seen_tracker_event_id: Option<Uuid>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE items SET sync_state = 'synced', last_error = NULL, updated_at = $4 \
             WHERE project = $1 AND wstg_id = $2 \
               AND (tracker_event_id = $3 OR (tracker_event_id IS NULL AND $3 IS NULL))",
        )
        .bind(project.as_str())
        .bind(wstg_id.as_str())
        .bind(seen_tracker_event_id.map(rows::uuid_text))
        .bind(rows::millis(Utc::now()))
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(format!(
            "mark_in_sync({project}/{wstg_id})"
        )))?;
        Ok(done.rows_affected() > 0)
    }

    /// Forgets the finding (deleted in DefectDojo while the tracker did not
    /// change). The last synced state is kept, so the item is not "changed"
    /// and the finding is re-created only by the next tracker change.
    pub async fn unlink(&self, project: &ProjectName, wstg_id: &WstgId) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE items SET finding_id = NULL, dojo_json = NULL, dojo_changed_at = NULL, \
                 sync_state = 'synced', last_error = NULL, updated_at = $3 \
             WHERE project = $1 AND wstg_id = $2",
        )
        .bind(project.as_str())
        .bind(wstg_id.as_str())
        .bind(rows::millis(Utc::now()))
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(format!("unlink({project}/{wstg_id})")))?;
        Ok(())
    }

    /// Upserts so a state can be recorded for an item the store has not
    /// seen yet (the poller finds findings before any tracker change).
    async fn set_state(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        state: SyncState,
        error: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        // COALESCE keeps the last error when the new state brings none.
        sqlx::query(
            "INSERT INTO items (project, wstg_id, sync_state, last_error, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (project, wstg_id) DO UPDATE SET \
                 sync_state = excluded.sync_state, \
                 last_error = COALESCE(excluded.last_error, items.last_error), \
                 updated_at = excluded.updated_at",
        )
        .bind(project.as_str())
        .bind(wstg_id.as_str())
        .bind(state.as_str())
        .bind(error.map(|e| rows::bounded(e).to_owned()))
        .bind(rows::millis(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// When the DefectDojo side changed: DefectDojo's own `updated` stamp when
/// it parses, else the time we observed it.
fn dojo_changed_at(dojo: &DojoItem, observed: DateTime<Utc>) -> DateTime<Utc> {
    dojo.updated
        .as_deref()
        .and_then(|u| DateTime::parse_from_rfc3339(u).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(observed)
}

/// One tracker change's compare-and-set (see [`Store::record_tracker_change`]).
async fn record_change<'e, E>(
    executor: E,
    project: &ProjectName,
    change: &TrackerChange,
    event_id: Uuid,
    now: DateTime<Utc>,
) -> Result<TrackerRecord, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    // One atomic upsert: the WHERE of DO UPDATE is the compare, evaluated
    // on the latest row under the row (PostgreSQL) or database (SQLite)
    // write lock, so concurrent recorders cannot interleave. RETURNING
    // yields a row only if the insert or the update happened.
    let applied = sqlx::query(
        "INSERT INTO items \
             (project, wstg_id, tracker_status, tracker_notes, tracker_changed_at, \
              tracker_event_id, tracker_user, sync_state, updated_at, tracker_assignee) \
         VALUES ($1, $2, $3, COALESCE($4, ''), $5, $6, $7, 'pending', $8, $10) \
         ON CONFLICT (project, wstg_id) DO UPDATE SET \
             tracker_status = excluded.tracker_status, \
             tracker_notes = COALESCE($4, items.tracker_notes, ''), \
             tracker_changed_at = excluded.tracker_changed_at, \
             tracker_event_id = excluded.tracker_event_id, \
             tracker_user = excluded.tracker_user, \
             tracker_assignee = CASE WHEN $9 = 1 THEN $10 ELSE items.tracker_assignee END, \
             sync_state = 'pending', \
             updated_at = excluded.updated_at \
         WHERE items.tracker_changed_at IS NULL \
            OR excluded.tracker_changed_at > items.tracker_changed_at \
            OR (excluded.tracker_changed_at = items.tracker_changed_at \
                AND (items.tracker_event_id IS NULL \
                     OR excluded.tracker_event_id > items.tracker_event_id)) \
         RETURNING wstg_id",
    )
    .bind(project.as_str())
    .bind(change.wstg_id.as_str())
    .bind(change.status.as_str())
    .bind(change.notes.as_ref().map(|n| n.as_str().to_owned()))
    .bind(rows::millis(change.occurred_at))
    .bind(rows::uuid_text(event_id))
    .bind(change.user.clone())
    .bind(rows::millis(now))
    .bind(i64::from(change.assignee.is_some()))
    .bind(
        change
            .assignee
            .as_ref()
            .and_then(|a| a.as_ref().map(|u| u.as_str().to_owned())),
    )
    // fetch_all, not fetch_optional: the statement must run to completion.
    .fetch_all(executor)
    .await
    .map_err(StoreError::query(format!(
        "record_tracker_change({project}/{}, event {event_id})",
        change.wstg_id
    )))?;
    Ok(if applied.is_empty() {
        TrackerRecord::Stale
    } else {
        TrackerRecord::Applied
    })
}

fn item_from_row(row: &AnyRow) -> Result<ItemRecord, StoreError> {
    let project: String = get(row, "project")?;
    let wstg_id: String = get(row, "wstg_id")?;
    let what = |field: &str| format!("{field} of {project}/{wstg_id}");

    let state = |status: Option<String>,
                 notes: Option<String>,
                 assignee: Option<String>|
     -> Result<_, StoreError> {
        match (status, notes) {
            (Some(s), notes) => Ok(Some(ItemState {
                status: rows::status(&s)?,
                notes: rows::notes(notes.unwrap_or_default())?,
                assignee: assignee
                    .map(|a| Username::parse(&a))
                    .transpose()
                    .map_err(|e| StoreError::corrupt("assignee", e))?,
            })),
            (None, _) => Ok(None),
        }
    };
    let dojo = get::<Option<String>>(row, "dojo_json")?
        .map(|json| serde_json::from_str::<DojoItem>(&json))
        .transpose()
        .map_err(|e| StoreError::corrupt(what("DefectDojo snapshot"), e))?;
    let sync_state: String = get(row, "sync_state")?;
    let direction: Option<String> = get(row, "last_sync_direction")?;

    Ok(ItemRecord {
        tracker: state(
            get(row, "tracker_status")?,
            get(row, "tracker_notes")?,
            get(row, "tracker_assignee")?,
        )?,
        tracker_changed_at: rows::opt_time(get(row, "tracker_changed_at")?, &what("tracker time"))?,
        tracker_event_id: rows::opt_uuid(get(row, "tracker_event_id")?, &what("tracker event id"))?,
        tracker_user: get(row, "tracker_user")?,
        finding_id: get(row, "finding_id")?,
        dojo,
        dojo_changed_at: rows::opt_time(get(row, "dojo_changed_at")?, &what("DefectDojo time"))?,
        last_synced: state(
            get(row, "synced_status")?,
            get(row, "synced_notes")?,
            get(row, "synced_assignee")?,
        )?,
        pushed_event_id: rows::opt_uuid(get(row, "pushed_event_id")?, &what("pushed event id"))?,
        sync_state: sync_state
            .parse()
            .map_err(|e| StoreError::corrupt(what("sync state"), e))?,
        last_sync_at: rows::opt_time(get(row, "last_sync_at")?, &what("last sync time"))?,
        last_sync_direction: direction
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e| StoreError::corrupt(what("sync direction"), e))?,
        last_error: get(row, "last_error")?,
        updated_at: rows::time(get(row, "updated_at")?, &what("update time"))?,
        project: rows::project(&project)?,
        wstg_id: rows::wstg_id(wstg_id)?,
    })
}
