//! Bad input gets a 4xx JSON error naming the field and the reason, and
//! nothing reaches the stream; an unreachable Redis gets a 503, never a
//! success for an event that was not stored.

mod common;

use std::time::Duration;

use common::{stream_len, System};
use serde_json::{json, Value};
use test_support::process::free_port;

async fn expect_error(resp: reqwest::Response, status: u16, field: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    assert!(resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json")));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["field"], field, "{body}");
    assert!(
        body["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{body}"
    );
    body
}

#[tokio::test]
async fn malformed_and_invalid_bodies_are_refused_and_nothing_is_queued() {
    let sys = System::start(test_support::fresh_sqlite(), 0).await;
    let url = format!("{}/api/wstg/sync", sys.ingest_url);
    let post_raw = |body: Vec<u8>| {
        sys.http
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    expect_error(
        post_raw(b"{\"wstg_id\": ".to_vec()).await.unwrap(),
        400,
        "body",
    )
    .await;
    expect_error(post_raw(b"[1,2]".to_vec()).await.unwrap(), 400, "body").await;
    let b = expect_error(
        sys.post_sync(&json!({"wstg_id": "WSTG-NOPE-99", "status": "done"}))
            .await,
        400,
        "wstg_id",
    )
    .await;
    assert!(
        b["reason"].as_str().unwrap().contains("4.2"),
        "the error names the catalogue version: {b}"
    );
    expect_error(
        sys.post_sync(&json!({"wstg_id": "INFO-01", "status": "done"}))
            .await,
        400,
        "wstg_id",
    )
    .await;
    expect_error(
        sys.post_sync(&json!({"status": "done"})).await,
        400,
        "wstg_id",
    )
    .await;
    let refused = expect_error(
        sys.post_sync(&json!({"wstg_id": "WSTG-INFO-01", "status": "finished-ish"}))
            .await,
        400,
        "status",
    )
    .await;
    // The 400 lists every accepted spelling (docs/sync-rules.md, "Statuses").
    let reason = refused["reason"].as_str().unwrap_or_default();
    for spelling in [
        "not_started",
        "todo",
        "in_progress",
        "done",
        "closed",
        "n/a",
        "skipped",
    ] {
        assert!(reason.contains(spelling), "{spelling} missing: {reason}");
    }
    expect_error(
        sys.post_sync(&json!({"wstg_id": "WSTG-INFO-01"})).await,
        400,
        "status",
    )
    .await;
    expect_error(
        sys.post_sync(&json!({"wstg_id": "WSTG-INFO-01", "status": 3}))
            .await,
        400,
        "status",
    )
    .await;
    expect_error(
        sys.post_sync(
            &json!({"wstg_id": "WSTG-INFO-01", "status": "done", "timestamp": "yesterday"}),
        )
        .await,
        400,
        "timestamp",
    )
    .await;
    expect_error(
        sys.post_sync(&json!({"wstg_id": "WSTG-INFO-01", "status": "done", "project": "a\u{7}b"}))
            .await,
        400,
        "project",
    )
    .await;
    expect_error(
        sys.post_sync(&json!({"wstg_id": "WSTG-INFO-01", "status": "done", "notes": ["x"]}))
            .await,
        400,
        "notes",
    )
    .await;
    // A 1 MB body, declared and streamed.
    let big = json!({"wstg_id": "WSTG-INFO-01", "status": "done", "notes": "x".repeat(1_000_000)});
    expect_error(sys.post_sync(&big).await, 413, "body").await;

    assert_eq!(stream_len(&sys.prefix).await, 0, "nothing was queued");
    // And a good one is.
    assert_eq!(
        sys.post_sync(&json!({"wstg_id": "wstg-info-01", "status": "N/A"}))
            .await
            .status(),
        202
    );
    assert_eq!(stream_len(&sys.prefix).await, 1);
    // "closed", the word DefectDojo's UI uses, is Done.
    assert_eq!(
        sys.post_sync(&json!({"wstg_id": "wstg-info-02", "status": "Closed"}))
            .await
            .status(),
        202
    );
    assert_eq!(stream_len(&sys.prefix).await, 2);
    sys.stop().await;
}

#[tokio::test]
async fn a_configured_token_is_required_and_never_echoed() {
    let sys = System::start_with(
        test_support::fresh_sqlite(),
        0,
        &[("WSTG_INGEST_TOKEN", "tracker-secret-1")],
    )
    .await;
    let url = format!("{}/api/wstg/sync", sys.ingest_url);
    let body = json!({"wstg_id": "WSTG-INFO-01", "status": "done"});
    // A client of its own: `sys.http` sends the configured token.
    let anonymous = reqwest::Client::new();
    for auth in [
        None,
        Some("Bearer wrong-token"),
        Some("Token tracker-secret-1"),
        Some("tracker-secret-1"),
    ] {
        let mut req = anonymous.post(&url).json(&body);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{auth:?}");
        let text = resp.text().await.unwrap();
        assert!(
            !text.contains("tracker-secret-1") && !text.contains("wrong-token"),
            "{text}"
        );
        assert!(serde_json::from_str::<Value>(&text).is_ok(), "{text}");
    }
    assert_eq!(stream_len(&sys.prefix).await, 0);
    let ok = sys
        .http
        .post(&url)
        .bearer_auth("tracker-secret-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 202);
    assert_eq!(stream_len(&sys.prefix).await, 1);
    sys.stop().await;
}

/// Each 401 says what was missing or wrong, never the token itself.
#[tokio::test]
async fn a_401_says_what_was_missing_or_wrong() {
    let sys = System::start_with(
        test_support::fresh_sqlite(),
        0,
        &[
            ("WSTG_INGEST_TOKEN", "tracker-secret-2"),
            ("WSTG_INGEST_WEBHOOK_KEY", "hook-secret-2"),
            ("WSTG_INGEST_WEBHOOK_HEADER", "X-API-Key"),
        ],
    )
    .await;
    // A client of its own: the harness's sends a valid token on every request.
    let http = reqwest::Client::new();
    let url = format!("{}/api/wstg/sync", sys.ingest_url);
    let body = json!({"wstg_id": "WSTG-INFO-01", "status": "done"});
    for (auth, reason, words) in [
        (None, "missing_header", "missing Authorization header"),
        (
            Some("Token tracker-secret-2"),
            "malformed_header",
            "expected 'Bearer <token>'",
        ),
        (
            Some("Bearer "),
            "malformed_header",
            "expected 'Bearer <token>'",
        ),
        (
            Some("Bearer wrong-token-2"),
            "unknown_token",
            "unknown token",
        ),
    ] {
        let mut req = http.post(&url).json(&body);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{auth:?}");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        let text = resp.text().await.unwrap();
        assert!(
            !text.contains("tracker-secret-2") && !text.contains("wrong-token-2"),
            "{text}"
        );
        let got: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(got["reason"], reason, "{auth:?}: {got}");
        assert_eq!(got["header"], "Authorization", "{got}");
        assert!(
            got["error"].as_str().is_some_and(|e| e.contains(words)),
            "{auth:?}: {got}"
        );
    }

    let hook = format!("{}/api/wstg/webhook", sys.ingest_url);
    let event = json!({"description": "finding updated", "finding": {"id": 1}});
    let missing: Value = sys
        .http
        .post(&hook)
        .json(&event)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(missing["reason"], "missing_header", "{missing}");
    assert_eq!(missing["header"], "X-API-Key", "{missing}");
    assert!(
        missing["error"]
            .as_str()
            .is_some_and(|e| e.contains("'X-API-Key: <key>'")),
        "{missing}"
    );
    let wrong = sys
        .http
        .post(&hook)
        .header("X-API-Key", "not-the-key-2")
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let text = wrong.text().await.unwrap();
    assert!(
        !text.contains("not-the-key-2") && !text.contains("hook-secret-2"),
        "{text}"
    );
    let wrong: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(wrong["reason"], "wrong_key", "{wrong}");
    assert!(
        wrong["error"]
            .as_str()
            .is_some_and(|e| e.contains("X-API-Key")),
        "{wrong}"
    );
    assert_eq!(stream_len(&sys.prefix).await, 0);
    sys.stop().await;
}

#[tokio::test]
async fn the_same_idempotency_key_is_queued_once() {
    let sys = System::start(test_support::fresh_sqlite(), 0).await;
    let url = format!("{}/api/wstg/sync", sys.ingest_url);
    let body = json!({"wstg_id": "WSTG-INFO-03", "status": "blocked"});
    let first: Value = sys
        .http
        .post(&url)
        .header("Idempotency-Key", "k-1")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second = sys
        .http
        .post(&url)
        .header("Idempotency-Key", "k-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 200);
    let second: Value = second.json().await.unwrap();
    assert_eq!(first["event_id"], second["event_id"]);
    assert_eq!(stream_len(&sys.prefix).await, 1);
    sys.stop().await;
}

/// A Redis of our own, killed mid-test: the ingest must answer 503 with
/// Retry-After, and recover when Redis is back.
#[tokio::test]
async fn redis_unreachable_is_a_503_never_a_success() {
    let port = free_port();
    let start_redis = || {
        std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut redis = start_redis();
    let url = format!("redis://127.0.0.1:{port}");
    test_support::eventually_async(Duration::from_secs(5), "private redis up", || async {
        let c = redis::Client::open(url.as_str()).ok()?;
        c.get_multiplexed_async_connection().await.ok().map(|_| ())
    })
    .await;
    let sys =
        System::start_with(test_support::fresh_sqlite(), 0, &[("WSTG_REDIS_URL", &url)]).await;
    let body = json!({"wstg_id": "WSTG-INFO-01", "status": "done"});
    assert_eq!(sys.post_sync(&body).await.status(), 202);

    redis.kill().unwrap();
    redis.wait().unwrap();
    let resp = sys.post_sync(&body).await;
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().get("retry-after").is_some());
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["success"], false);
    let ready = sys
        .http
        .get(format!("{}/readyz", sys.ingest_url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);

    let mut redis = start_redis();
    test_support::eventually_async(Duration::from_secs(10), "ingest accepts again", || async {
        (sys.post_sync(&body).await.status() == 202).then_some(())
    })
    .await;
    sys.stop().await;
    redis.kill().unwrap();
    let _ = redis.wait();
}

/// A service that cannot reach Redis (and is told not to wait for it) says
/// so in one line, with the reason once (its migrated store, written as a
/// user writes it without `?mode=rwc`, opens first). Waiting is
/// tests/startup.rs's.
#[tokio::test]
async fn a_refused_redis_is_one_line_with_its_reason_once() {
    let port = free_port();
    let db = test_support::fresh_sqlite();
    wstg_harness::migrate(&db).await;
    let file = db
        .url
        .trim_start_matches("sqlite://")
        .trim_end_matches("?mode=rwc")
        .to_owned();
    let out = tokio::process::Command::new(test_support::process::bin("wstg-ingest"))
        .env("WSTG_REDIS_URL", format!("redis://127.0.0.1:{port}"))
        .env("WSTG_DATABASE_URL", format!("sqlite://{file}"))
        .env("WSTG_INGEST_ADDR", "127.0.0.1:0")
        .env("WSTG_LOG_LEVEL", "warn")
        .env("WSTG_STARTUP_WAIT_SECS", "0")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("refused")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert_eq!(lines[0].matches("refused").count(), 1, "{stderr}");
    assert!(
        lines[0].starts_with(&format!(
            "wstg-ingest: could not start: connecting to Redis at redis://127.0.0.1:{port}: "
        )),
        "{stderr}"
    );
}

/// A store that cannot open stops every service before it touches Redis: no
/// consumer group, no stream, no key under the prefix.
#[tokio::test]
async fn a_store_that_cannot_open_leaves_nothing_in_redis() {
    let prefix = test_support::unique_prefix();
    let env = common::service_env(
        &prefix,
        "sqlite:///proc/wstg-store-order.db",
        "http://127.0.0.1:1",
        "127.0.0.1:0",
    );
    let settings = common::settings_from(&env);
    let errors = [
        wstg_ingest::Application::build(&settings).await.err(),
        wstg_worker::Worker::build(&settings).await.err(),
        wstg_poller::Poller::build(&settings).await.err(),
    ];
    for err in errors {
        let shown = format!("{:#}", err.expect("the service refuses to start"));
        assert!(
            shown.contains("no SQLite database at /proc/wstg-store-order.db")
                && shown.contains("wstgctl migrate"),
            "{shown}"
        );
    }
    let client = redis::Client::open(test_support::redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(keys.is_empty(), "{keys:?}");
}
