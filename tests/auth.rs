//! Issue 9, secure by default: authentication always, scoped tokens and
//! admin-created projects, and the browser attacks (CSRF by `text/plain` or
//! a form, DNS rebinding) refused. Real ingest, real Redis, a real store,
//! and the real `wstgctl` binary.

mod common;

use common::{client_with_token, service_env, settings_from, stream_len, System};
use serde_json::{json, Value};
use test_support::process::bin;

/// Runs `wstgctl` against `sys`'s store; (success, stdout, stderr).
async fn wstgctl(sys: &System, args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(bin("wstgctl"))
        .args(args)
        .envs(sys.env.iter().cloned())
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn wstgctl_ok(sys: &System, args: &[&str]) -> String {
    let (ok, out, err) = wstgctl(sys, args).await;
    assert!(ok, "wstgctl {args:?}: {err}");
    out
}

/// A JSON error with this status.
async fn refused(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["success"], false, "{body}");
    body
}

/// Starts an ingest alone (no workers) on `env` plus `extra`, minus the
/// variables named in `drop`; its URL and the server task.
async fn ingest_with(
    env: &[(String, String)],
    drop: &[&str],
    extra: &[(&str, &str)],
) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
    let mut env: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| !drop.contains(&k.as_str()) && k != "WSTG_INGEST_ADDR")
        .cloned()
        .collect();
    env.push(("WSTG_INGEST_ADDR".into(), "127.0.0.1:0".into()));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let app = wstg_ingest::Application::build(&settings_from(&env))
        .await
        .unwrap();
    let url = format!("http://127.0.0.1:{}", app.port());
    (url, tokio::spawn(app.run_until_stopped()))
}

#[tokio::test]
async fn anonymous_requests_are_refused_with_the_default_configuration() {
    let sys = System::start(test_support::fresh_sqlite(), 0).await;
    // The documented defaults: no token configured at all.
    let env = service_env(
        &sys.prefix,
        &sys.settings.database.url,
        &sys.sim.base_url,
        "127.0.0.1:0",
    );
    let (url, server) = ingest_with(&env, &["WSTG_INGEST_TOKEN"], &[]).await;
    let anonymous = reqwest::Client::new();
    for path in [
        "/api/wstg/items",
        "/api/wstg/items/WSTG-INFO-01",
        "/api/wstg/export",
        "/api/wstg/stream",
        "/api/wstg/projects",
        "/api/wstg/status",
        "/api/wstg/dashboard",
        "/api/wstg/catalogue",
        "/api/wstg/admin/dlq",
    ] {
        let r = anonymous.get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
        assert_eq!(r.headers()["www-authenticate"], "Bearer", "{path}");
    }
    for path in ["/api/wstg/sync", "/api/wstg/import"] {
        let r = anonymous
            .post(format!("{url}{path}"))
            .json(&json!({"wstg_id": "WSTG-INFO-01", "status": "done"}))
            .send()
            .await
            .unwrap();
        refused(r, 401).await;
    }
    assert_eq!(stream_len(&sys.prefix).await, 0, "nothing was written");
    // Anonymous access is an explicit choice, and only on loopback.
    let err = wstg_ingest::Application::build(&settings_from(
        &env.iter()
            .cloned()
            .chain([
                ("WSTG_AUTH_ALLOW_ANONYMOUS".into(), "true".into()),
                ("WSTG_INGEST_ADDR".into(), "0.0.0.0:0".into()),
            ])
            .collect::<Vec<_>>(),
    ))
    .await
    .err()
    .expect("anonymous access on 0.0.0.0 must not start");
    assert!(
        format!("{err:#}").contains("WSTG_AUTH_ALLOW_ANONYMOUS"),
        "{err:#}"
    );
    server.abort();
    sys.stop().await;
}

#[tokio::test]
async fn a_project_token_reads_and_writes_its_project_only() {
    project_tokens_on(test_support::fresh_sqlite()).await;
}

#[tokio::test]
async fn a_project_token_reads_and_writes_its_project_only_on_postgres() {
    project_tokens_on(test_support::fresh_postgres().await.unwrap()).await;
}

