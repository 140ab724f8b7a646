//! Metrics and health as an operator meets them (issue 10 §1), with real
//! processes over HTTP: every metric of docs/operations.md appears on the
//! `/metrics` of the services it names; `/metrics` wants its token;
//! a worker's readiness follows Redis going away and coming back; the alert
//! rules and the Grafana dashboard name only metrics that exist.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{service_env, DOJO_TOKEN, INGEST_TOKEN};
use serde::Deserialize;
use serde_json::{json, Value};
use test_support::process::{free_port, Proc};

const METRICS_TOKEN: &str = "system-test-metrics-token";
const ADMIN_TOKEN: &str = "system-test-admin-token";
const START: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(30);

/// One row of the metric table in docs/operations.md.
#[derive(Debug)]
struct DocMetric {
    name: String,
    histogram: bool,
    services: Vec<String>,
}

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn documented_metrics() -> Vec<DocMetric> {
    let rows: Vec<DocMetric> = repo_file("docs/operations.md")
        .lines()
        .filter(|l| l.starts_with("| `wstg_"))
        .map(|l| {
            let cells: Vec<String> = l
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect();
            DocMetric {
                name: cells[0].clone(),
                histogram: cells[1] == "histogram",
                services: cells[3].split(',').map(|s| s.trim().to_owned()).collect(),
            }
        })
        .collect();
    assert!(rows.len() > 20, "the metric table of docs/operations.md");
    rows
}

/// Whether the Prometheus text `body` holds a sample of `m`.
fn exposes(body: &str, m: &DocMetric) -> bool {
    body.lines().any(|l| {
        let rest = if m.histogram {
            l.strip_prefix(&format!("{}_count", m.name))
        } else {
            l.strip_prefix(m.name.as_str())
        };
        rest.is_some_and(|r| r.starts_with(' ') || r.starts_with('{'))
    })
}

/// `http://127.0.0.1:PORT` from a start line `… ops http://127.0.0.1:PORT …`.
fn ops_url(line: &str) -> String {
    let addr: String = line
        .split("ops http://")
        .nth(1)
        .unwrap_or_else(|| panic!("no ops address in '{line}'"))
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ':' | '[' | ']'))
        .collect();
    format!("http://{addr}")
}

async fn start_worker(env: &[(String, String)]) -> (Proc, String) {
    let mut w = Proc::start("wstg-worker", &[], env).unwrap();
    let line = w.wait_for_line("wstg-worker started", START).await.unwrap();
    (w, ops_url(&line))
}

async fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_metric_is_on_its_services_and_metrics_need_a_token() {
    test_support::init_test_logging();
    let db = test_support::fresh_sqlite();
    wstg_harness::migrate(&db).await;
    let sim = dojo_sim::spawn(dojo_sim::SimConfig::new(DOJO_TOKEN))
        .await
        .unwrap();
    let prefix = test_support::unique_prefix();
    let ingest_url = format!("http://127.0.0.1:{}", free_port());
    let mut env = service_env(
        &prefix,
        &db.url,
        &sim.base_url,
        ingest_url.trim_start_matches("http://"),
    );
    for (k, v) in [
        ("WSTG_METRICS_TOKEN", METRICS_TOKEN),
        ("WSTG_INGEST_ADMIN_TOKEN", ADMIN_TOKEN),
        ("WSTG_POLLER_INTERVAL_SECS", "1"),
    ] {
        env.push((k.to_owned(), v.to_owned()));
    }
    let mut ingest = Proc::start("wstg-ingest", &[], &env).unwrap();
    ingest.wait_for_line("listening on", START).await.unwrap();
    // Two workers with the default ops address both start (port 0).
    let (_w1, worker) = start_worker(&env).await;
    let (_w2, worker2) = start_worker(&env).await;
    assert_ne!(worker, worker2);
    let mut p = Proc::start("wstg-poller", &[], &env).unwrap();
    let poller = ops_url(&p.wait_for_line("wstg-poller started", START).await.unwrap());

    let resp = reqwest::Client::new()
        .post(format!("{ingest_url}/api/wstg/sync"))
        .bearer_auth(INGEST_TOKEN)
        .json(&json!({"wstg_id": "WSTG-INFO-01", "status": "In Progress", "user": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);

    // After a short run every metric is on every service the table names.
    let services = [
        ("ingest", format!("{ingest_url}/metrics")),
        ("worker", format!("{worker}/metrics")),
        ("poller", format!("{poller}/metrics")),
    ];
    let documented = documented_metrics();
    test_support::eventually_async(WAIT, "every documented metric on its services", || async {
        let mut missing = Vec::new();
        for (service, url) in &services {
            let (status, body) = get(url, Some(METRICS_TOKEN)).await;
            assert_eq!(status, 200, "{service}: {body}");
            for m in documented
                .iter()
                .filter(|m| m.services.iter().any(|s| s == service))
            {
                if !exposes(&body, m) {
                    missing.push(format!("{service}: {}", m.name));
                }
            }
        }
        if missing.is_empty() {
            Some(())
        } else {
            eprintln!("not yet: {missing:?}");
            None
        }
    })
    .await;

    // The figures are real: the change was applied, DefectDojo was called
    // with an operation label (never an id), requests are counted by route.
    let both = test_support::eventually_async(WAIT, "the change applied", || async {
        let (_, body) = get(&format!("{worker}/metrics"), Some(METRICS_TOKEN)).await;
        let (_, body2) = get(&format!("{worker2}/metrics"), Some(METRICS_TOKEN)).await;
        let both = format!("{body}\n{body2}");
        both.lines()
            .any(|l| l == "wstg_events_applied_total{outcome=\"created\"} 1")
            .then_some(both)
    })
    .await;
    assert!(both.contains("operation=\"POST findings/\""), "{both}");
    assert!(!both.contains("findings/1/"), "an id in a label: {both}");
    let (_, body) = get(&format!("{ingest_url}/metrics"), Some(METRICS_TOKEN)).await;
    assert!(
        body.contains(
            r#"wstg_http_requests_total{method="POST",route="/api/wstg/sync",status="202"} 1"#
        ),
        "{body}"
    );
    // A path no route serves is counted without its text.
    get(&format!("{ingest_url}/no/such/path-1234"), None).await;
    let (_, body) = get(&format!("{ingest_url}/metrics"), Some(METRICS_TOKEN)).await;
    assert!(body.contains(r#"route="unmatched",status="404""#), "{body}");
    assert!(!body.contains("path-1234"), "{body}");

    // Protection. The ingest: the metrics token or an admin token.
    let ingest_metrics = format!("{ingest_url}/metrics");
    assert_eq!(get(&ingest_metrics, None).await.0, 401);
    assert_eq!(get(&ingest_metrics, Some("wrong")).await.0, 401);
    let (status, body) = get(&ingest_metrics, Some(INGEST_TOKEN)).await;
    assert_eq!(
        status, 403,
        "a tracker token does not open /metrics: {body}"
    );
    assert_eq!(get(&ingest_metrics, Some(ADMIN_TOKEN)).await.0, 200);
    // A worker with a metrics token wants it, even on loopback.
    assert_eq!(get(&format!("{worker}/metrics"), None).await.0, 401);
    assert_eq!(
        get(&format!("{worker}/metrics"), Some("wrong")).await.0,
        401
    );
    // Health needs no token and says nothing secret.
    for base in [&worker, &poller] {
        assert_eq!(get(&format!("{base}/healthz"), None).await.0, 200);
        let (status, body) = get(&format!("{base}/readyz"), None).await;
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "ready", "{body}");
        assert!(v["dojo"]["breaker"].is_string(), "{body}");
        for secret in [
            METRICS_TOKEN,
            DOJO_TOKEN,
            "redis://",
            "sqlite:",
            &sim.base_url,
        ] {
            assert!(!body.contains(secret), "{secret} in {body}");
        }
    }
    // No token configured: open on loopback (the default), closed (403)
    // on an address the network reaches; health is served either way.
    let no_token: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| k != "WSTG_METRICS_TOKEN")
        .cloned()
        .collect();
    let (_w3, local) = start_worker(&no_token).await;
    assert_eq!(get(&format!("{local}/metrics"), None).await.0, 200);
    let mut exposed = no_token.clone();
    exposed.push(("WSTG_WORKER_OPS_ADDR".into(), "0.0.0.0:0".into()));
    let (_w4, open) = start_worker(&exposed).await;
    let port = open.rsplit(':').next().unwrap();
    let (status, body) = get(&format!("http://127.0.0.1:{port}/metrics"), None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("WSTG_METRICS_TOKEN"), "{body}");
    assert_eq!(
        get(&format!("http://127.0.0.1:{port}/healthz"), None)
            .await
            .0,
        200
    );

    let _ = test_support::redis_env::delete_prefix(&prefix).await;
    sim.stop().await;
}

/// A Redis of the test's own, on a free port, that it can kill and restart.
struct PrivateRedis {
    child: std::process::Child,
}

impl PrivateRedis {
    fn start(port: u16) -> PrivateRedis {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--bind", "127.0.0.1"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (scripts/ensure-services.sh installs it)");
        PrivateRedis { child }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn redis_answers(port: u16) -> bool {
    let Ok(client) = redis::Client::open(format!("redis://127.0.0.1:{port}")) else {
        return false;
    };
    match client.get_multiplexed_async_connection().await {
        Ok(mut c) => redis::cmd("PING")
            .query_async::<String>(&mut c)
            .await
            .is_ok(),
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_and_poller_readiness_go_false_without_redis_and_true_when_it_is_back() {
    test_support::init_test_logging();
    let port = free_port();
    let mut redis_server = PrivateRedis::start(port);
    test_support::eventually_async(WAIT, "the private Redis", || async {
        redis_answers(port).await.then_some(())
    })
    .await;
    let db = test_support::fresh_sqlite();
    wstg_harness::migrate(&db).await;
    let sim = dojo_sim::spawn(dojo_sim::SimConfig::new(DOJO_TOKEN))
        .await
        .unwrap();
    let mut env = service_env(
        &test_support::unique_prefix(),
        &db.url,
        &sim.base_url,
        "127.0.0.1:0",
    );
    env.push(("WSTG_REDIS_URL".into(), format!("redis://127.0.0.1:{port}")));
    let (_worker, ops) = start_worker(&env).await;
    // The poller answers the same way (its own ops server, same checks).
    let mut poller = Proc::start("wstg-poller", &[], &env).unwrap();
    let poller_ops = ops_url(
        &poller
            .wait_for_line("wstg-poller started", START)
            .await
            .unwrap(),
    );
    let ready = |base: &str, want: u16| {
        let readyz = format!("{base}/readyz");
        move || {
            let readyz = readyz.clone();
            async move {
                let (status, body) = get(&readyz, None).await;
                (status == want).then(|| serde_json::from_str::<Value>(&body).unwrap())
            }
        }
    };
    for base in [&ops, &poller_ops] {
        let body = test_support::eventually_async(WAIT, "ready", ready(base, 200)).await;
        assert_eq!(body["redis"], "ok");
    }

    redis_server.kill();
    for base in [&ops, &poller_ops] {
        let body =
            test_support::eventually_async(WAIT, "not ready without Redis", ready(base, 503)).await;
        assert_eq!(body["status"], "unavailable");
        assert_eq!(body["redis"], "unreachable");
        assert_eq!(body["store"], "ok");
        assert_eq!(body["away"], json!(["redis"]));
        assert_eq!(get(&format!("{base}/healthz"), None).await.0, 200, "alive");
    }
    // Scrapes still answer, and say Redis is down.
    let (status, metrics) = get(&format!("{ops}/metrics"), None).await;
    assert_eq!(status, 200);
    assert!(metrics.lines().any(|l| l == "wstg_redis_up 0"), "{metrics}");

    let _redis_again = PrivateRedis::start(port);
    for base in [&ops, &poller_ops] {
        let body = test_support::eventually_async(WAIT, "ready again", ready(base, 200)).await;
        assert_eq!(body["away"], json!([]));
    }
    sim.stop().await;
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    groups: Vec<RuleGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleGroup {
    name: String,
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    alert: String,
    expr: String,
    #[serde(rename = "for")]
    hold: Option<String>,
    labels: std::collections::BTreeMap<String, String>,
    annotations: std::collections::BTreeMap<String, String>,
}

/// Every `wstg_…` metric an expression names, histogram series folded
/// into their metric.
fn metric_names(expr: &str, histograms: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while let Some(at) = expr[i..].find("wstg_") {
        let start = i + at;
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        let preceded =
            start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let name = &expr[start..end];
        if !preceded && !name.starts_with("wstg_bridge") {
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|b| histograms.contains(*b)))
                .unwrap_or(name);
            out.insert(base.to_owned());
        }
        i = end;
    }
    out
}

#[test]
fn alert_rules_and_the_dashboard_name_only_metrics_that_exist() {
    let documented = documented_metrics();
    let names: BTreeSet<String> = documented.iter().map(|m| m.name.clone()).collect();
    let histograms: BTreeSet<String> = documented
        .iter()
        .filter(|m| m.histogram)
        .map(|m| m.name.clone())
        .collect();

    let rules: RuleFile =
        serde_saphyr::from_str(&repo_file("deploy/prometheus/alerts.yml")).expect("alerts.yml");
    let doc = repo_file("docs/operations.md");
    let mut alerts = BTreeSet::new();
    for group in &rules.groups {
        assert!(!group.name.is_empty());
        for rule in &group.rules {
            assert!(alerts.insert(rule.alert.clone()), "{} twice", rule.alert);
            assert!(
                matches!(
                    rule.labels.get("severity").map(String::as_str),
                    Some("warning" | "critical")
                ),
                "{}: severity",
                rule.alert
            );
            assert!(rule.annotations.contains_key("summary"), "{}", rule.alert);
            if let Some(hold) = &rule.hold {
                assert!(
                    hold.ends_with('m') || hold.ends_with('s'),
                    "{}: for {hold}",
                    rule.alert
                );
            }
            for m in metric_names(&rule.expr, &histograms) {
                assert!(names.contains(&m), "{}: {m} is not a metric", rule.alert);
            }
            assert!(
                doc.contains(&format!("| `{}` |", rule.alert)),
                "{} is not in docs/operations.md",
                rule.alert
            );
        }
    }
    for wanted in [
        "WstgDeadLettersGrew",
        "WstgDojoUnreachable",
        "WstgDojoBreakerOpen",
        "WstgSyncStale",
        "WstgConflictsHigh",
        "WstgBacklogOld",
        "WstgServiceDown",
    ] {
        assert!(alerts.contains(wanted), "{wanted}");
    }

    let dashboard: Value = serde_json::from_str(&repo_file("deploy/grafana/wstg-bridge.json"))
        .expect("dashboard JSON");
    let mut used = BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let found = metric_names(expr, &histograms);
            assert!(!found.is_empty(), "{expr}");
            for m in found {
                assert!(names.contains(&m), "dashboard: {m} is not a metric");
                used.insert(m);
            }
        }
    }
    assert!(
        used.len() >= 20,
        "the dashboard shows most metrics: {used:?}"
    );
}
