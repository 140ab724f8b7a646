//! Items: the tracker compare-and-set, pushes, pulls and the sync states.

use test_support::FreshDb;
use wstg_domain::Status;
use wstg_store::{Direction, Pulled, Pushed, SyncState, TrackerRecord};

use crate::common::*;

async fn the_first_change_creates_a_pending_item(db: &FreshDb) {
    let store = store(db).await;
    let (p, id) = (project("default"), wstg("WSTG-INFO-01"));
    assert_eq!(store.item(&p, &id).await.unwrap(), None);

    let [e1] = event_ids();
    let c = change(&id, Status::InProgress, Some("started recon"), at(0));
    assert_eq!(
        store.record_tracker_change(&p, &c, e1).await.unwrap(),
        TrackerRecord::Applied
    );

    let item = store.item(&p, &id).await.unwrap().unwrap();
    assert_eq!(item.project, p);
    assert_eq!(item.wstg_id, id);
    assert_eq!(
        item.tracker,
        Some(state(Status::InProgress, "started recon"))
    );
    assert_eq!(item.tracker_changed_at, Some(at(0)));
    assert_eq!(item.tracker_event_id, Some(e1));
    assert_eq!(item.tracker_user.as_deref(), Some("alice"));
    assert_eq!(item.sync_state, SyncState::Pending);
    assert_eq!(item.finding_id, None);
    assert_eq!(item.dojo, None);
    assert_eq!(item.last_synced, None);
    assert_eq!(item.pushed_event_id, None);
    assert_eq!(item.last_sync_at, None);
    assert_eq!(item.last_sync_direction, None);
    // Another project's item of the same id is another row.
    assert_eq!(store.item(&project("other"), &id).await.unwrap(), None);
}

async fn an_older_change_after_a_newer_one_is_stale(db: &FreshDb) {
    let store = store(db).await;
    let (p, id) = (project("default"), wstg("WSTG-INFO-02"));
    let [e_old, e_new] = event_ids();
    let newer = change(&id, Status::Done, Some("newer"), at(2_000));
    let older = change(&id, Status::Blocked, Some("older"), at(1_000));

    assert_eq!(
        store
            .record_tracker_change(&p, &newer, e_new)
            .await
            .unwrap(),
        TrackerRecord::Applied
    );
    let before = store.item(&p, &id).await.unwrap().unwrap();
    // Delivered late: older in time (and in event id).
    assert_eq!(
        store
            .record_tracker_change(&p, &older, e_old)
            .await
            .unwrap(),
        TrackerRecord::Stale
    );
    // An older change with a *greater* event id is still older.
    let [e_later] = event_ids();
    assert_eq!(
        store
            .record_tracker_change(&p, &older, e_later)
            .await
            .unwrap(),
        TrackerRecord::Stale
    );
    let after = store.item(&p, &id).await.unwrap().unwrap();
    assert_eq!(after, before, "a stale change must not touch the row");
    assert_eq!(after.tracker, Some(state(Status::Done, "newer")));
    assert_eq!(after.tracker_event_id, Some(e_new));
}

async fn equal_times_are_ordered_by_event_id(db: &FreshDb) {
    let store = store(db).await;
    let (p, id) = (project("default"), wstg("WSTG-INFO-03"));
    let [e_small, e_big] = event_ids();
    let a = change(&id, Status::InProgress, Some("a"), at(5_000));
    let b = change(&id, Status::Blocked, Some("b"), at(5_000));

    assert_eq!(
        store.record_tracker_change(&p, &b, e_big).await.unwrap(),
        TrackerRecord::Applied
    );
    assert_eq!(
        store.record_tracker_change(&p, &a, e_small).await.unwrap(),
        TrackerRecord::Stale
    );
    // A redelivery of the stored event is not newer than itself.
    assert_eq!(
        store.record_tracker_change(&p, &b, e_big).await.unwrap(),
        TrackerRecord::Stale
    );
    let item = store.item(&p, &id).await.unwrap().unwrap();
    assert_eq!(item.tracker, Some(state(Status::Blocked, "b")));
    assert_eq!(item.tracker_event_id, Some(e_big));

    // The other order: the smaller id first, then the greater one wins.
    let id2 = wstg("WSTG-INFO-04");
    let a2 = change(&id2, Status::InProgress, Some("a"), at(5_000));
    let b2 = change(&id2, Status::Blocked, Some("b"), at(5_000));
    assert_eq!(
        store.record_tracker_change(&p, &a2, e_small).await.unwrap(),
        TrackerRecord::Applied
    );
    assert_eq!(
        store.record_tracker_change(&p, &b2, e_big).await.unwrap(),
        TrackerRecord::Applied
    );
    let item = store.item(&p, &id2).await.unwrap().unwrap();
    assert_eq!(item.tracker, Some(state(Status::Blocked, "b")));
}

