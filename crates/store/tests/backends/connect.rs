//! Connecting: migrations, SQLite file set-up, concurrent start-up, and
//! errors that never show a password.

use sqlx::{AnyPool, Row};
use test_support::FreshDb;
use wstg_store::{Backend, Store, StoreError, MIGRATOR};

use crate::common::*;

async fn applied_migrations(db: &FreshDb) -> i64 {
    let pool = AnyPool::connect(&db.url).await.unwrap();
    let row = sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE success = TRUE")
        .fetch_one(&pool)
        .await
        .unwrap();
    let n: i64 = row.try_get("n").unwrap();
    pool.close().await;
    n
}

async fn migrations_apply_on_a_fresh_database_and_twice_is_fine(db: &FreshDb) {
    let first = store(db).await;
    first.ping().await.unwrap();
    let expected = match db.kind {
        "sqlite" => Backend::Sqlite,
        _ => Backend::Postgres,
    };
    assert_eq!(first.backend(), expected);
    assert!(first.items(&project("default")).await.unwrap().is_empty());
    assert!(first.projects().await.unwrap().is_empty());
    first.close().await;

    // A second start finds the schema current and changes nothing.
    let second = store(db).await;
    second.ping().await.unwrap();
    let migrations = i64::try_from(MIGRATOR.iter().count()).unwrap();
    assert!(migrations >= 1);
    assert_eq!(applied_migrations(db).await, migrations);

    // Running the migrator itself again is a no-op too.
    let pool = AnyPool::connect(&db.url).await.unwrap();
    MIGRATOR.run(&pool).await.unwrap();
    pool.close().await;
    assert_eq!(applied_migrations(db).await, migrations);
}

/// The ingest API and three workers start together on a database nobody
/// has migrated yet.
async fn processes_starting_together_all_connect(db: &FreshDb) {
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { Store::connect(&url).await })
        })
        .collect();
    for start in starts {
        let store = start.await.unwrap().unwrap();
        store.ping().await.unwrap();
    }
    let migrations = i64::try_from(MIGRATOR.iter().count()).unwrap();
    assert_eq!(applied_migrations(db).await, migrations);
}

on_both_backends!(
    migrations_apply_on_a_fresh_database_and_twice_is_fine,
    processes_starting_together_all_connect,
);

#[tokio::test]
async fn sqlite_creates_the_directory_and_uses_wal() {
    let db = test_support::fresh_sqlite();
    // fresh_sqlite's directory exists; put the file two levels below it.
    let url = db.url.replace("/wstg.db?", "/data/nested/wstg.db?");
    assert_ne!(url, db.url);
    let store = Store::connect(&url).await.unwrap();
    let pool = AnyPool::connect(&url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mode.to_ascii_lowercase(), "wal");
    store.ping().await.unwrap();
    pool.close().await;
}

/// `sqlite:///path/x.db`, as a user writes it (no `?mode=rwc`), creates the file.
#[tokio::test]
async fn a_sqlite_url_without_mode_creates_the_file() {
    let db = test_support::fresh_sqlite();
    let file = db
        .url
        .trim_start_matches("sqlite://")
        .trim_end_matches("?mode=rwc")
        .replace("/wstg.db", "/plain.db");
    let url = format!("sqlite://{file}");
    assert!(!std::path::Path::new(&file).exists());
    let store = Store::connect(&url).await.unwrap();
    store.ping().await.unwrap();
    assert!(std::path::Path::new(&file).exists());
    store.close().await;
}

/// A directory the file cannot be created in is named, with the reason and
/// the variable to change, instead of SQLite's "unable to open database file".
/// (/proc refuses new files even to root, so this holds under any user.)
#[tokio::test]
async fn an_unwritable_sqlite_directory_is_reported_by_path() {
    let err = Store::connect("sqlite:///proc/wstg-store-test.db")
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::CreateFile { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("cannot create the SQLite database file /proc/wstg-store-test.db: "),
        "{msg}"
    );
    assert!(msg.contains("WSTG_DATABASE_URL"), "{msg}");
}

#[tokio::test]
async fn errors_and_debug_output_never_show_the_password() {
    // Nothing listens on port 1: the connection is refused (and retried
    // until the timeout, as when the database starts after the services).
    let quick = wstg_store::StoreOptions {
        acquire_timeout: std::time::Duration::from_millis(500),
        ..Default::default()
    };
    let err = Store::connect_with("postgres://bridge:hunter2-secret@127.0.0.1:1/wstg", &quick)
        .await
        .unwrap_err();
    let shown = format!("{err} / {err:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        shown.contains("postgres://bridge@127.0.0.1:1/wstg"),
        "{shown}"
    );
    assert!(err.is_transient());

    // A database that does not exist fails at once, and not transiently.
    let err = Store::connect("postgres://postgres:hunter2-secret@127.0.0.1:5432/wstg_no_such_db")
        .await
        .unwrap_err();
    let shown = format!("{err} / {err:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("wstg_no_such_db"), "{shown}");
    assert!(!err.is_transient(), "{shown}");

    // PostgreSQL here trusts local connections, so a password in the URL is
    // accepted and ignored: the connected store must not show it either.
    let db = test_support::fresh_postgres().await.unwrap();
    let with_password = db.url.replacen(
        "postgres://postgres@",
        "postgres://postgres:hunter2-secret@",
        1,
    );
    assert_ne!(with_password, db.url);
    let store = Store::connect(&with_password).await.unwrap();
    let shown = format!("{store:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    store.close().await;
}

#[tokio::test]
async fn unsupported_urls_are_refused_up_front() {
    let err = Store::connect("mysql://root:hunter2@localhost/db")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidUrl { .. }), "{err}");
    assert!(!err.to_string().contains("hunter2"));
    assert!(!err.is_transient());
}

/// Every call's future can be spawned (callers run the store from
/// `tokio::spawn`ed tasks); a non-`Send` future would only fail to compile
/// in their crates.
#[allow(dead_code)]
fn every_future_is_send_and_spawnable(store: wstg_store::Store) {
    fn spawnable<T: Send + 'static>(_: T) {}
    use wstg_store::*;
    let (p, id) = (project("default"), wstg("WSTG-INFO-01"));
    let s = store;
    // The names come from the call site so the clones are what `$call` uses.
    macro_rules! check {
        ($s:ident, $p:ident, $id:ident; $($call:expr;)*) => {$({
            let ($s, $p, $id) = ($s.clone(), $p.clone(), $id.clone());
            spawnable(async move {
                let _ = (&$s, &$p, &$id);
                let _ = $call;
            });
        })*};
    }
    check! { s, p, id;
        Store::connect("sqlite://x.db").await;
        s.ping().await;
        s.project_links(&p).await;
        s.save_project_links(&p, &ProjectLinks { product_type_id: 1, product_id: 1, engagement_id: 1, test_type_id: 1, test_id: 1 }).await;
        s.projects().await;
        s.record_tracker_change(&p, &change(&id, wstg_domain::Status::Done, None, at(0)), uuid::Uuid::now_v7()).await;
        s.item(&p, &id).await;
        s.items(&p).await;
        s.mark_failed(&p, &id, "e").await;
        s.mark_conflict(&p, &id).await;
        s.mark_in_sync(&p, &id, None).await;
        s.unlink(&p, &id).await;
        s.append_audit(&AuditEntry::new(p.clone(), id.clone(), Direction::TrackerToDojo)).await;
        s.recent_audit(Some(&p), 1).await;
        s.status_summary(None).await;
        s.close().await;
    }
}
