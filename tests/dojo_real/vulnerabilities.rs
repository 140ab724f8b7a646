//! Vulnerabilities under an item (issue 12), on any [`Backend`]: recorded
//! under WSTG-INPV-05 → exactly one finding with its fields; an edit and a
//! close made in DefectDojo come back under the item; a scanner-style
//! finding tagged `wstg-inpv-05` in another test of the engagement appears
//! under WSTG-INPV-05; the item keeps its own finding throughout.

use serde_json::{json, Value};
use test_support::eventually_async;
use wstg_domain::Status;

use crate::backend::Backend;
use crate::bridge::{fresh_project, Bridge, WAIT};

const ITEM: &str = "WSTG-INPV-05";

async fn list(b: &Bridge) -> Vec<Value> {
    let v: Value = b
        .http
        .get(format!(
            "{}/api/wstg/items/{ITEM}/vulnerabilities?project={}",
            b.url, b.project
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["vulnerabilities"].as_array().cloned().unwrap_or_default()
}

async fn list_until(b: &Bridge, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    eventually_async(WAIT, what, || async {
        let l = list(b).await;
        pred(&l).then_some(l)
    })
    .await
}

pub async fn vulnerabilities_under_an_item(dojo: &Backend) {
    let b = Bridge::start(dojo, &fresh_project("vulns"), &[]).await;
    b.set(ITEM, Status::InProgress, "sqlmap running").await;
    let (_, item_finding) = b.linked(ITEM, Status::InProgress).await;

    let r = b
        .http
        .post(format!(
            "{}/api/wstg/items/{ITEM}/vulnerabilities?project={}",
            b.url, b.project
        ))
        .header("Idempotency-Key", "real-1")
        .json(&json!({"title": "SQL injection in login form", "severity": "High",
            "description": "union based", "steps": "1. POST /login", "impact": "dump the users table",
            "mitigation": "bind parameters", "cwe": 89, "endpoints": ["https://app.example/login"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let l = list_until(&b, "the vulnerability linked and active", |l| {
        l.iter()
            .any(|v| v["id"] == json!(id) && v["finding_id"].is_i64() && v["status"] == "active")
    })
    .await;
    let fid = l[0]["finding_id"].as_i64().unwrap();
    let f = dojo.finding(fid).await.unwrap();
    assert_eq!(f["severity"], "High");
    assert_eq!(f["cwe"], 89);
    assert_eq!(f["steps_to_reproduce"], "1. POST /login");
    assert_eq!(f["references"], "https://app.example/login");
    assert_eq!(f["unique_id_from_tool"], json!(format!("wstg-vuln:{id}")));
    let test = f["test"].as_i64().unwrap();
    let (_, marked) = dojo
        .api(
            reqwest::Method::GET,
            &format!("findings/?test={test}&tags=wstg-vuln&limit=100"),
            None,
        )
        .await;
    assert_eq!(marked["count"], 1, "exactly one finding: {marked}");

    // Edited, then closed, in DefectDojo: comes back under the item.
    dojo.patch(
        fid,
        json!({"severity": "Critical", "impact": "full database read"}),
    )
    .await;
    list_until(&b, "DefectDojo's edit under the item", |l| {
        l.iter()
            .any(|v| v["severity"] == "Critical" && v["impact"] == "full database read")
    })
    .await;
    dojo.patch(fid, json!({"active": false, "is_mitigated": true}))
        .await;
    list_until(&b, "closed in DefectDojo shows mitigated", |l| {
        l.iter().any(|v| v["status"] == "mitigated")
    })
    .await;

    // A scanner-style finding in another test of the engagement.
    let (_, t) = dojo
        .api(reqwest::Method::GET, &format!("tests/{test}/"), None)
        .await;
    let (s, scanner_test) = dojo
        .api(
            reqwest::Method::POST,
            "tests/",
            Some(
                json!({"engagement": t["engagement"], "test_type": t["test_type"],
                "target_start": "2026-12-01T00:00:00Z", "target_end": "2026-12-31T00:00:00Z",
                "title": "vulns sqlmap import"}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{scanner_test}");
    let (s, scanner) = dojo
        .api(
            reqwest::Method::POST,
            "findings/",
            Some(json!({"test": scanner_test["id"], "found_by": [], "title": "SQL injection (sqlmap)",
                "severity": "Critical", "numerical_severity": "S0", "description": "parameter q",
                "active": true, "verified": false, "cwe": 89, "tags": ["wstg-inpv-05"]})),
        )
        .await;
    assert_eq!(s, 201, "{scanner}");
    list_until(&b, "the scanner-style finding under WSTG-INPV-05", |l| {
        l.iter()
            .any(|v| v["finding_id"] == scanner["id"] && v["origin"] == "dojo")
    })
    .await;
    let item = b.item(ITEM).await;
    assert_eq!(item["finding_id"].as_i64(), Some(item_finding));
    assert_eq!(item["status"], "in_progress");
    assert_eq!(item["vulnerabilities"]["count"], 2);
    assert_eq!(item["vulnerabilities"]["open"], 1);
    b.settle().await;
    assert!(b.dead_letters().await.is_empty());
}