async fn a_change_without_notes_keeps_the_stored_notes(db: &FreshDb) {
    let store = store(db).await;
    let (p, id) = (project("default"), wstg("WSTG-CONF-01"));
    let [e1, e2, e3, e4] = event_ids();

    // First sight without notes: empty notes.
    store
        .record_tracker_change(&p, &change(&id, Status::NotStarted, None, at(0)), e1)
        .await
        .unwrap();
    let item = store.item(&p, &id).await.unwrap().unwrap();
    assert_eq!(item.tracker, Some(state(Status::NotStarted, "")));

    store
        .record_tracker_change(
            &p,
            &change(&id, Status::InProgress, Some("line 1\nline 2"), at(1)),
            e2,
        )
        .await
        .unwrap();
    store
        .record_tracker_change(&p, &change(&id, Status::Done, None, at(2)), e3)
        .await
        .unwrap();
    let item = store.item(&p, &id).await.unwrap().unwrap();
    assert_eq!(item.tracker, Some(state(Status::Done, "line 1\nline 2")));

    // Some("") is a change to empty notes, not "keep".
    store
        .record_tracker_change(&p, &change(&id, Status::Done, Some(""), at(3)), e4)
        .await
        .unwrap();
    let item = store.item(&p, &id).await.unwrap().unwrap();
    assert_eq!(item.tracker, Some(state(Status::Done, "")));
}

async fn a_push_marks_the_item_synced_with_the_snapshot(db: &FreshDb) {
    let store = store(db).await;
    let (p, id) = (project("default"), wstg("WSTG-ATHN-01"));
    let [e1] = event_ids();
    store
        .record_tracker_change(&p, &change(&id, Status::Done, Some("no issues"), at(0)), e1)
        .await
        .unwrap();

    let snapshot = dojo(42, Status::Done, "no issues");
    store
        .mark_pushed(
            &p,
            &id,
            &Pushed {
                finding_id: 42,
                dojo: snapshot.clone(),
                synced: state(Status::Done, "no issues"),
                pushed_event_id: e1,
                at: at(10_000),
            },
        )
        .await
        .unwrap();

    let item = store.item(&p, &id).await.unwrap().unwrap();
    assert_eq!(item.sync_state, SyncState::Synced);
    assert_eq!(item.finding_id, Some(42));
    assert_eq!(item.dojo, Some(snapshot));
    assert_eq!(item.last_synced, Some(state(Status::Done, "no issues")));
    assert_eq!(item.pushed_event_id, Some(e1));
    assert_eq!(item.last_sync_at, Some(at(10_000)));
    assert_eq!(item.last_sync_direction, Some(Direction::TrackerToDojo));
    // DefectDojo's own `updated` stamp, at the store's precision.
    assert_eq!(
        item.dojo_changed_at.map(|t| t.to_rfc3339()),
        Some("2026-03-01T09:05:00.123+00:00".to_owned())
    );
    // The tracker side is untouched.
    assert_eq!(item.tracker, Some(state(Status::Done, "no issues")));
    assert_eq!(item.tracker_event_id, Some(e1));
    // A redelivery of the pushed event is stale: nothing to do.
    assert_eq!(
        store
            .record_tracker_change(&p, &change(&id, Status::Done, Some("no issues"), at(0)), e1)
            .await
            .unwrap(),
        TrackerRecord::Stale
    );
}

