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
