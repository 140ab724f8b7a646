//! Connecting: migrations, SQLite file set-up, concurrent start-up, and
//! errors that never show a password.

use sqlx::{AnyPool, Row};
use test_support::FreshDb;
use wstg_store::{expected_version, Backend, SchemaState, Store, StoreError, MIGRATOR};

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
    let migrations = i64::try_from(MIGRATOR.iter().count()).unwrap();
    assert!(migrations >= 1);
    let first = Store::migrate(&db.url).await.unwrap();
    assert_eq!(first.version, expected_version());
    assert_eq!(i64::try_from(first.applied.len()).unwrap(), migrations);
    let store = Store::connect(&db.url).await.unwrap();
    store.ping().await.unwrap();
    let expected = match db.kind {
        "sqlite" => Backend::Sqlite,
        _ => Backend::Postgres,
    };
    assert_eq!(store.backend(), expected);
    assert!(store.items(&project("default")).await.unwrap().is_empty());
    assert!(store.projects().await.unwrap().is_empty());
    store.close().await;

    // A second run finds the schema current and changes nothing.
    let second = Store::migrate(&db.url).await.unwrap();
    assert_eq!(second.version, first.version);
    assert!(second.applied.is_empty(), "{second:?}");
    assert_eq!(applied_migrations(db).await, migrations);
}

/// Connecting neither migrates nor creates: an empty database is refused
/// with a message naming `wstgctl migrate`, and stays empty.
async fn connect_refuses_an_unmigrated_database(db: &FreshDb) {
    if db.kind == "sqlite" {
        // fresh_sqlite names a file that does not exist yet.
        let err = Store::connect(&db.url).await.unwrap_err();
        assert!(matches!(err, StoreError::Missing { .. }), "{err:?}");
        assert!(err.to_string().contains("wstgctl migrate"), "{err}");
        let file = db
            .url
            .trim_start_matches("sqlite://")
            .trim_end_matches("?mode=rwc");
        assert!(
            !std::path::Path::new(file).exists(),
            "connect created {file}"
        );
        std::fs::File::create(file).unwrap();
    }
    let err = Store::connect(&db.url).await.unwrap_err();
    match &err {
        StoreError::Schema(m) => assert_eq!(m.state, SchemaState::Empty),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("run `wstgctl migrate`"), "{err}");
    assert!(!err.is_transient());
    assert_eq!(
        Store::schema_state(&db.url).await.unwrap(),
        SchemaState::Empty
    );
}

/// A database migrated by a newer build (a migration this one does not
/// know) is refused by connect and by migrate: never downgraded.
async fn a_newer_schema_is_refused(db: &FreshDb) {
    Store::migrate(&db.url).await.unwrap();
    let pool = AnyPool::connect(&db.url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99991231000001, 'from the future', TRUE, $1, 0)",
    )
    .bind(vec![0_u8; 48])
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    for err in [
        Store::connect(&db.url).await.unwrap_err(),
        Store::migrate(&db.url).await.unwrap_err(),
    ] {
        match &err {
            StoreError::Schema(m) => assert!(
                matches!(
                    m.state,
                    SchemaState::Newer {
                        version: 99_991_231_000_001,
                        ..
                    }
                ),
                "{m:?}"
            ),
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("newer than this build's"), "{err}");
    }
}

/// The ingest API and three workers run `wstgctl migrate` together on a
/// database nobody has migrated yet (an orchestrator's init jobs may).
async fn migrations_running_together_all_succeed(db: &FreshDb) {
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { Store::migrate(&url).await })
        })
        .collect();
    for run in runs {
        run.await.unwrap().unwrap();
    }
    Store::connect(&db.url).await.unwrap().ping().await.unwrap();
    let migrations = i64::try_from(MIGRATOR.iter().count()).unwrap();
    assert_eq!(applied_migrations(db).await, migrations);
}

on_both_backends!(
    migrations_apply_on_a_fresh_database_and_twice_is_fine,
    connect_refuses_an_unmigrated_database,
    a_newer_schema_is_refused,
    migrations_running_together_all_succeed,
);

#[tokio::test]
async fn migrate_creates_the_sqlite_directory_and_uses_wal() {
    let db = test_support::fresh_sqlite();
    // fresh_sqlite's directory exists; put the file two levels below it.
    let url = db.url.replace("/wstg.db?", "/data/nested/wstg.db?");
    assert_ne!(url, db.url);
    Store::migrate(&url).await.unwrap();
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

/// `sqlite:///path/x.db`, as a user writes it (no `?mode=rwc`): migrate
/// creates the file.
#[tokio::test]
async fn a_sqlite_url_without_mode_is_created_by_migrate() {
    let db = test_support::fresh_sqlite();
    let file = db
        .url
        .trim_start_matches("sqlite://")
        .trim_end_matches("?mode=rwc")
        .replace("/wstg.db", "/plain.db");
    let url = format!("sqlite://{file}");
    assert!(!std::path::Path::new(&file).exists());
    Store::migrate(&url).await.unwrap();
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
    let err = Store::migrate("sqlite:///proc/wstg-store-test.db")
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

/// `VACUUM INTO` while the store is open: the copy opens as a current
/// database holding the same rows; an existing destination is refused.
#[tokio::test]
async fn a_sqlite_backup_opens_and_holds_the_same_rows() {
    let db = test_support::fresh_sqlite();
    let store = store(&db).await;
    let p = project("default");
    for (i, raw) in ["WSTG-INFO-01", "WSTG-INFO-02", "WSTG-ATHN-03"]
        .iter()
        .enumerate()
    {
        let id = wstg(raw);
        let when = at(i64::try_from(i).unwrap());
        store
            .record_tracker_change(
                &p,
                &change(&id, wstg_domain::Status::Done, Some("n"), when),
                uuid::Uuid::now_v7(),
            )
            .await
            .unwrap();
    }
    let dir = db
        .url
        .trim_start_matches("sqlite://")
        .trim_end_matches("/wstg.db?mode=rwc")
        .to_owned();
    let copy = std::path::Path::new(&dir).join("backup.db");
    store.backup_to(&copy).await.unwrap();
    let again = store.backup_to(&copy).await.unwrap_err();
    assert!(again.to_string().contains("exists already"), "{again}");

    let restored = Store::connect(&format!("sqlite://{}", copy.display()))
        .await
        .unwrap();
    let ids = |items: Vec<wstg_store::ItemRecord>| {
        let mut v: Vec<String> = items.into_iter().map(|r| r.wstg_id.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(
        ids(restored.items(&p).await.unwrap()),
        ids(store.items(&p).await.unwrap())
    );
    assert_eq!(restored.items(&p).await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_postgres_backup_is_left_to_pg_dump() {
    let db = test_support::fresh_postgres().await.unwrap();
    let store = store(&db).await;
    let err = store
        .backup_to(std::path::Path::new("/tmp/never-written.db"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("pg_dump"), "{err}");
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
    Store::migrate(&with_password).await.unwrap();
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
        Store::migrate("sqlite://x.db").await;
        s.backup_to(std::path::Path::new("x")).await;
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
