//! An item's discussion: bounded per item, linked once, imported once.

use test_support::FreshDb;
use wstg_domain::{CommentBody, Username};

use crate::common::*;

fn user(s: &str) -> Username {
    Username::parse(s).unwrap()
}

fn body(s: &str) -> CommentBody {
    CommentBody::parse(s).unwrap()
}

async fn comments_are_bounded_linked_once_and_imported_once(db: &FreshDb) {
    let store = store(db).await;
    let (p, id) = (project("alpha"), wstg("WSTG-INFO-01"));
    let first = store
        .add_comment(&p, &id, &user("Alice"), &body("first"), 3)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.author.as_str(), "alice");
    assert_eq!(first.origin, "tracker");
    assert!(!first.synced && !first.post_started);
    assert_eq!(
        store.items_with_unsent_comments(&p, at(0)).await.unwrap(),
        vec![id.clone()]
    );

    // The write-ahead mark, then the note id; a second link keeps the first.
    store.mark_comment_posting(first.id).await.unwrap();
    // Tried just now: not handed out again before the retry time.
    assert!(store
        .items_with_unsent_comments(&p, at(0))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .items_with_unsent_comments(&p, chrono::Utc::now() + chrono::Duration::hours(1))
            .await
            .unwrap(),
        vec![id.clone()]
    );
    store.link_comment(first.id, 41).await.unwrap();
    store.link_comment(first.id, 99).await.unwrap();
    let got = store.comments(&p, &id).await.unwrap();
    assert_eq!(got[0].dojo_note_id, Some(41));
    assert!(got[0].post_started && got[0].synced);
    assert!(store
        .items_with_unsent_comments(&p, chrono::Utc::now() + chrono::Duration::hours(1))
        .await
        .unwrap()
        .is_empty());

    // A note comes back once, whoever reads it.
    let when = at(1_000);
    assert!(store
        .import_comment(&p, &id, 42, &user("lead"), &body("seen"), Some(when))
        .await
        .unwrap());
    assert!(!store
        .import_comment(&p, &id, 42, &user("lead"), &body("seen"), Some(when))
        .await
        .unwrap());
    let got = store.comments(&p, &id).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].body.as_str(),
        "seen",
        "oldest first: the note's date"
    );
    assert_eq!(got[0].created_at, when);
    assert_eq!(got[0].origin, "dojo");

    // The bound: a third fits, a fourth does not; other items are apart.
    assert!(store
        .add_comment(&p, &id, &user("bob"), &body("third"), 3)
        .await
        .unwrap()
        .is_some());
    assert!(store
        .add_comment(&p, &id, &user("bob"), &body("fourth"), 3)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .comments(&project("beta"), &id)
        .await
        .unwrap()
        .is_empty());
}

on_both_backends!(comments_are_bounded_linked_once_and_imported_once);

async fn an_assignee_is_kept_set_cleared_pushed_and_pulled(db: &FreshDb) {
    use wstg_domain::Status;
    use wstg_store::{Pulled, Pushed};
    let store = store(db).await;
    let (p, id) = (project("alpha"), wstg("WSTG-INFO-02"));
    let [e1, e2, e3] = event_ids();
    let assigned = |who: Option<&str>| who.map(user);
    let tracker_assignee = |r: Option<wstg_store::ItemRecord>| {
        r.unwrap()
            .tracker
            .unwrap()
            .assignee
            .map(|a| a.as_str().to_owned())
    };

    let mut c = change(&id, Status::InProgress, None, at(1_000));
    c.assignee = Some(assigned(Some("Bob")));
    store.record_tracker_change(&p, &c, e1).await.unwrap();
    assert_eq!(
        tracker_assignee(store.item(&p, &id).await.unwrap()).as_deref(),
        Some("bob")
    );

    // Absent keeps it; null clears it.
    let c = change(&id, Status::Blocked, None, at(2_000));
    store.record_tracker_change(&p, &c, e2).await.unwrap();
    assert_eq!(
        tracker_assignee(store.item(&p, &id).await.unwrap()).as_deref(),
        Some("bob")
    );
    let mut c = change(&id, Status::Blocked, None, at(3_000));
    c.assignee = Some(None);
    store.record_tracker_change(&p, &c, e3).await.unwrap();
    assert_eq!(tracker_assignee(store.item(&p, &id).await.unwrap()), None);

    // A push records the synced assignee; a pull sets both.
    let mut synced = state(Status::Blocked, "");
    synced.assignee = assigned(Some("carol"));
    store
        .mark_pushed(
            &p,
            &id,
            &Pushed {
                finding_id: 9,
                dojo: dojo(9, Status::Blocked, ""),
                synced: synced.clone(),
                pushed_event_id: e3,
                at: at(4_000),
            },
        )
        .await
        .unwrap();
    let r = store.item(&p, &id).await.unwrap().unwrap();
    assert_eq!(r.last_synced.unwrap().assignee, assigned(Some("carol")));
    synced.assignee = assigned(Some("dave"));
    assert!(store
        .mark_pulled(
            &p,
            &id,
            &Pulled {
                finding_id: 9,
                dojo: dojo(9, Status::Blocked, ""),
                synced,
                at: at(5_000),
                seen_tracker_event_id: Some(e3),
            },
        )
        .await
        .unwrap());
    let r = store.item(&p, &id).await.unwrap().unwrap();
    assert_eq!(r.tracker.unwrap().assignee, assigned(Some("dave")));
    assert_eq!(r.last_synced.unwrap().assignee, assigned(Some("dave")));
}

on_both_backends!(an_assignee_is_kept_set_cleared_pushed_and_pulled);
