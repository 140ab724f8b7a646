//! Vulnerabilities under an item (issue 12 item 1), against the emulator:
//! recorded on an item → exactly one DefectDojo finding with its fields;
//! edits both ways; closed in DefectDojo shows closed; a scanner-style
//! finding tagged with the item's id appears under it; a create that landed
//! before the worker died is linked, never made twice; the item's own
//! finding and the vulnerabilities' are never mistaken for each other.

mod common;

use std::time::Duration;

use common::{dojo_findings, System, DOJO_TOKEN};
use serde_json::{json, Value};
use test_support::eventually_async;

const WAIT: Duration = Duration::from_secs(30);
const ITEM: &str = "WSTG-INPV-05";

async fn start() -> System {
    System::start_full(
        test_support::fresh_sqlite(),
        1,
        1,
        &[
            ("WSTG_POLLER_INTERVAL_SECS", "1"),
            // Files and findings in other tests move no status time: only the
            // full reads see them (docs/sync-rules.md, polling).
            ("WSTG_POLLER_FULL_SCAN_SECS", "1"),
        ],
    )
    .await
}

async fn record(sys: &System, key: Option<&str>, body: &Value) -> reqwest::Response {
    let mut req = sys
        .http
        .post(format!(
            "{}/api/wstg/items/{ITEM}/vulnerabilities",
            sys.ingest_url
        ))
        .json(body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    req.send().await.unwrap()
}

async fn list(sys: &System) -> Vec<Value> {
    let body: Value = sys
        .http
        .get(format!(
            "{}/api/wstg/items/{ITEM}/vulnerabilities",
            sys.ingest_url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["vulnerabilities"].as_array().cloned().unwrap()
}

/// Waits until `pred` holds of the item's vulnerability list.
async fn list_until(sys: &System, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    eventually_async(WAIT, what, || async {
        let l = list(sys).await;
        pred(&l).then_some(l)
    })
    .await
}

fn vuln_findings(all: &[Value]) -> Vec<Value> {
    all.iter()
        .filter(|f| {
            f["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "wstg-vuln")
        })
        .cloned()
        .collect()
}

async fn dojo(sys: &System, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut req = sys
        .http
        .request(method, format!("{}/api/v2/{path}", sys.sim.base_url))
        .header("Authorization", format!("Token {DOJO_TOKEN}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_vulnerabilities_become_one_finding_each_and_edits_come_back() {
    let sys = start().await;
    // The item's own finding first: the two kinds must never be mistaken.
    sys.post_ok(&json!({"wstg_id": ITEM, "status": "In Progress", "notes": "sqlmap running"}))
        .await;
    let bodies = [
        json!({"title": "SQL injection in login form", "severity": "High", "description": "union based",
               "steps": "1. POST /login with ' OR 1=1 --", "impact": "dump the users table",
               "mitigation": "bind parameters", "cwe": "CWE-89", "endpoints": ["https://app.example/login"]}),
        json!({"title": "Blind SQLi in search", "severity": "critical", "description": "time based", "cwe": 89}),
        json!({"title": "Error-based SQLi in report export", "severity": "Medium", "description": "stack traces"}),
    ];
    let mut ids = Vec::new();
    for (i, b) in bodies.iter().enumerate() {
        let r = record(&sys, Some(&format!("vuln-{i}")), b).await;
        assert_eq!(r.status(), 202);
        let v: Value = r.json().await.unwrap();
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    // A client retry with the same key records nothing new.
    let r = record(&sys, Some("vuln-0"), &bodies[0]).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["id"].as_str().unwrap(), v["status"].as_str().unwrap()),
        (ids[0].as_str(), "duplicate")
    );

    let l = list_until(&sys, "3 vulnerabilities linked and active", |l| {
        l.len() == 3
            && l.iter().all(|v| {
                v["finding_id"].is_i64() && v["status"] == "active" && v["sync_state"] == "synced"
            })
    })
    .await;
    let all = dojo_findings(&sys.http, &sys.sim.base_url).await;
    let vf = vuln_findings(&all);
    assert_eq!(
        vf.len(),
        3,
        "exactly one finding per vulnerability: {vf:#?}"
    );
    let first = vf
        .iter()
        .find(|f| f["unique_id_from_tool"] == json!(format!("wstg-vuln:{}", ids[0])))
        .expect("found by its unique id");
    assert_eq!(first["severity"], "High");
    assert_eq!(first["cwe"], 89);
    assert_eq!(
        first["steps_to_reproduce"],
        "1. POST /login with ' OR 1=1 --"
    );
    assert_eq!(first["impact"], "dump the users table");
    assert_eq!(first["mitigation"], "bind parameters");
    assert_eq!(first["references"], "https://app.example/login");
    assert!(first["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("wstg-inpv-05")));
    // The item's own finding is still the one it was, alone.
    let item_findings: Vec<&Value> = all
        .iter()
        .filter(|f| f["unique_id_from_tool"] == ITEM)
        .collect();
    assert_eq!(item_findings.len(), 1);
    let item = sys.item(ITEM).await;
    assert_eq!(item["finding_id"], item_findings[0]["id"]);
    assert_eq!(item["status"], "in_progress");
    assert_eq!(
        item["vulnerabilities"],
        json!({"count": 3, "open": 3, "worst_severity": "Critical"})
    );

    // Edited in DefectDojo: comes back under the item.
    let fid = |i: usize| {
        l.iter().find(|v| v["id"] == json!(ids[i])).unwrap()["finding_id"]
            .as_i64()
            .unwrap()
    };
    sys.dojo_patch(
        fid(2),
        &json!({"severity": "Low", "impact": "error pages only"}),
    )
    .await;
    // Closed in DefectDojo: shows closed.
    sys.dojo_patch(fid(1), &json!({"active": false, "is_mitigated": true}))
        .await;
    let l = list_until(&sys, "DefectDojo's edit and close come back", |l| {
        l.iter().any(|v| {
            v["id"] == json!(ids[2]) && v["severity"] == "Low" && v["impact"] == "error pages only"
        }) && l
            .iter()
            .any(|v| v["id"] == json!(ids[1]) && v["status"] == "mitigated" && v["open"] == false)
    })
    .await;
    assert_eq!(l.len(), 3);
    let item = sys.item(ITEM).await;
    assert_eq!(
        item["vulnerabilities"],
        json!({"count": 3, "open": 2, "worst_severity": "High"})
    );
    assert_eq!(
        item["status"], "in_progress",
        "a vulnerability closed is not the item done"
    );

    // Edited in the tracker: goes to the finding.
    let r = sys
        .http
        .patch(format!(
            "{}/api/wstg/vulnerabilities/{}",
            sys.ingest_url, ids[0]
        ))
        .json(&json!({"severity": "Critical", "mitigation": "use prepared statements"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    eventually_async(WAIT, "the tracker's edit reaches DefectDojo", || async {
        let f = dojo(
            &sys,
            reqwest::Method::GET,
            &format!("findings/{}/", fid(0)),
            None,
        )
        .await;
        (f["severity"] == "Critical" && f["mitigation"] == "use prepared statements").then_some(())
    })
    .await;
    sys.settle().await;
    assert_eq!(
        vuln_findings(&dojo_findings(&sys.http, &sys.sim.base_url).await).len(),
        3
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scanner_finding_tagged_with_the_item_id_appears_under_the_item() {
    let sys = start().await;
    sys.post_ok(&json!({"wstg_id": ITEM, "status": "In Progress"}))
        .await;
    let finding_id = eventually_async(WAIT, "the item's finding", || async {
        sys.item(ITEM).await["finding_id"].as_i64()
    })
    .await;
    // A scanner import makes its own test in the engagement.
    let f = dojo(
        &sys,
        reqwest::Method::GET,
        &format!("findings/{finding_id}/?related_fields=true"),
        None,
    )
    .await;
    let engagement = f["related_fields"]["test"]["engagement"]["id"]
        .as_i64()
        .unwrap();
    let test_type = f["related_fields"]["test"]["test_type"]["id"]
        .as_i64()
        .or_else(|| f["related_fields"]["test"]["test_type"].as_i64())
        .unwrap();
    let test = dojo(&sys, reqwest::Method::POST, "tests/", Some(json!({
        "engagement": engagement, "test_type": test_type,
        "target_start": "2026-12-01T00:00:00Z", "target_end": "2026-12-31T00:00:00Z", "title": "sqlmap import"
    }))).await;
    let scanner = dojo(&sys, reqwest::Method::POST, "findings/", Some(json!({
        "test": test["id"], "found_by": [], "title": "SQL injection (sqlmap)", "severity": "Critical",
        "numerical_severity": "S0", "description": "parameter q is injectable", "active": true, "verified": false,
        "cwe": 89, "tags": ["wstg-inpv-05", "sqlmap"]
    }))).await;
    let l = list_until(&sys, "the scanner's finding under the item", |l| {
        l.iter().any(|v| v["finding_id"] == scanner["id"])
    })
    .await;
    let v = l.iter().find(|v| v["finding_id"] == scanner["id"]).unwrap();
    assert_eq!(
        (
            v["origin"].as_str(),
            v["severity"].as_str(),
            v["cwe"].as_u64()
        ),
        (Some("dojo"), Some("Critical"), Some(89))
    );
    // Closed there: shows closed.
    sys.dojo_patch(
        scanner["id"].as_i64().unwrap(),
        &json!({"false_p": true, "active": false}),
    )
    .await;
    list_until(&sys, "the scanner's finding shows false positive", |l| {
        l.iter()
            .any(|v| v["finding_id"] == scanner["id"] && v["status"] == "false_positive")
    })
    .await;
    // Deleted there: shows deleted, and is not recreated.
    let r = sys
        .http
        .delete(format!(
            "{}/api/v2/findings/{}/",
            sys.sim.base_url, scanner["id"]
        ))
        .header("Authorization", format!("Token {DOJO_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    list_until(&sys, "the deleted finding shows deleted", |l| {
        l.iter()
            .any(|v| v["finding_id"] == scanner["id"] && v["status"] == "deleted")
    })
    .await;
    let item = sys.item(ITEM).await;
    assert_eq!(
        item["finding_id"].as_i64(),
        Some(finding_id),
        "the item keeps its own finding"
    );
    assert_eq!(item["vulnerabilities"]["count"], 0);
    sys.stop().await;
}

/// The worker died after DefectDojo created the finding (the write-ahead
/// intent is there, the link is not): the next sync finds it by its unique
/// id and links it; no second finding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_that_landed_before_the_worker_died_is_linked_not_repeated() {
    let sys = start().await;
    sys.post_ok(&json!({"wstg_id": ITEM, "status": "In Progress"}))
        .await;
    let finding_id = eventually_async(WAIT, "the item's finding", || async {
        sys.item(ITEM).await["finding_id"].as_i64()
    })
    .await;
    let f = dojo(
        &sys,
        reqwest::Method::GET,
        &format!("findings/{finding_id}/"),
        None,
    )
    .await;
    // What the dead worker left: the record with its intent, and the finding.
    let store = wstg_store::Store::connect(&sys.settings.database.url)
        .await
        .unwrap();
    let id = uuid::Uuid::now_v7();
    let project = wstg_domain::ProjectName::default_project();
    let item = wstg_domain::Catalogue::get(wstg_domain::CatalogueVersion::V4_2)
        .parse_id(ITEM)
        .unwrap();
    let fields = wstg_domain::vulnerability::VulnFields {
        title: "Sqli In Login".into(),
        severity: wstg_domain::vulnerability::Severity::High,
        description: "union based".into(),
        steps: String::new(),
        impact: String::new(),
        mitigation: String::new(),
        cwe: None,
        endpoints: vec![],
    };
    store
        .insert_vulnerability(id, &project, &item, &fields, chrono::Utc::now())
        .await
        .unwrap();
    store
        .set_vulnerability_create_sent(id, Some(chrono::Utc::now()))
        .await
        .unwrap();
    let landed = dojo(&sys, reqwest::Method::POST, "findings/", Some(json!({
        "test": f["test"], "found_by": [], "title": "Sqli In Login", "severity": "High", "numerical_severity": "S1",
        "description": "union based", "active": true, "verified": false,
        "unique_id_from_tool": format!("wstg-vuln:{id}"), "tags": ["wstg-vuln", "wstg-inpv-05"]
    }))).await;
    // The redelivered event (a PATCH with no change queues the same sync).
    let r = sys
        .http
        .patch(format!("{}/api/wstg/vulnerabilities/{id}", sys.ingest_url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    list_until(&sys, "linked to the finding that landed", |l| {
        l.iter().any(|v| {
            v["id"] == json!(id.to_string())
                && v["finding_id"] == landed["id"]
                && v["status"] == "active"
        })
    })
    .await;
    sys.settle().await;
    assert_eq!(
        vuln_findings(&dojo_findings(&sys.http, &sys.sim.base_url).await).len(),
        1
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_vulnerabilities_are_refused_naming_the_field() {
    let sys = System::start(test_support::fresh_sqlite(), 0).await;
    let ok = json!({"title": "t", "severity": "High", "description": "d"});
    for (body, field) in [
        (json!({"severity": "High", "description": "d"}), "title"),
        (
            json!({"title": "t", "severity": "urgent", "description": "d"}),
            "severity",
        ),
        (json!({"title": "t", "severity": "High"}), "description"),
        (
            json!({"title": "t", "severity": "High", "description": "d", "cwe": "eighty"}),
            "cwe",
        ),
        (
            json!({"title": "t", "severity": "High", "description": "d", "endpoints": ["ftp://x"]}),
            "endpoints",
        ),
        (
            json!({"title": "t\u{1b}[2J", "severity": "High", "description": "d"}),
            "title",
        ),
        (
            json!({"title": "t", "severity": "High", "description": "d", "owner": "x"}),
            "body",
        ),
    ] {
        let r = record(&sys, None, &body).await;
        assert_eq!(r.status(), 400, "{body}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["field"], field, "{body}: {e}");
    }
    let r = sys
        .http
        .post(format!(
            "{}/api/wstg/items/WSTG-NOPE-99/vulnerabilities",
            sys.ingest_url
        ))
        .json(&ok)
        .send()
        .await
        .unwrap();
    assert!(r.status() == 404 || r.status() == 400, "{}", r.status());
    // A key reused for another body, before it synced.
    assert_eq!(record(&sys, Some("k1"), &ok).await.status(), 202);
    let other = json!({"title": "other", "severity": "Low", "description": "d"});
    assert_eq!(record(&sys, Some("k1"), &other).await.status(), 422);
    let r = sys
        .http
        .patch(format!(
            "{}/api/wstg/vulnerabilities/{}",
            sys.ingest_url,
            uuid::Uuid::now_v7()
        ))
        .json(&json!({"title": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // No token, no vulnerabilities.
    let r = reqwest::Client::new()
        .get(format!(
            "{}/api/wstg/items/{ITEM}/vulnerabilities",
            sys.ingest_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    sys.stop().await;
}