async fn pushing_an_older_version_while_a_newer_is_recorded_stays_pending(db: &FreshDb) {
    let store = store(db).await;
    let (p, id) = (project("default"), wstg("WSTG-ATHN-02"));
    let [e1, e2] = event_ids();
    store
        .record_tracker_change(&p, &change(&id, Status::InProgress, Some("v1"), at(0)), e1)
        .await
        .unwrap();
    // While the worker pushes v1, the tester records v2.
    store
        .record_tracker_change(&p, &change(&id, Status::Done, Some("v2"), at(1_000)), e2)
        .await
        .unwrap();
    store
        .mark_pushed(
            &p,
            &id,
            &Pushed {
                finding_id: 7,
                dojo: dojo(7, Status::InProgress, "v1"),
                synced: state(Status::InProgress, "v1"),
                pushed_event_id: e1,
                at: at(2_000),
            },
        )
        .await
        .unwrap();

    let item = store.item(&p, &id).await.unwrap().unwrap();
    assert_eq!(item.sync_state, SyncState::Pending);
    assert_eq!(item.pushed_event_id, Some(e1));
    assert_eq!(item.last_synced, Some(state(Status::InProgress, "v1")));
    assert_eq!(item.tracker, Some(state(Status::Done, "v2")));
    assert_eq!(item.tracker_event_id, Some(e2));
    assert_eq!(item.finding_id, Some(7));

    // Pushing v2 then settles it.
    store
        .mark_pushed(
            &p,
            &id,
            &Pushed {
                finding_id: 7,
                dojo: dojo(7, Status::Done, "v2"),
                synced: state(Status::Done, "v2"),
                pushed_event_id: e2,
                at: at(3_000),
            },
        )
        .await
        .unwrap();
    let item = store.item(&p, &id).await.unwrap().unwrap();
    assert_eq!(item.sync_state, SyncState::Synced);
}

async fn a_pull_copies_defectdojo_state_to_the_tracker(db: &FreshDb) {
    let store = store(db).await;
    let p = project("default");

    // A finding the tracker never touched.
    let fresh = wstg("WSTG-SESS-01");
    store
        .mark_pulled(
            &p,
            &fresh,
            &Pulled {
                finding_id: 11,
                dojo: dojo(11, Status::Blocked, "waiting for creds"),
                synced: state(Status::Blocked, "waiting for creds"),
                at: at(500),
                seen_tracker_event_id: None,
            },
        )
        .await
        .unwrap();
    let item = store.item(&p, &fresh).await.unwrap().unwrap();
    assert_eq!(
        item.tracker,
        Some(state(Status::Blocked, "waiting for creds"))
    );
    assert_eq!(item.last_synced, item.tracker);
    assert_eq!(item.tracker_event_id, None);
    assert_eq!(item.sync_state, SyncState::Synced);
    assert_eq!(item.last_sync_direction, Some(Direction::DojoToTracker));
    assert_eq!(item.last_sync_at, Some(at(500)));
    assert_eq!(item.finding_id, Some(11));
    // The tracker's first own change is newer than "nothing".
    let [e1, e2] = event_ids();
    assert_eq!(
        store
            .record_tracker_change(&p, &change(&fresh, Status::Done, None, at(0)), e1)
            .await
            .unwrap(),
        TrackerRecord::Applied
    );
    let item = store.item(&p, &fresh).await.unwrap().unwrap();
    assert_eq!(item.tracker, Some(state(Status::Done, "waiting for creds")));

    // An item the tracker changed: DefectDojo's state replaces it, the
    // tracker version stays (it orders the tracker's own changes).
    let known = wstg("WSTG-SESS-02");
    store
        .record_tracker_change(
            &p,
            &change(&known, Status::InProgress, Some("t"), at(0)),
            e2,
        )
        .await
        .unwrap();
    // A pull decided before the tracker's change was recorded is refused.
    let stale = Pulled {
        finding_id: 12,
        dojo: dojo(12, Status::NotApplicable, "out of scope"),
        synced: state(Status::NotApplicable, "out of scope"),
        at: at(9_000),
        seen_tracker_event_id: None,
    };
    assert!(!store.mark_pulled(&p, &known, &stale).await.unwrap());
    let item = store.item(&p, &known).await.unwrap().unwrap();
    assert_eq!(
        item.tracker.as_ref().map(|t| t.status),
        Some(Status::InProgress)
    );
    let applied = store
        .mark_pulled(
            &p,
            &known,
            &Pulled {
                seen_tracker_event_id: Some(e2),
                ..stale
            },
        )
        .await
        .unwrap();
    assert!(applied);
    let item = store.item(&p, &known).await.unwrap().unwrap();
    assert_eq!(
        item.tracker,
        Some(state(Status::NotApplicable, "out of scope"))
    );
    assert_eq!(item.last_synced, item.tracker);
    assert_eq!(item.tracker_event_id, Some(e2));
    assert_eq!(item.tracker_changed_at, Some(at(0)));
    assert_eq!(item.sync_state, SyncState::Synced);
    assert_eq!(item.dojo.map(|d| d.finding_id), Some(12));
}

