//! Issue 9, bounds and leaks, on real servers (wstg-ingest on port 0 in this
//! process, or the real binaries), real Redis and a fresh store:
//! - 1,000 open live streams hold one Redis reader, and the cap answers 503;
//! - a stalled request head or body is closed after the request timeout;
//! - the rate limit answers 429 with Retry-After;
//! - an idempotency key reused by another project or with another body
//!   drops no change;
//! - a DefectDojo that echoes the Authorization header into its error
//!   bodies leaves no token in any API answer or log line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures::StreamExt;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wstg_queue::{Feed, Queue, QueueConfig};

const TOKEN: &str = "bounds-ingest-token";

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

/// `CLIENT LIST` lines, and how many name this deployment's prefix.
async fn redis_clients(prefix: &str) -> (usize, usize) {
    let c = redis::Client::open(test_support::redis_url()).unwrap();
    let mut conn = c.get_multiplexed_async_connection().await.unwrap();
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut conn)
        .await
        .unwrap();
    let ours = format!("name=wstg:{prefix}:");
    let total = list.lines().count();
    let named = list
        .lines()
        .filter(|l| l.split(' ').any(|f| f.starts_with(&ours)))
        .count();
    (total, named)
}

/// Opens one live stream and reads its first chunk (`retry: 2000`).
async fn open_stream(
    http: &reqwest::Client,
    base: &str,
) -> Result<(reqwest::Response, Vec<u8>), reqwest::Response> {
    let mut resp = http
        .get(format!("{base}/api/wstg/stream"))
        .header("Authorization", bearer())
        .send()
        .await
        .unwrap();
    if resp.status() != 200 {
        return Err(resp);
    }
    let first = resp.chunk().await.unwrap().unwrap();
    Ok((resp, first.to_vec()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_live_streams_share_one_redis_reader_and_the_cap_answers_503() {
    let sys = System::start_with(
        test_support::fresh_sqlite(),
        0,
        &[
            ("WSTG_INGEST_TOKEN", TOKEN),
            ("WSTG_LIMITS_MAX_STREAMS", "1000"),
            ("WSTG_LIMITS_MAX_CONNECTIONS", "5000"),
        ],
    )
    .await;
    let (total_before, _) = redis_clients(&sys.prefix).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let base = sys.ingest_url.clone();
    let mut streams: Vec<reqwest::Response> = futures::stream::iter(0..1000)
        .map(|_| {
            let http = http.clone();
            let base = base.clone();
            async move {
                let (resp, first) = open_stream(&http, &base)
                    .await
                    .map_err(|r| r.status())
                    .expect("every stream up to the cap opens");
                assert!(String::from_utf8_lossy(&first).contains("retry:"));
                resp
            }
        })
        .buffer_unordered(100)
        .collect()
        .await;
    assert_eq!(streams.len(), 1000);

    // Redis: one pooled reader for all of them (plus the shared multiplexed
    // connection, which carries no name), not one connection per stream.
    let (total_after, named) = redis_clients(&sys.prefix).await;
    eprintln!(
        "1,000 open streams: {named} named Redis connection(s) of this ingest; \
         Redis clients {total_before} -> {total_after}"
    );
    assert!(
        named <= 2,
        "the ingest holds {named} named Redis connections for 1,000 streams"
    );
    // Other suites share this Redis: allow their churn, not 1,000 more.
    assert!(
        total_after < total_before + 50,
        "Redis clients went from {total_before} to {total_after}"
    );

    // The 1,001st is refused: 503, JSON, Retry-After.
    let refused = open_stream(&http, &base).await.expect_err("past the cap");
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().get("retry-after").is_some());
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["success"], json!(false));
    assert!(
        body["error"].as_str().unwrap().contains("live streams"),
        "{body}"
    );

    // A change on the feed reaches every stream through the one reader.
    let queue = Queue::connect(QueueConfig::new(
        test_support::redis_url(),
        sys.prefix.clone(),
    ))
    .await
    .unwrap();
    let change = json!({"project": "default", "wstg_id": "WSTG-INFO-01", "status": "done"});
    queue
        .publish_feed(Feed::Changes, &change.to_string())
        .await
        .unwrap();
    for i in [0, 499, 999] {
        let s = &mut streams[i];
        let got = tokio::time::timeout(WAIT, async {
            let mut text = String::new();
            while !text.contains("event: item") {
                text.push_str(&String::from_utf8_lossy(&s.chunk().await.unwrap().unwrap()));
            }
            text
        })
        .await
        .expect("the change reaches the stream");
        assert!(got.contains("WSTG-INFO-01"), "{got}");
    }

    // Closed streams give their places back (noticed at the next write).
    drop(streams);
    test_support::eventually_async(WAIT, "a place for a new stream", || {
        let (http, base, queue) = (http.clone(), base.clone(), queue.clone());
        let change = change.to_string();
        async move {
            let _ = queue.publish_feed(Feed::Changes, &change).await;
            open_stream(&http, &base).await.ok().map(drop)
        }
    })
    .await;
    sys.stop().await;
}

/// Reads what the server sends until it closes the connection (or `limit`).
async fn read_until_closed(sock: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(limit, sock.read_to_end(&mut buf))
        .await
        .is_ok();
    (String::from_utf8_lossy(&buf).into_owned(), closed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_or_head_is_closed_after_the_request_timeout() {
    let sys = System::start_with(
        test_support::fresh_sqlite(),
        0,
        &[
            ("WSTG_INGEST_TOKEN", TOKEN),
            ("WSTG_LIMITS_REQUEST_TIMEOUT_MS", "1000"),
        ],
    )
    .await;
    let addr = sys.ingest_url.trim_start_matches("http://").to_owned();

    // Headers promise 100 bytes; 10 come, then nothing.
    let mut sock = TcpStream::connect(&addr).await.unwrap();
    let started = Instant::now();
    sock.write_all(
        format!(
            "POST /api/wstg/sync HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"wstg_id\"",
            bearer()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let (answer, closed) = read_until_closed(&mut sock, Duration::from_secs(8)).await;
    let took = started.elapsed();
    assert!(closed, "the server closed the stalled upload: {answer}");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"field\":\"body\""), "{answer}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "closed after {took:?}"
    );

    // A head that never ends is closed too (actix's client_request_timeout).
    let mut sock = TcpStream::connect(&addr).await.unwrap();
    let started = Instant::now();
    sock.write_all(b"POST /api/wstg/sync HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let (answer, closed) = read_until_closed(&mut sock, Duration::from_secs(8)).await;
    assert!(closed, "the server closed the stalled head: {answer}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // The server still serves.
    let r = sys
        .http
        .get(format!("{}/healthz", sys.ingest_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_answers_429_with_retry_after() {
    let sys = System::start_with(
        test_support::fresh_sqlite(),
        0,
        &[
            ("WSTG_INGEST_TOKEN", TOKEN),
            ("WSTG_LIMITS_RATE_PER_SEC", "1"),
            ("WSTG_LIMITS_RATE_BURST", "3"),
        ],
    )
    .await;
    let get = |auth: &'static str| {
        sys.http
            .get(format!("{}/api/wstg/items", sys.ingest_url))
            .header("Authorization", auth)
            .send()
    };
    let auth: &'static str = Box::leak(bearer().into_boxed_str());
    for _ in 0..3 {
        assert_eq!(get(auth).await.unwrap().status(), 200);
    }
    let limited = get(auth).await.unwrap();
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["success"], json!(false));
    assert!(
        body["error"].as_str().unwrap().contains("rate limit"),
        "{body}"
    );
    // Another credential has its own budget (it is refused, but not as 429).
    assert_ne!(get("Bearer someone-else").await.unwrap().status(), 429);
    // Probes are never limited.
    let health = sys
        .http
        .get(format!("{}/healthz", sys.ingest_url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    // The budget refills.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(get(auth).await.unwrap().status(), 200);
    sys.stop().await;
}

/// The events on the stream: (project, wstg_id, status).
async fn queued(prefix: &str) -> Vec<(String, String, String)> {
    let c = redis::Client::open(test_support::redis_url()).unwrap();
    let mut conn = c.get_multiplexed_async_connection().await.unwrap();
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(test_support::redis_env::key(prefix, "events"))
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    entries
        .into_iter()
        .map(|(_, fields)| {
            let data = &fields.iter().find(|(k, _)| k == "data").unwrap().1;
            let v: Value = serde_json::from_str(data).unwrap();
            let s = v.to_string();
            let status = s
                .split("\"status\":\"")
                .nth(1)
                .and_then(|t| t.split('"').next())
                .unwrap_or("?")
                .to_owned();
            (
                v["project"].as_str().unwrap_or_default().to_owned(),
                s.split("WSTG-")
                    .nth(1)
                    .map(|t| format!("WSTG-{}", &t[..7]))
                    .unwrap_or_default(),
                status,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_reused_by_another_project_or_body_drops_no_change() {
    // Projects alpha and beta are made on their first write (an admin would
    // add them; that is tests/auth.rs's subject, not this one's).
    let sys = System::start_with(
        test_support::fresh_sqlite(),
        0,
        &[
            ("WSTG_INGEST_TOKEN", TOKEN),
            ("WSTG_AUTH_CREATE_PROJECTS_ON_DEMAND", "true"),
        ],
    )
    .await;
    let post = |body: Value, key: &'static str| {
        sys.http
            .post(format!("{}/api/wstg/sync", sys.ingest_url))
            .header("Authorization", bearer())
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let alpha = json!({"project": "alpha", "wstg_id": "WSTG-INFO-01", "status": "done"});
    let beta = json!({"project": "beta", "wstg_id": "WSTG-INFO-01", "status": "done"});
    let alpha_other = json!({"project": "alpha", "wstg_id": "WSTG-INFO-02", "status": "blocked"});

    assert_eq!(post(alpha.clone(), "k-1").await.unwrap().status(), 202);
    // Another project's same key is another key: beta's change is queued.
    let r = post(beta, "k-1").await.unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    // The same request again is a duplicate (200, the first event's id).
    let r = post(alpha.clone(), "k-1").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["status"],
        json!("duplicate")
    );
    // The same key with another body is refused, not silently dropped.
    let r = post(alpha_other.clone(), "k-1").await.unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["field"], json!("Idempotency-Key"), "{body}");
    // ...and goes through with a key of its own.
    assert_eq!(post(alpha_other, "k-2").await.unwrap().status(), 202);

    let mut events = queued(&sys.prefix).await;
    events.sort();
    assert_eq!(
        events,
        vec![
            ("alpha".into(), "WSTG-INFO-01".into(), "done".into()),
            ("alpha".into(), "WSTG-INFO-02".into(), "blocked".into()),
            ("beta".into(), "WSTG-INFO-01".into(), "done".into()),
        ]
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_are_refused_naming_the_field_and_notes_keep_newlines() {
    let sys = System::start_with(
        test_support::fresh_sqlite(),
        0,
        &[("WSTG_INGEST_TOKEN", TOKEN)],
    )
    .await;
    let post = |body: Value| {
        sys.http
            .post(format!("{}/api/wstg/sync", sys.ingest_url))
            .header("Authorization", bearer())
            .json(&body)
            .send()
    };
    for (field, body) in [
        (
            "notes",
            json!({"wstg_id": "WSTG-INFO-01", "status": "done", "notes": "a\u{0}b"}),
        ),
        (
            "notes",
            json!({"wstg_id": "WSTG-INFO-01", "status": "done", "notes": "\u{1b}[2J"}),
        ),
        (
            "user",
            json!({"wstg_id": "WSTG-INFO-01", "status": "done", "user": "eve\nINFO forged"}),
        ),
        (
            "user",
            json!({"wstg_id": "WSTG-INFO-01", "status": "done", "user": "nul\u{0}"}),
        ),
    ] {
        let r = post(body.clone()).await.unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let answer: Value = r.json().await.unwrap();
        assert_eq!(answer["field"], json!(field), "{answer}");
        assert!(answer["reason"]
            .as_str()
            .unwrap()
            .contains("control character"));
    }
    let ok = json!({"wstg_id": "WSTG-INFO-01", "status": "done", "notes": "line 1\n\tline 2\r\n"});
    assert_eq!(post(ok).await.unwrap().status(), 202);

    // Webhook event names: refused before they are logged.
    let sys2 = System::start_with(
        test_support::fresh_sqlite(),
        0,
        &[
            ("WSTG_INGEST_WEBHOOK_KEY", "hook"),
            ("WSTG_LIMITS_WEBHOOK_POLL_INTERVAL_SECS", "60"),
        ],
    )
    .await;
    let hook = |event: &str| {
        sys2.http
            .post(format!("{}/api/wstg/webhook", sys2.ingest_url))
            .header("X-API-Key", "hook")
            .json(&json!({"event": event, "url_ui": "https://dd/finding/3"}))
            .send()
    };
    for bad in [
        "finding_added\nERROR forged line",
        "\u{1b}[31mred",
        "",
        &"x".repeat(65),
    ] {
        let r = hook(bad).await.unwrap();
        assert_eq!(r.status(), 400, "{bad:?}");
        assert_eq!(r.json::<Value>().await.unwrap()["field"], json!("event"));
    }
    // A flood forces one poll per interval: one hint, the rest answered 202.
    let mut actions = Vec::new();
    for _ in 0..20 {
        let r = hook("finding_added").await.unwrap();
        assert_eq!(r.status(), 202);
        actions.push(r.json::<Value>().await.unwrap()["action"].clone());
    }
    assert_eq!(actions[0], json!("poll_requested"));
    assert!(
        actions[1..].iter().all(|a| a == "poll_already_requested"),
        "{actions:?}"
    );
    let queue = Queue::connect(QueueConfig::new(
        test_support::redis_url(),
        sys2.prefix.clone(),
    ))
    .await
    .unwrap();
    assert_eq!(
        queue
            .feed_since(Feed::PollHints, "0", 100)
            .await
            .unwrap()
            .len(),
        1
    );
    sys2.stop().await;
    sys.stop().await;
}

/// A "DefectDojo" that answers every request with `status` and a body that
/// echoes the request's Authorization header, the way a debug page or a
/// misconfigured proxy does.
async fn echoing_dojo(status: u16) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head (and whatever body came with it).
                loop {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let auth = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("authorization")
                            .then(|| v.trim().to_owned())
                    })
                    .unwrap_or_default();
                let body = json!({
                    "detail": format!("request rejected; headers were Authorization: {auth}"),
                    "echo": {"Authorization": auth},
                    "raw": head,
                })
                .to_string();
                let resp = format!(
                    "HTTP/1.1 {status} Echo\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    url
}

/// Starts a real binary with stdout and stderr going to `log`.
fn spawn_logged(
    name: &str,
    env: &[(String, String)],
    log: &std::path::Path,
) -> tokio::process::Child {
    let file = std::fs::File::create(log).unwrap();
    let mut cmd = tokio::process::Command::new(test_support::process::bin(name));
    for (k, _) in std::env::vars() {
        if k.starts_with("WSTG_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(std::process::Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dojo_that_echoes_the_token_leaks_it_into_no_answer_and_no_log() {
    const ADMIN: &str = "bounds-admin-token";
    let dojo_url = echoing_dojo(400).await;
    let db = test_support::fresh_sqlite();
    wstg_harness::migrate(&db).await;
    let prefix = test_support::unique_prefix();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut env = service_env(&prefix, &db.url, &dojo_url, &addr);
    env.extend(
        [
            ("WSTG_INGEST_TOKEN", TOKEN),
            ("WSTG_INGEST_ADMIN_TOKEN", ADMIN),
            // Everything a process can log, in both formats' worst case.
            ("WSTG_LOG_LEVEL", "debug"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let dir = std::env::temp_dir().join(format!("wstg-bounds-logs-{prefix}"));
    std::fs::create_dir_all(&dir).unwrap();
    let _ingest = spawn_logged("wstg-ingest", &env, &dir.join("ingest.log"));
    let _worker = spawn_logged("wstg-worker", &env, &dir.join("worker.log"));
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    test_support::eventually_async(WAIT, "the ingest to answer", || {
        let (http, base) = (http.clone(), base.clone());
        async move {
            http.get(format!("{base}/healthz")).send().await.ok()?;
            Some(())
        }
    })
    .await;
    let r = http
        .post(format!("{base}/api/wstg/sync"))
        .header("Authorization", bearer())
        .json(&json!({"wstg_id": "WSTG-INFO-01", "status": "blocked", "notes": "n"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);

    // The permanent failure lands in the item's last_error and a dead letter.
    let item =
        test_support::eventually_async(Duration::from_secs(60), "last_error on the item", || {
            let (http, base) = (http.clone(), base.clone());
            async move {
                let v: Value = http
                    .get(format!("{base}/api/wstg/items/WSTG-INFO-01"))
                    .header("Authorization", bearer())
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                let text = v.to_string();
                text.contains("last_error").then_some(()).and(
                    v.pointer("/item/last_error")
                        .or_else(|| v.get("last_error"))
                        .and_then(Value::as_str)
                        .map(|_| text),
                )
            }
        })
        .await;
    let dlq = test_support::eventually_async(Duration::from_secs(60), "a dead letter", || {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let text = http
                .get(format!("{base}/api/wstg/admin/dlq"))
                .header("Authorization", format!("Bearer {ADMIN}"))
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            text.contains("error").then_some(text)
        }
    })
    .await;
    let items = http
        .get(format!("{base}/api/wstg/items"))
        .header("Authorization", bearer())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dashboard = http
        .get(format!("{base}/api/wstg/dashboard"))
        .header("Authorization", bearer())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The echo did reach us (scrubbed), so the test is not vacuous.
    assert!(
        item.contains("REDACTED") || dlq.contains("REDACTED"),
        "the echoed header should appear scrubbed: {item} {dlq}"
    );
    for (what, text) in [
        ("item", &item),
        ("items", &items),
        ("dlq", &dlq),
        ("dashboard", &dashboard),
    ] {
        assert!(
            !text.contains(DOJO_TOKEN),
            "{what} leaks the DefectDojo token: {text}"
        );
    }
    // Stop the processes and grep every line they logged.
    drop((_ingest, _worker));
    for log in ["ingest.log", "worker.log"] {
        let text = std::fs::read_to_string(dir.join(log)).unwrap();
        assert!(
            !text.is_empty(),
            "{log} is empty: the grep would prove nothing"
        );
        assert!(
            !text.contains(DOJO_TOKEN),
            "{log} leaks the DefectDojo token"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = test_support::redis_env::delete_prefix(&prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_get_503_with_retry_after_while_the_backlog_is_over_its_bound() {
    // No workers: nothing drains the stream.
    let sys = System::start_with(
        test_support::fresh_sqlite(),
        0,
        &[
            ("WSTG_INGEST_TOKEN", TOKEN),
            ("WSTG_LIMITS_MAX_BACKLOG", "5"),
        ],
    )
    .await;
    let post = || {
        sys.http
            .post(format!("{}/api/wstg/sync", sys.ingest_url))
            .header("Authorization", bearer())
            .json(&json!({"wstg_id": "WSTG-INFO-01", "status": "done"}))
            .send()
    };
    for _ in 0..6 {
        assert_eq!(post().await.unwrap().status(), 202);
    }
    // The backlog is sampled off the hot path: within a sample, writes stop.
    let refused = test_support::eventually_async(WAIT, "backpressure", || async {
        let r = post().await.unwrap();
        (r.status() == 503).then_some(r)
    })
    .await;
    assert_eq!(refused.headers()["retry-after"], "2");
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("backlog"),
        "{body}"
    );
    let queued = stream_len(&sys.prefix).await;
    assert!(
        (6..=20).contains(&queued),
        "the stream stopped growing near its bound: {queued}"
    );
    // Reads still work.
    let r = sys
        .http
        .get(format!("{}/api/wstg/items", sys.ingest_url))
        .header("Authorization", bearer())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    sys.stop().await;
}
