//! Migrations are an explicit step (`wstgctl migrate`): each service, started
//! on a database without this build's schema (none yet, or a newer one),
//! refuses to start and says what to run, instead of migrating or writing
//! into a schema it does not know.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use test_support::process::bin;

const SERVICES: [&str; 3] = ["wstg-ingest", "wstg-worker", "wstg-poller"];

/// Starts `service` on `db_url`; it must exit non-zero within 30 s.
/// Returns its stderr.
async fn refused(service: &str, db_url: &str) -> String {
    let prefix = test_support::unique_prefix();
    let env = service_env(&prefix, db_url, "http://127.0.0.1:1", "127.0.0.1:0");
    let mut cmd = tokio::process::Command::new(bin(service));
    for (k, _) in std::env::vars() {
        if k.starts_with("WSTG_") && !k.starts_with("WSTG_TEST_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{service} kept running on an unusable database"))
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{service} started: {stderr}");
    let _ = test_support::redis_env::delete_prefix(&prefix).await;
    stderr
}

#[tokio::test]
async fn services_refuse_a_database_that_was_never_migrated() {
    let db = test_support::fresh_sqlite();
    let file = db
        .url
        .trim_start_matches("sqlite://")
        .trim_end_matches("?mode=rwc")
        .to_owned();
    // No file at all: nothing is created.
    for service in SERVICES {
        let err = refused(service, &db.url).await;
        assert!(
            err.contains("no SQLite database") && err.contains("wstgctl migrate"),
            "{service}: {err}"
        );
        assert!(
            !std::path::Path::new(&file).exists(),
            "{service} created {file}"
        );
    }
    // An empty database: refused, and left empty.
    std::fs::File::create(&file).unwrap();
    for service in SERVICES {
        let err = refused(service, &db.url).await;
        assert!(
            err.contains("has no schema yet") && err.contains("run `wstgctl migrate`"),
            "{service}: {err}"
        );
    }
    assert_eq!(
        wstg_store::Store::schema_state(&db.url).await.unwrap(),
        wstg_store::SchemaState::Empty
    );
}

#[tokio::test]
async fn services_refuse_a_schema_newer_than_theirs() {
    let db = test_support::fresh_sqlite();
    wstg_harness::migrate(&db).await;
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99991231000001, 'from a newer build', TRUE, x'00', 0)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
    for service in SERVICES {
        let err = refused(service, &db.url).await;
        assert!(
            err.contains("schema version 99991231000001, newer than this build's")
                && err.contains("wstgctl migrate"),
            "{service}: {err}"
        );
    }
}
