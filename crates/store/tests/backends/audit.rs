//! The audit trail.

use test_support::FreshDb;
use uuid::Uuid;
use wstg_domain::Status;
use wstg_store::{AuditEntry, Direction};

use crate::common::*;

async fn audit_entries_come_back_newest_first_limited_and_by_project(db: &FreshDb) {
    let store = store(db).await;
    let (a, b) = (project("alpha"), project("beta"));

    // Written out of order; two share a millisecond (the id orders them).
    let mut written = Vec::new();
    for (i, ms) in [3_000, 1_000, 2_000, 2_000, 4_000].into_iter().enumerate() {
        let mut e = AuditEntry::new(
            if i % 2 == 0 { a.clone() } else { b.clone() },
            wstg("WSTG-INFO-01"),
            Direction::TrackerToDojo,
        );
        e.timestamp = at(ms);
        written.push(e);
    }
    for e in &written {
        store.append_audit(e).await.unwrap();
    }

    let all = store.recent_audit(None, 100).await.unwrap();
    let order: Vec<Uuid> = all.iter().map(|e| e.id).collect();
    // 4000 (#4), 3000 (#0), 2000 (#3 after #2: created later, greater id), 1000 (#1).
    let expected: Vec<Uuid> = [4, 0, 3, 2, 1].iter().map(|&i| written[i].id).collect();
    assert_eq!(order, expected);
    assert_eq!(all[0], written[4], "every field round-trips");

    let top2 = store.recent_audit(None, 2).await.unwrap();
    assert_eq!(top2.iter().map(|e| e.id).collect::<Vec<_>>(), expected[..2]);

    let only_b = store.recent_audit(Some(&b), 10).await.unwrap();
    assert_eq!(
        only_b.iter().map(|e| e.id).collect::<Vec<_>>(),
        [written[3].id, written[1].id]
    );
    assert!(store
        .recent_audit(Some(&project("gamma")), 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store.recent_audit(None, 0).await.unwrap().is_empty());

    // Appending the same entry again (a retried step) logs it once.
    store.append_audit(&written[0]).await.unwrap();
    assert_eq!(store.recent_audit(None, 100).await.unwrap().len(), 5);
}

async fn audit_entries_keep_every_field(db: &FreshDb) {
    let store = store(db).await;
    let [event] = event_ids();
    let full = AuditEntry {
        id: Uuid::now_v7(),
        timestamp: at(123),
        project: project("Medical Register"),
        wstg_id: wstg("WSTG-ATHZ-02"),
        direction: Direction::DojoToTracker,
        old_status: Some(Status::InProgress),
        new_status: Some(Status::NotApplicable),
        success: false,
        error_message: Some("DefectDojo answered 503".to_owned()),
        event_id: Some(event),
        actor: Some("lead@example.org".to_owned()),
        finding_id: Some(9_000_000_000),
        conflict: Some("dojo_wins".to_owned()),
        detail: Some("finding updated".to_owned()),
    };
    let empty = AuditEntry {
        timestamp: at(100),
        ..AuditEntry::new(
            project("Medical Register"),
            wstg("WSTG-ATHZ-01"),
            Direction::TrackerToDojo,
        )
    };
    store.append_audit(&full).await.unwrap();
    store.append_audit(&empty).await.unwrap();
    let back = store
        .recent_audit(Some(&project("Medical Register")), 10)
        .await
        .unwrap();
    assert_eq!(back, vec![full, empty]);
}

on_both_backends!(
    audit_entries_come_back_newest_first_limited_and_by_project,
    audit_entries_keep_every_field,
);

#[test]
fn audit_entries_serialise_with_the_original_log_field_names() {
    let mut e = AuditEntry::new(
        project("default"),
        wstg("WSTG-INFO-01"),
        Direction::TrackerToDojo,
    );
    e.timestamp = at(0);
    e.new_status = Some(Status::Done);
    let json = serde_json::to_value(&e).unwrap();
    for field in [
        "id",
        "timestamp",
        "project",
        "wstg_id",
        "direction",
        "old_status",
        "new_status",
        "success",
        "error_message",
        "event_id",
        "actor",
        "finding_id",
        "conflict",
        "detail",
    ] {
        assert!(json.get(field).is_some(), "missing {field} in {json}");
    }
    assert_eq!(json["direction"], "tracker->dd");
    assert_eq!(json["new_status"], "done");
    assert_eq!(json["wstg_id"], "WSTG-INFO-01");
    let back: AuditEntry = serde_json::from_value(json).unwrap();
    assert_eq!(back, e);
}

/// `retention.audit_days`: entries logged before the cutoff go, in batches
/// of the given size; entries at or after it, of every project, stay.
async fn audit_retention_prunes_entries_older_than_the_cutoff_and_nothing_else(db: &FreshDb) {
    let store = store(db).await;
    let day = 86_400_000_i64;
    let cutoff = at(40 * day);
    let mut old = Vec::new();
    let mut kept = Vec::new();
    for i in 0..25_i64 {
        // Old ones spread over the 40 days before the cutoff, in both projects.
        let mut e = AuditEntry::new(
            project(if i % 2 == 0 { "alpha" } else { "beta" }),
            wstg("WSTG-INFO-01"),
            Direction::DojoToTracker,
        );
        e.timestamp = at(i * day + i);
        old.push(e);
    }
    for ms in [40 * day, 40 * day + 1, 41 * day, 400 * day] {
        let mut e = AuditEntry::new(
            project("alpha"),
            wstg("WSTG-INFO-02"),
            Direction::TrackerToDojo,
        );
        e.timestamp = at(ms);
        kept.push(e);
    }
    for e in old.iter().chain(&kept) {
        store.append_audit(e).await.unwrap();
    }

    // A batch deletes at most its limit, oldest first.
    assert_eq!(store.prune_audit_batch(cutoff, 10).await.unwrap(), 10);
    let left = store.recent_audit(None, 100).await.unwrap();
    assert_eq!(left.len(), 19);
    assert!(
        old[..10].iter().all(|e| !left.iter().any(|l| l.id == e.id)),
        "the ten oldest went first"
    );

    // The rest of the old ones, batch after batch; nothing at or after the cutoff.
    assert_eq!(store.prune_audit_before(cutoff).await.unwrap(), 15);
    let left = store.recent_audit(None, 100).await.unwrap();
    let mut left_ids: Vec<_> = left.iter().map(|e| e.id).collect();
    let mut kept_ids: Vec<_> = kept.iter().map(|e| e.id).collect();
    left_ids.sort();
    kept_ids.sort();
    assert_eq!(left_ids, kept_ids);
    assert_eq!(
        store.prune_audit_before(cutoff).await.unwrap(),
        0,
        "idempotent"
    );
}

/// More than one batch of old entries: the loop goes on until none is left.
async fn audit_retention_runs_batch_after_batch(db: &FreshDb) {
    let store = store(db).await;
    let n = u64::from(wstg_store::AUDIT_PRUNE_BATCH) + 7;
    for i in 0..n {
        let mut e = AuditEntry::new(
            project("alpha"),
            wstg("WSTG-INFO-01"),
            Direction::TrackerToDojo,
        );
        e.timestamp = at(i64::try_from(i).unwrap());
        store.append_audit(&e).await.unwrap();
    }
    let mut recent = AuditEntry::new(
        project("alpha"),
        wstg("WSTG-INFO-01"),
        Direction::TrackerToDojo,
    );
    recent.timestamp = at(10_000_000);
    store.append_audit(&recent).await.unwrap();

    assert_eq!(store.prune_audit_before(at(5_000_000)).await.unwrap(), n);
    let left = store.recent_audit(None, 10).await.unwrap();
    assert_eq!(left, vec![recent]);
}

on_both_backends!(
    audit_retention_prunes_entries_older_than_the_cutoff_and_nothing_else,
    audit_retention_runs_batch_after_batch,
);