async fn failures_and_conflicts_stand_until_resolved(db: &FreshDb) {
    let store = store(db).await;
    let (p, id) = (project("default"), wstg("WSTG-INPV-01"));
    let [e1, e2] = event_ids();
    store
        .record_tracker_change(&p, &change(&id, Status::Done, None, at(0)), e1)
        .await
        .unwrap();

    store
        .mark_failed(&p, &id, "DefectDojo answered 400: bad flags")
        .await
        .unwrap();
    let item = store.item(&p, &id).await.unwrap().unwrap();
    assert_eq!(item.sync_state, SyncState::Failed);
    assert_eq!(
        item.last_error.as_deref(),
        Some("DefectDojo answered 400: bad flags")
    );

    store.mark_conflict(&p, &id).await.unwrap();
    let item = store.item(&p, &id).await.unwrap().unwrap();
    assert_eq!(item.sync_state, SyncState::Conflict);

    // A new tracker change makes it pending again.
    store
        .record_tracker_change(&p, &change(&id, Status::Blocked, None, at(1)), e2)
        .await
        .unwrap();
    let item = store.item(&p, &id).await.unwrap().unwrap();
    assert_eq!(item.sync_state, SyncState::Pending);

    // "Both sides agree" settles only the version that was looked at.
    assert!(!store.mark_in_sync(&p, &id, Some(e1)).await.unwrap());
    assert_eq!(
        store.item(&p, &id).await.unwrap().unwrap().sync_state,
        SyncState::Pending
    );
    assert!(store.mark_in_sync(&p, &id, Some(e2)).await.unwrap());
    let item = store.item(&p, &id).await.unwrap().unwrap();
    assert_eq!(item.sync_state, SyncState::Synced);
    assert_eq!(item.last_error, None);

    // Long errors are bounded.
    let long = "x".repeat(100_000);
    store.mark_failed(&p, &id, &long).await.unwrap();
    let item = store.item(&p, &id).await.unwrap().unwrap();
    assert_eq!(item.last_error.map(|e| e.len()), Some(8 * 1024));

    // Marking an item the store never saw creates it.
    let unseen = wstg("WSTG-INPV-02");
    store.mark_conflict(&p, &unseen).await.unwrap();
    let item = store.item(&p, &unseen).await.unwrap().unwrap();
    assert_eq!(item.sync_state, SyncState::Conflict);
    assert_eq!(item.tracker, None);
}

async fn unlink_forgets_the_finding_and_keeps_the_last_sync(db: &FreshDb) {
    let store = store(db).await;
    let (p, id) = (project("default"), wstg("WSTG-CRYP-01"));
    let [e1, e2] = event_ids();
    store
        .record_tracker_change(&p, &change(&id, Status::Done, Some("ok"), at(0)), e1)
        .await
        .unwrap();
    store
        .mark_pushed(
            &p,
            &id,
            &Pushed {
                finding_id: 99,
                dojo: dojo(99, Status::Done, "ok"),
                synced: state(Status::Done, "ok"),
                pushed_event_id: e1,
                at: at(1_000),
            },
        )
        .await
        .unwrap();

    store.unlink(&p, &id).await.unwrap();
    let item = store.item(&p, &id).await.unwrap().unwrap();
    assert_eq!(item.finding_id, None);
    assert_eq!(item.dojo, None);
    assert_eq!(item.dojo_changed_at, None);
    assert_eq!(item.last_synced, Some(state(Status::Done, "ok")));
    assert_eq!(item.tracker, Some(state(Status::Done, "ok")));
    assert_eq!(item.sync_state, SyncState::Synced);

    // Unlinking twice, or an unknown item, is harmless.
    store.unlink(&p, &id).await.unwrap();
    store.unlink(&p, &wstg("WSTG-CRYP-02")).await.unwrap();
    assert_eq!(store.item(&p, &wstg("WSTG-CRYP-02")).await.unwrap(), None);

    // The next tracker change is recorded as usual.
    assert_eq!(
        store
            .record_tracker_change(&p, &change(&id, Status::InProgress, None, at(2_000)), e2)
            .await
            .unwrap(),
        TrackerRecord::Applied
    );
}

