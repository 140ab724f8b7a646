//! Starting the services as an operator does: `--help` and `--version`
//! answer without starting anything, an unknown setting stops the start
//! naming it, and a service started before Redis waits for it and becomes
//! ready once it is there.

use std::process::Stdio;
use std::time::Duration;

use test_support::process::{bin, free_port};
use test_support::{eventually_async, fresh_sqlite};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// `name args` with `env` and no other WSTG_* variable; its exit status and
/// output, or an error if it is still running after 20 s (it started).
async fn run(name: &str, args: &[&str], env: &[(&str, String)]) -> (i32, String, String) {
    let mut cmd = Command::new(bin(name));
    cmd.args(args).kill_on_drop(true).stdin(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("WSTG_") || k.starts_with("DOJO_SIM_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let out = tokio::time::timeout(Duration::from_secs(20), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{name} {args:?} did not exit: it started"))
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn every_binary_answers_help_and_version_without_starting() {
    let db = fresh_sqlite();
    for name in [
        "wstg-ingest",
        "wstg-worker",
        "wstg-poller",
        "dojo-sim",
        "wstgctl",
    ] {
        // An address it would listen on, were it to start: free afterwards.
        let port = free_port();
        let env = [
            ("WSTG_INGEST_ADDR", format!("127.0.0.1:{port}")),
            ("WSTG_DATABASE_URL", db.url.clone()),
            ("WSTG_DOJO_TOKEN", "t".to_owned()),
            ("DOJO_SIM_ADDR", format!("127.0.0.1:{port}")),
            ("DOJO_SIM_TOKEN", "t".to_owned()),
        ];
        let (code, out, err) = run(name, &["--help"], &env).await;
        assert_eq!(code, 0, "{name} --help: {err}");
        assert!(out.contains("Usage:"), "{name} --help:\n{out}");
        if name.starts_with("wstg-") {
            for var in [
                "WSTG_CONFIG",
                "WSTG_REDIS_URL",
                "WSTG_DATABASE_URL",
                "WSTG_LOG_LEVEL",
            ] {
                assert!(
                    out.contains(var),
                    "{name} --help does not name {var}:\n{out}"
                );
            }
        }
        let (code, out, err) = run(name, &["--version"], &env).await;
        assert_eq!(code, 0, "{name} --version: {err}");
        assert_eq!(out.trim(), format!("{name} {}", env!("CARGO_PKG_VERSION")));
        std::net::TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("{name} left port {port} bound: {e}"));
    }
}

#[tokio::test]
async fn an_unknown_setting_stops_the_start_naming_it() {
    for name in ["wstg-ingest", "wstg-worker", "wstg-poller"] {
        let (code, _, err) = run(name, &[], &[("WSTG_REDIS_KEY_PREFX", "x".into())]).await;
        assert_eq!(code, 2, "{name}: {err}");
        assert_eq!(
            err.trim(),
            format!("{name}: configuration error: unknown variable WSTG_REDIS_KEY_PREFX (did you mean WSTG_REDIS_KEY_PREFIX?)")
        );
    }
    // A setting the service needs, missing: a configuration error too,
    // found before waiting for Redis.
    let (code, _, err) = run(
        "wstg-worker",
        &[],
        &[(
            "WSTG_REDIS_URL",
            format!("redis://127.0.0.1:{}", free_port()),
        )],
    )
    .await;
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("dojo.token (WSTG_DOJO_TOKEN) is required by wstg-worker"),
        "{err}"
    );
}

#[tokio::test]
async fn a_service_started_before_redis_waits_and_becomes_ready() {
    let redis_port = free_port();
    let ingest_port = free_port();
    let db = fresh_sqlite();
    wstg_harness::migrate(&db).await;
    let mut cmd = Command::new(bin("wstg-ingest"));
    for (k, _) in std::env::vars() {
        if k.starts_with("WSTG_") {
            cmd.env_remove(k);
        }
    }
    let mut ingest = cmd
        .env("WSTG_REDIS_URL", format!("redis://127.0.0.1:{redis_port}"))
        .env("WSTG_REDIS_KEY_PREFIX", test_support::unique_prefix())
        .env("WSTG_DATABASE_URL", &db.url)
        .env("WSTG_INGEST_ADDR", format!("127.0.0.1:{ingest_port}"))
        .env("WSTG_LOG_LEVEL", "warn")
        .env("WSTG_LOG_FORMAT", "json")
        .kill_on_drop(true)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // It says it waits (naming Redis by its address), and does not exit.
    let mut log = BufReader::new(ingest.stderr.take().unwrap()).lines();
    let retry = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = log.next_line().await.unwrap() {
            if line.contains("Redis is not reachable yet; retrying") {
                return line;
            }
        }
        panic!("wstg-ingest exited instead of waiting for Redis");
    })
    .await
    .expect("a retry is logged");
    assert!(
        retry.contains(&format!("127.0.0.1:{redis_port}")),
        "{retry}"
    );
    tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
    assert!(ingest.try_wait().unwrap().is_none(), "wstg-ingest exited");

    // Redis arrives: the ingest starts and answers.
    let _redis = Command::new("redis-server")
        .args([
            "--port",
            &redis_port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .kill_on_drop(true)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server is installed");
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{ingest_port}/healthz");
    eventually_async(
        Duration::from_secs(60),
        "the ingest answers /healthz",
        || {
            let http = http.clone();
            let url = url.clone();
            async move {
                http.get(&url)
                    .send()
                    .await
                    .ok()
                    .filter(|r| r.status().is_success())
                    .map(|_| ())
            }
        },
    )
    .await;
    let mut out = BufReader::new(ingest.stdout.take().unwrap()).lines();
    let first = out.next_line().await.unwrap().unwrap_or_default();
    assert!(first.contains("wstg-ingest listening on"), "{first}");
}
