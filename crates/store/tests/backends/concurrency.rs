//! Concurrent writers: several tasks of one process, and several processes
//! (stores with their own pools) on one database.

use std::sync::Arc;

use test_support::FreshDb;
use uuid::Uuid;
use wstg_domain::Status;
use wstg_store::{SyncState, TrackerRecord};

use crate::common::*;

const CHANGES: usize = 20;

async fn concurrent_changes_to_one_item_end_with_the_newest(db: &FreshDb) {
    // Two stores on one database: for SQLite, two processes sharing the file.
    let stores = [store(db).await, store(db).await];
    let p = project("default");

    for (round, raw) in ["WSTG-BUSL-01", "WSTG-BUSL-02"].into_iter().enumerate() {
        let id = wstg(raw);
        let ids: Arc<[Uuid; CHANGES]> = Arc::new(event_ids());
        // Round 0: distinct times. Round 1: all in one millisecond, so the
        // event id alone decides.
        let time_of = move |i: usize| if round == 0 { at(i as i64 * 10) } else { at(0) };
        let statuses = Status::ALL;

        // Start them in a scrambled order across the two stores.
        let mut tasks = Vec::new();
        for k in 0..CHANGES {
            let i = (k * 7) % CHANGES;
            let store = stores[k % 2].clone();
            let (p, id, ids) = (p.clone(), id.clone(), ids.clone());
            tasks.push(tokio::spawn(async move {
                let c = change(
                    &id,
                    statuses[i % statuses.len()],
                    Some(&format!("change {i}")),
                    time_of(i),
                );
                (i, store.record_tracker_change(&p, &c, ids[i]).await)
            }));
        }
        let mut applied = 0;
        for task in tasks {
            let (i, result) = task.await.unwrap();
            let record = result.unwrap_or_else(|e| panic!("change {i} on {}: {e}", db.kind));
            if record == TrackerRecord::Applied {
                applied += 1;
            }
            if i == CHANGES - 1 {
                assert_eq!(
                    record,
                    TrackerRecord::Applied,
                    "the newest change always applies"
                );
            }
        }
        assert!(applied >= 1);

        let newest = CHANGES - 1;
        for store in &stores {
            let item = store.item(&p, &id).await.unwrap().unwrap();
            assert_eq!(item.tracker_event_id, Some(ids[newest]), "{}", db.kind);
            assert_eq!(
                item.tracker,
                Some(state(
                    statuses[newest % statuses.len()],
                    &format!("change {newest}")
                ))
            );
            assert_eq!(item.tracker_changed_at, Some(time_of(newest)));
            assert_eq!(item.sync_state, SyncState::Pending);
        }
    }
}

/// Readers and writers of different items at once: nothing fails with
/// "database is locked".
async fn mixed_load_across_items_and_stores_does_not_fail(db: &FreshDb) {
    let stores = [store(db).await, store(db).await];
    let p = project("default");
    let raw_ids = [
        "WSTG-CLNT-01",
        "WSTG-CLNT-02",
        "WSTG-CLNT-03",
        "WSTG-CLNT-04",
    ];
    let mut tasks = Vec::new();
    for k in 0..40 {
        let store = stores[k % 2].clone();
        let p = p.clone();
        let id = wstg(raw_ids[k % raw_ids.len()]);
        tasks.push(tokio::spawn(async move {
            let c = change(&id, Status::InProgress, Some("x"), at(k as i64));
            store.record_tracker_change(&p, &c, Uuid::now_v7()).await?;
            store.item(&p, &id).await?;
            store.status_summary(Some(&p)).await?;
            Ok::<_, wstg_store::StoreError>(())
        }));
    }
    for task in tasks {
        task.await
            .unwrap()
            .unwrap_or_else(|e| panic!("{}: {e}", db.kind));
    }
    assert_eq!(stores[0].items(&p).await.unwrap().len(), raw_ids.len());
}

on_both_backends!(
    concurrent_changes_to_one_item_end_with_the_newest,
    mixed_load_across_items_and_stores_does_not_fail,
);