async fn items_lists_one_project_by_id(db: &FreshDb) {
    let store = store(db).await;
    let (a, b) = (project("Alpha"), project("Beta"));
    let ids = event_ids::<3>();
    for (raw, e) in [("WSTG-INFO-03", ids[0]), ("WSTG-INFO-01", ids[1])] {
        store
            .record_tracker_change(&a, &change(&wstg(raw), Status::InProgress, None, at(0)), e)
            .await
            .unwrap();
    }
    store
        .record_tracker_change(
            &b,
            &change(&wstg("WSTG-INFO-02"), Status::Done, None, at(0)),
            ids[2],
        )
        .await
        .unwrap();
    let listed: Vec<String> = store
        .items(&a)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.wstg_id.to_string())
        .collect();
    assert_eq!(listed, ["WSTG-INFO-01", "WSTG-INFO-03"]);
    assert_eq!(store.items(&b).await.unwrap().len(), 1);
    assert!(store.items(&project("Gamma")).await.unwrap().is_empty());
}

/// A batch is recorded as if each change were recorded alone, in the order
/// given: newest wins per item, a stale change touches nothing, and a change
/// without notes keeps notes an earlier change of the same batch set.
async fn a_batch_of_changes_is_recorded_like_one_by_one(db: &FreshDb) {
    let store = store(db).await;
    let (a, b) = (project("alpha"), project("beta"));
    let (i1, i2) = (wstg("WSTG-INFO-01"), wstg("WSTG-INFO-02"));
    let ids: [uuid::Uuid; 5] = event_ids();
    let changes = [
        change(&i2, Status::InProgress, Some("b first"), at(1_000)),
        change(&i1, Status::InProgress, Some("a first"), at(1_000)),
        change(&i1, Status::Done, None, at(2_000)),
        change(&i1, Status::Blocked, Some("late and older"), at(1_500)),
        change(&i2, Status::Done, Some("b second"), at(3_000)),
    ];
    let projects = [&b, &a, &a, &a, &b];
    let batch: Vec<_> = (0..5).map(|k| (projects[k], &changes[k], ids[k])).collect();
    let results = store.record_tracker_changes(&batch).await.unwrap();
    use TrackerRecord::{Applied, Stale};
    assert_eq!(results, [Applied, Applied, Applied, Stale, Applied]);

    let one = store.item(&a, &i1).await.unwrap().unwrap();
    assert_eq!(one.tracker, Some(state(Status::Done, "a first")));
    assert_eq!(one.tracker_event_id, Some(ids[2]));
    assert_eq!(one.sync_state, SyncState::Pending);
    let two = store.item(&b, &i2).await.unwrap().unwrap();
    assert_eq!(two.tracker, Some(state(Status::Done, "b second")));
    assert_eq!(two.tracker_event_id, Some(ids[4]));
    // The same batch again (a redelivery) changes nothing.
    let again = store.record_tracker_changes(&batch).await.unwrap();
    assert_eq!(again, [Stale; 5]);
    assert_eq!(store.item(&a, &i1).await.unwrap().unwrap(), one);
    assert!(store.record_tracker_changes(&[]).await.unwrap().is_empty());
}

on_both_backends!(
    the_first_change_creates_a_pending_item,
    an_older_change_after_a_newer_one_is_stale,
    equal_times_are_ordered_by_event_id,
    a_change_without_notes_keeps_the_stored_notes,
    a_push_marks_the_item_synced_with_the_snapshot,
    pushing_an_older_version_while_a_newer_is_recorded_stays_pending,
    a_pull_copies_defectdojo_state_to_the_tracker,
    failures_and_conflicts_stand_until_resolved,
    unlink_forgets_the_finding_and_keeps_the_last_sync,
    items_lists_one_project_by_id,
    a_batch_of_changes_is_recorded_like_one_by_one,
);
