//! Upgrading from the key layout before the hash tag: a service refuses to
//! start beside old-layout work, and `migrate_legacy_keys` (what `wstgctl
//! migrate` runs) renames it with its consumer group and pending entries.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use wstg_queue::{Queue, QueueError};

#[tokio::test]
async fn old_layout_work_blocks_start_until_migrated() {
    let cfg = config();
    let p = cfg.prefix.clone();
    let mut raw = raw().await;
    // What the previous release left: a stream with a group and one
    // pending entry, a delayed retry, a lease of another deployment whose
    // prefix extends ours.
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(format!("{p}:events"))
        .arg("workers")
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut raw)
        .await
        .unwrap();
    let _: String = redis::cmd("XADD")
        .arg(format!("{p}:events"))
        .arg("*")
        .arg("data")
        .arg("{}")
        .query_async(&mut raw)
        .await
        .unwrap();
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("workers")
        .arg("old-worker")
        .arg("STREAMS")
        .arg(format!("{p}:events"))
        .arg(">")
        .query_async(&mut raw)
        .await
        .unwrap();
    let _: () = redis::cmd("ZADD")
        .arg(format!("{p}:delayed"))
        .arg(1)
        .arg("e1")
        .query_async(&mut raw)
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(format!("{p}:other:events"))
        .arg("not ours")
        .query_async(&mut raw)
        .await
        .unwrap();

    let refused = Queue::connect(cfg.clone()).await.unwrap_err();
    assert!(matches!(refused, QueueError::Config(_)), "{refused}");
    let shown = refused.to_string();
    assert!(
        shown.contains("wstgctl migrate") && shown.contains(&format!("{p}:events")),
        "{shown}"
    );
    assert!(!refused.is_transient());

    let q = Queue::open(cfg.clone()).await.unwrap();
    let done = q.migrate_legacy_keys().await.unwrap();
    assert_eq!(done.renamed, 2, "{done:?}");
    assert!(done.conflicts.is_empty());
    // Idempotent.
    assert_eq!(q.migrate_legacy_keys().await.unwrap().renamed, 0);

    let q = Queue::connect(cfg).await.unwrap();
    let stats = q.stats().await.unwrap();
    assert_eq!((stats.stream_len, stats.pending, stats.delayed), (1, 1, 1));
    // Not a key of this deployment's layout: left alone.
    let other: Option<String> = redis::cmd("GET")
        .arg(format!("{p}:other:events"))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(other.as_deref(), Some("not ours"));
    let _: () = redis::cmd("DEL")
        .arg(format!("{p}:other:events"))
        .query_async(&mut raw)
        .await
        .unwrap();
    cleanup(&q).await;
}
