//! The status summary.

use test_support::FreshDb;
use wstg_domain::Status;
use wstg_store::{AuditEntry, Direction, Pulled, Pushed, StatusSummary};

use crate::common::*;

async fn status_summary_counts_items_by_state_status_and_direction(db: &FreshDb) {
    let store = store(db).await;
    let empty = store.status_summary(None).await.unwrap();
    assert_eq!(empty.total_items, 0);
    assert_eq!(empty.last_sync, None);
    assert_eq!(empty.by_status.get("done"), Some(&0));
    assert_eq!(empty.by_direction.get("tracker->dd"), Some(&0));
    assert_eq!(empty.by_status.get("unknown"), None);

    let (a, b) = (project("alpha"), project("beta"));
    let ids = event_ids::<6>();
    // alpha: 01 pushed (synced), 02 pending, 03 failed, 04 conflict,
    //        05 pulled (synced, never changed in the tracker... set by the pull)
    // beta:  01 pending
    let rec = |p, raw, status, i: usize| {
        let store = store.clone();
        let p = project(p);
        async move {
            store
                .record_tracker_change(&p, &change(&wstg(raw), status, None, at(i as i64)), ids[i])
                .await
                .unwrap();
        }
    };
    rec("alpha", "WSTG-INFO-01", Status::Done, 0).await;
    rec("alpha", "WSTG-INFO-02", Status::InProgress, 1).await;
    rec("alpha", "WSTG-INFO-03", Status::Blocked, 2).await;
    rec("alpha", "WSTG-INFO-04", Status::InProgress, 3).await;
    rec("beta", "WSTG-INFO-01", Status::NotStarted, 4).await;
    store
        .mark_pushed(
            &a,
            &wstg("WSTG-INFO-01"),
            &Pushed {
                finding_id: 1,
                dojo: dojo(1, Status::Done, ""),
                synced: state(Status::Done, ""),
                pushed_event_id: ids[0],
                at: at(10_000),
            },
        )
        .await
        .unwrap();
    store
        .mark_failed(&a, &wstg("WSTG-INFO-03"), "boom")
        .await
        .unwrap();
    store
        .mark_conflict(&a, &wstg("WSTG-INFO-04"))
        .await
        .unwrap();
    store
        .mark_pulled(
            &a,
            &wstg("WSTG-INFO-05"),
            &Pulled {
                finding_id: 5,
                dojo: dojo(5, Status::NotApplicable, ""),
                synced: state(Status::NotApplicable, ""),
                at: at(20_000),
                seen_tracker_event_id: None,
            },
        )
        .await
        .unwrap();
    // An item the store knows only as failed, with no tracker status.
    store
        .mark_failed(&b, &wstg("WSTG-INFO-06"), "no such finding")
        .await
        .unwrap();

    let alpha = store.status_summary(Some(&a)).await.unwrap();
    assert_eq!(
        alpha,
        StatusSummary {
            last_sync: Some(at(20_000)),
            total_items: 5,
            synced_items: 2,
            pending_items: 1,
            // Conflicts are counted from the audit trail: every conflict the
            // worker settles writes a row there and marks the item.
            conflicts: 0,
            items_in_conflict: 1,
            failed_items: 1,
            by_status: [
                ("not_started", 0),
                ("in_progress", 2),
                ("blocked", 1),
                ("done", 1),
                ("not_applicable", 1),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
            by_direction: [("tracker->dd", 1), ("dd->tracker", 1), ("unknown", 3)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        }
    );

    // A conflict in the audit trail counts, per project.
    let mut resolved = AuditEntry::new(a.clone(), wstg("WSTG-INFO-07"), Direction::DojoToTracker);
    resolved.conflict = Some("dojo_wins".to_owned());
    store.append_audit(&resolved).await.unwrap();
    let alpha = store.status_summary(Some(&a)).await.unwrap();
    assert_eq!((alpha.conflicts, alpha.items_in_conflict), (1, 1));
    assert_eq!(store.status_summary(Some(&b)).await.unwrap().conflicts, 0);

    let all = store.status_summary(None).await.unwrap();
    assert_eq!(all.total_items, 7);
    assert_eq!(all.pending_items, 2);
    assert_eq!(all.failed_items, 2);
    assert_eq!(all.synced_items, 2);
    assert_eq!((all.conflicts, all.items_in_conflict), (1, 1));
    assert_eq!(all.by_status["not_started"], 1);
    assert_eq!(all.by_status["unknown"], 1);
    assert_eq!(all.by_direction["unknown"], 5);
    assert_eq!(all.last_sync, Some(at(20_000)));

    let json = serde_json::to_value(&all).unwrap();
    for field in [
        "last_sync",
        "total_items",
        "synced_items",
        "pending_items",
        "conflicts",
        "failed_items",
        "by_status",
        "by_direction",
    ] {
        assert!(json.get(field).is_some(), "missing {field}");
    }
}

on_both_backends!(status_summary_counts_items_by_state_status_and_direction);
