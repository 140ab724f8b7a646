//! The ops targets of the Makefile with no demo running: they say so, name
//! the variable to set, create nothing (no ./data/wstg.db) and return at once.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use test_support::process::free_port;

/// `make <target>` in the repository, for a demo port nothing runs on.
async fn make(target: &str, port: u16) -> Output {
    let run = tokio::process::Command::new("make")
        .args(["-s", target, &format!("DEMO_INGEST_PORT={port}")])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("WSTG_DATABASE_URL")
        .env_remove("WSTG_REDIS_URL")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .unwrap_or_else(|_| panic!("make {target} did not return within 30 s"))
        .unwrap()
}

#[tokio::test]
async fn wstg_status_without_a_demo_names_the_variable_and_creates_nothing() {
    let db = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/wstg.db");
    let existed = db.exists();
    let port = free_port();
    for target in ["wstg-status", "dlq", "sync-wstg"] {
        let out = make(target, port).await;
        assert_eq!(out.status.code(), Some(2), "{target}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("no demo is running on port {port}"))
                && stderr.contains("WSTG_DATABASE_URL is not set"),
            "{target}: {stderr}"
        );
    }
    assert_eq!(db.exists(), existed, "{} appeared", db.display());
}

#[tokio::test]
async fn wstg_logs_without_a_demo_says_so_instead_of_waiting() {
    let port = free_port();
    let out = make("wstg-logs", port).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("no demo is running on port {port}")),
        "{stderr}"
    );
}
