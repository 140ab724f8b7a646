//! Fan-out feeds: every reader sees every entry, resumable from an id.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use wstg_queue::{Feed, Queue, QueueConfig};

async fn queue() -> Queue {
    Queue::connect(QueueConfig::new(
        test_support::redis_url(),
        test_support::unique_prefix(),
    ))
    .await
    .unwrap()
}

#[tokio::test]
async fn two_readers_both_see_every_entry_and_resume_from_an_id() {
    let q = queue().await;
    let start = q.feed_last_id(Feed::Changes).await.unwrap();
    assert_eq!(start, "0-0");
    let mut a = q
        .feed_reader(Feed::Changes, start.clone(), Duration::from_millis(1500))
        .await
        .unwrap();
    let mut b = q
        .feed_reader(Feed::Changes, start, Duration::from_millis(1500))
        .await
        .unwrap();
    let first = q.publish_feed(Feed::Changes, r#"{"n":1}"#).await.unwrap();
    q.publish_feed(Feed::Changes, r#"{"n":2}"#).await.unwrap();
    for reader in [&mut a, &mut b] {
        let mut got = Vec::new();
        while got.len() < 2 {
            got.extend(reader.next().await.unwrap());
        }
        assert_eq!(
            got.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(),
            [r#"{"n":1}"#, r#"{"n":2}"#]
        );
    }
    // An empty BLOCK longer than the default response timeout is not an error.
    assert!(a.next().await.unwrap().is_empty());
    let since = q.feed_since(Feed::Changes, &first, 10).await.unwrap();
    assert_eq!(since.len(), 1);
    assert_eq!(since[0].data, r#"{"n":2}"#);
    // Feeds are separate.
    assert!(q
        .feed_since(Feed::PollHints, "0", 10)
        .await
        .unwrap()
        .is_empty());
}
