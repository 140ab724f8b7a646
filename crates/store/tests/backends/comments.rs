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
        store.items_with_unsent_comments(&p).await.unwrap(),
        vec![id.clone()]
    );

    // The write-ahead mark, then the note id; a second link keeps the first.
    store.mark_comment_posting(first.id).await.unwrap();
    store.link_comment(first.id, 41).await.unwrap();
    store.link_comment(first.id, 99).await.unwrap();
    let got = store.comments(&p, &id).await.unwrap();
    assert_eq!(got[0].dojo_note_id, Some(41));
    assert!(got[0].post_started && got[0].synced);
    assert!(store.items_with_unsent_comments(&p).await.unwrap().is_empty());

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
    assert_eq!(got[0].body.as_str(), "seen", "oldest first: the note's date");
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