async fn project_tokens_on(db: test_support::FreshDb) {
    let sys = System::start(db, 0).await;
    let base = &sys.ingest_url;
    wstgctl_ok(&sys, &["project", "add", "alpha"]).await;
    wstgctl_ok(
        &sys,
        &[
            "project",
            "add",
            "beta",
            "--product-id",
            "12",
            "--engagement-id",
            "34",
        ],
    )
    .await;
    let listed: Value =
        serde_json::from_str(&wstgctl_ok(&sys, &["--output", "json", "project", "list"]).await)
            .unwrap();
    assert_eq!(listed["projects"][1]["name"], "beta");
    assert_eq!(listed["projects"][1]["product_id"], 12);
    assert_eq!(listed["projects"][1]["engagement_id"], 34);

    let secret = wstgctl_ok(
        &sys,
        &[
            "token",
            "create",
            "--label",
            "alpha team",
            "--write",
            "alpha",
        ],
    )
    .await
    .trim()
    .to_owned();
    assert!(secret.starts_with("wstg_"), "{secret}");
    let reader = wstgctl_ok(
        &sys,
        &[
            "token",
            "create",
            "--label",
            "alpha viewer",
            "--read",
            "alpha",
        ],
    )
    .await
    .trim()
    .to_owned();
    let a = client_with_token(&secret);
    let ro = client_with_token(&reader);
    let change =
        |project: &str| json!({"wstg_id": "WSTG-INFO-01", "status": "done", "project": project});

    // Its own project: read and write.
    let r = a
        .get(format!("{base}/api/wstg/items?project=alpha"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = a
        .post(format!("{base}/api/wstg/sync"))
        .json(&change("alpha"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(stream_len(&sys.prefix).await, 1);

    // Another project: no read, no write, no export, no stream, no import.
    for path in [
        "/api/wstg/items?project=beta",
        "/api/wstg/export?project=beta",
        "/api/wstg/stream?project=beta",
        "/api/wstg/dashboard?project=beta",
        "/api/wstg/status?project=beta",
        "/api/wstg/items",
        "/api/wstg/status",
    ] {
        let r = a.get(format!("{base}{path}")).send().await.unwrap();
        refused(r, 403).await;
    }
    let r = a
        .post(format!("{base}/api/wstg/sync"))
        .json(&change("beta"))
        .send()
        .await
        .unwrap();
    refused(r, 403).await;
    let r = a
        .post(format!("{base}/api/wstg/import?project=beta"))
        .json(&json!({"WSTG-INFO-01": {"status": "done"}}))
        .send()
        .await
        .unwrap();
    refused(r, 403).await;
    // A project nobody made looks the same to it as one it may not see.
    let r = a
        .post(format!("{base}/api/wstg/sync"))
        .json(&change("gamma"))
        .send()
        .await
        .unwrap();
    refused(r, 403).await;
    assert_eq!(stream_len(&sys.prefix).await, 1, "nothing more was written");

    // It cannot create a project, and the project list shows only its own.
    let r = a
        .post(format!("{base}/api/wstg/admin/projects"))
        .json(&json!({"name": "gamma"}))
        .send()
        .await
        .unwrap();
    refused(r, 403).await;
    let projects: Value = a
        .get(format!("{base}/api/wstg/projects"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(projects["projects"], json!(["alpha"]), "{projects}");

    // The read-only token reads but cannot write.
    let r = ro
        .get(format!("{base}/api/wstg/export?project=alpha"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = ro
        .post(format!("{base}/api/wstg/sync"))
        .json(&change("alpha"))
        .send()
        .await
        .unwrap();
    refused(r, 403).await;
    assert_eq!(stream_len(&sys.prefix).await, 1);

    // Even the all-projects ingest token cannot write to a project nobody
    // created: 400 naming `project`, and no project (so no DefectDojo
    // product) appears.
    let r = sys
        .http
        .post(format!("{base}/api/wstg/sync"))
        .json(&change("gamma"))
        .send()
        .await
        .unwrap();
    let body = refused(r, 400).await;
    assert_eq!(body["field"], "project", "{body}");
    let all: Value = sys
        .http
        .get(format!("{base}/api/wstg/projects"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        all["projects"],
        json!(["default", "alpha", "beta"]),
        "{all}"
    );
    assert_eq!(stream_len(&sys.prefix).await, 1);

    // Tokens are listed without secrets, and a revoked one is refused.
    let list = wstgctl_ok(&sys, &["--output", "json", "token", "list"]).await;
    assert!(!list.contains(&secret) && !list.contains(&reader), "{list}");
    let tokens: Value = serde_json::from_str(&list).unwrap();
    let id = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "alpha team")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wstgctl_ok(&sys, &["token", "revoke", &id]).await;
    let r = a
        .get(format!("{base}/api/wstg/items?project=alpha"))
        .send()
        .await
        .unwrap();
    refused(r, 401).await;
    let (ok, _, _) = wstgctl(&sys, &["token", "revoke", &id]).await;
    assert!(!ok, "revoking twice is an error");
    sys.stop().await;
}

#[tokio::test]
async fn look_alike_project_names_are_refused_and_names_normalised() {
    let sys = System::start_with(
        test_support::fresh_sqlite(),
        0,
        &[("WSTG_INGEST_ADMIN_TOKEN", "auth-test-admin-token")],
    )
    .await;
    let base = &sys.ingest_url;
    // Cyrillic е in "dеfault", beside the default project.
    let (ok, _, err) = wstgctl(&sys, &["project", "add", "d\u{0435}fault"]).await;
    assert!(!ok && err.contains("scripts"), "{err}");
    let (ok, _, err) = wstgctl(&sys, &["project", "add", "DEFAULT"]).await;
    assert!(!ok && err.contains("looks like"), "{err}");
    // A token names only existing projects.
    let (ok, _, err) = wstgctl(
        &sys,
        &["token", "create", "--label", "x", "--write", "nope"],
    )
    .await;
    assert!(!ok && err.contains("unknown project"), "{err}");

    let admin = client_with_token("auth-test-admin-token");
    let r = admin
        .post(format!("{base}/api/wstg/admin/projects"))
        .json(&json!({"name": "ｃｌｉｅｎｔ"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let made: Value = r.json().await.unwrap();
    assert_eq!(made["project"]["name"], "client", "NFKC: {made}");
    for name in ["CLIENT", "c\u{0430}t"] {
        let r = admin
            .post(format!("{base}/api/wstg/admin/projects"))
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap();
        let body = refused(r, 400).await;
        assert_eq!(body["field"], "name", "{body}");
    }
    // Unknown fields are refused by the typed body.
    let r = admin
        .post(format!("{base}/api/wstg/admin/projects"))
        .json(&json!({"name": "x", "owner": "me"}))
        .send()
        .await
        .unwrap();
    refused(r, 400).await;
    // A change to the full-width spelling lands in "client".
    let r = sys
        .http
        .post(format!("{base}/api/wstg/sync"))
        .json(&json!({"wstg_id": "WSTG-INFO-01", "status": "done", "project": "ｃｌｉｅｎｔ"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    sys.stop().await;
}

/// What a page on another site can make a browser send: a `text/plain`
/// no-cors `fetch` and an auto-submitted form. Neither changes anything,
/// with a token or (where the operator allowed anonymous access) without.
#[tokio::test]
async fn cross_site_posts_change_nothing() {
    let sys = System::start(test_support::fresh_sqlite(), 0).await;
    let (anon_url, server) = ingest_with(
        &sys.env,
        &["WSTG_INGEST_TOKEN"],
        &[("WSTG_AUTH_ALLOW_ANONYMOUS", "true")],
    )
    .await;
    let browser = reqwest::Client::new();
    let body = r#"{"wstg_id":"WSTG-INFO-01","status":"done"}"#;
    for url in [&sys.ingest_url, &anon_url] {
        // fetch(url, {method: 'POST', mode: 'no-cors', body}) from a page on
        // attacker.example: text/plain, with Origin and Sec-Fetch-Site.
        let r = browser
            .post(format!("{url}/api/wstg/sync"))
            .header("Content-Type", "text/plain;charset=UTF-8")
            .header("Origin", "http://attacker.example")
            .header("Sec-Fetch-Site", "cross-site")
            .body(body)
            .send()
            .await
            .unwrap();
        refused(r, 403).await;
        // An auto-submitted form.
        let r = browser
            .post(format!("{url}/api/wstg/sync"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Origin", "http://attacker.example")
            .header("Sec-Fetch-Site", "cross-site")
            .body("wstg_id=WSTG-INFO-01&status=done")
            .send()
            .await
            .unwrap();
        refused(r, 403).await;
        // The same text/plain body without the browser's headers, even with
        // the token: 415.
        let r = sys
            .http
            .post(format!("{url}/api/wstg/sync"))
            .header("Content-Type", "text/plain")
            .body(body)
            .send()
            .await
            .unwrap();
        let b = refused(r, 415).await;
        assert_eq!(b["field"], "Content-Type", "{b}");
        // A sandboxed page (Origin: null) is another origin too.
        let r = browser
            .post(format!("{url}/api/wstg/sync"))
            .header("Content-Type", "application/json")
            .header("Origin", "null")
            .body(body)
            .send()
            .await
            .unwrap();
        refused(r, 403).await;
    }
    assert_eq!(
        stream_len(&sys.prefix).await,
        0,
        "the stream length is unchanged"
    );
    // The page itself (same origin, JSON) works; anonymously only where
    // allowed.
    let r = browser
        .post(format!("{anon_url}/api/wstg/sync"))
        .header("Content-Type", "application/json")
        .header("Origin", anon_url.as_str())
        .header("Sec-Fetch-Site", "same-origin")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(stream_len(&sys.prefix).await, 1);
    server.abort();
    sys.stop().await;
}

/// DNS rebinding: a page served as attacker.example, whose name now points
/// at 127.0.0.1, sends `Host: attacker.example`.
#[tokio::test]
async fn a_foreign_host_is_refused() {
    let sys = System::start_with(
        test_support::fresh_sqlite(),
        0,
        &[("WSTG_AUTH_PUBLIC_HOST", "wstg.example.org")],
    )
    .await;
    let port = sys.ingest_url.rsplit(':').next().unwrap().to_owned();
    let export = format!("{}/api/wstg/export", sys.ingest_url);
    for host in [
        format!("attacker.example:{port}"),
        "localhost.attacker.example".to_owned(),
    ] {
        let r = sys
            .http
            .get(&export)
            .header("Host", host.as_str())
            .send()
            .await
            .unwrap();
        let b = refused(r, 421).await;
        assert_eq!(b["field"], "Host", "{b}");
    }
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "wstg.example.org".to_owned(),
    ] {
        let r = sys
            .http
            .get(&export)
            .header("Host", host.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{host}");
    }
    sys.stop().await;
}

/// The real binary: anonymous access, where allowed, is announced with a
/// WARN at start, and refused outright off loopback.
#[tokio::test]
async fn anonymous_access_is_loud_and_loopback_only() {
    use std::process::Stdio;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

    let db = test_support::fresh_sqlite();
    wstg_harness::migrate(&db).await;
    let prefix = test_support::unique_prefix();
    let port = test_support::process::free_port();
    let env = service_env(
        &prefix,
        &db.url,
        "http://127.0.0.1:9",
        &format!("127.0.0.1:{port}"),
    );
    let start = |extra: &[(&str, &str)]| {
        let mut cmd = tokio::process::Command::new(bin("wstg-ingest"));
        cmd.envs(env.iter().cloned())
            .env_remove("WSTG_INGEST_TOKEN")
            .env("WSTG_LOG_LEVEL", "info")
            .envs(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd.spawn().unwrap()
    };

    // Off loopback: it does not start, and says why.
    let refused = start(&[
        ("WSTG_AUTH_ALLOW_ANONYMOUS", "true"),
        ("WSTG_INGEST_ADDR", "0.0.0.0:0"),
    ])
    .wait_with_output()
    .await
    .unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("WSTG_AUTH_ALLOW_ANONYMOUS"), "{err}");

    // On loopback: it starts, with a WARN, and serves without a token.
    let mut child = start(&[("WSTG_AUTH_ALLOW_ANONYMOUS", "true")]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            if line.contains("listening on") {
                return;
            }
        }
        panic!("wstg-ingest exited before listening");
    })
    .await
    .expect("wstg-ingest listens");
    let r = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/wstg/items"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "anonymous access was allowed");
    child.start_kill().unwrap();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .await
        .unwrap();
    assert!(
        log.contains("WARN") && log.contains("ANONYMOUS ACCESS IS ON"),
        "{log}"
    );
    let _ = test_support::redis_env::delete_prefix(&prefix).await;
}

/// The demo's setting: a write to an unknown project creates it, still
/// refusing look-alikes; a scoped token still cannot.
#[tokio::test]
async fn projects_created_on_demand_only_where_configured() {
    let sys = System::start_with(
        test_support::fresh_sqlite(),
        0,
        &[("WSTG_AUTH_CREATE_PROJECTS_ON_DEMAND", "true")],
    )
    .await;
    let sync = format!("{}/api/wstg/sync", sys.ingest_url);
    let change =
        |project: &str| json!({"wstg_id": "WSTG-INFO-01", "status": "done", "project": project});
    let r = sys
        .http
        .post(&sync)
        .json(&change("newproj"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let r = sys
        .http
        .post(&sync)
        .json(&change("NEWPROJ"))
        .send()
        .await
        .unwrap();
    let b = refused(r, 400).await;
    assert_eq!(b["field"], "project", "{b}");
    let listed: Value =
        serde_json::from_str(&wstgctl_ok(&sys, &["--output", "json", "project", "list"]).await)
            .unwrap();
    assert_eq!(listed["projects"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["projects"][0]["name"], "newproj");
    let scoped = wstgctl_ok(
        &sys,
        &["token", "create", "--label", "n", "--write", "newproj"],
    )
    .await;
    let r = client_with_token(scoped.trim())
        .post(&sync)
        .json(&change("other"))
        .send()
        .await
        .unwrap();
    refused(r, 403).await;
    assert_eq!(stream_len(&sys.prefix).await, 1);
    sys.stop().await;
}
