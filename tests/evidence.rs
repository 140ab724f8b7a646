//! Evidence files (issue 12 item 2), end to end with real processes: the
//! ingest, a worker and a poller against dojo-sim over HTTP, SQLite.
//!
//! - a PNG and a text file uploaded to an item reach the item's finding in
//!   dojo-sim byte for byte, and come back from the tracker byte for byte;
//! - a file added to the finding in dojo-sim appears in the tracker;
//! - refusals: too big (413), wrong type (415), no file (422), no token (401).

mod common;

use std::time::Duration;

use common::{System, DOJO_TOKEN};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use test_support::eventually_async;

const WAIT: Duration = Duration::from_secs(30);

/// A real 1x1 PNG (what a screenshot starts with, and all of one).
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xfc, 0xcf, 0xc0, 0x50,
    0x0f, 0x00, 0x04, 0x85, 0x01, 0x80, 0x84, 0xa9, 0x8c, 0x21, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

async fn upload(
    sys: &System,
    http: &reqwest::Client,
    wstg_id: &str,
    name: &str,
    mime: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let form = Form::new().part(
        "file",
        Part::bytes(bytes)
            .file_name(name.to_owned())
            .mime_str(mime)
            .unwrap(),
    );
    http.post(format!(
        "{}/api/wstg/items/{wstg_id}/evidence",
        sys.ingest_url
    ))
    .multipart(form)
    .send()
    .await
    .unwrap()
}

async fn evidence_of(sys: &System, wstg_id: &str) -> Vec<Value> {
    let body: Value = sys
        .http
        .get(format!(
            "{}/api/wstg/items/{wstg_id}/evidence",
            sys.ingest_url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["evidence"].as_array().cloned().unwrap()
}

async fn sim_get(sys: &System, path: &str) -> reqwest::Response {
    sys.http
        .get(format!("{}/api/v2/{path}", sys.sim.base_url))
        .header("Authorization", format!("Token {DOJO_TOKEN}"))
        .send()
        .await
        .unwrap()
}

/// Waits until evidence `id` is uploaded; returns (finding, file) ids.
async fn uploaded(sys: &System, wstg_id: &str, id: &str) -> (i64, i64) {
    eventually_async(WAIT, &format!("evidence {id} uploaded"), || async {
        let all = evidence_of(sys, wstg_id).await;
        let e = all.iter().find(|e| e["id"] == json!(id))?.clone();
        (e["state"] == "uploaded").then_some(())?;
        let item = sys.item(wstg_id).await;
        Some((item["finding_id"].as_i64()?, e["dojo_file_id"].as_i64()?))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_png_and_a_text_file_round_trip_byte_for_byte() {
    let sys = System::start_full(
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
    .await;
    let text = b"GET /admin HTTP/1.1\r\nHost: shop.example\r\n\r\n".to_vec();
    let mut ids = Vec::new();
    for (name, mime, bytes) in [
        ("../../shot.png", "image/png", PNG.to_vec()),
        ("request.txt", "text/plain", text.clone()),
    ] {
        let resp = upload(&sys, &sys.http, "WSTG-INFO-01", name, mime, bytes).await;
        assert_eq!(resp.status(), 201);
        let body: Value = resp.json().await.unwrap();
        ids.push((body["id"].as_str().unwrap().to_owned(), body.clone()));
    }
    assert_eq!(ids[0].1["name"], "shot.png", "directory part dropped");
    assert_eq!(ids[0].1["content_type"], "image/png");
    assert_eq!(ids[0].1["image"], true);
    assert_eq!(ids[1].1["content_type"], "text/plain; charset=utf-8");
    // The item has no finding yet: the files wait, pending, until the
    // item's first change makes one.
    assert!(ids.iter().all(|(_, e)| e["state"] == "pending"));
    sys.post_ok(
        &json!({"wstg_id": "WSTG-INFO-01", "status": wstg_domain::Status::InProgress.as_str()}),
    )
    .await;

    for ((id, _), (bytes, ext)) in ids
        .iter()
        .zip([(PNG.to_vec(), ".png"), (text.clone(), ".txt")])
    {
        let (finding, file) = uploaded(&sys, "WSTG-INFO-01", id).await;
        // In DefectDojo (the emulator), byte for byte, named for its kind.
        let got = sim_get(&sys, &format!("findings/{finding}/files/download/{file}/")).await;
        assert_eq!(got.status(), 200);
        let disposition = got.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            disposition.contains(&format!("wstg-evidence {id}")),
            "{disposition}"
        );
        assert!(disposition.ends_with(&format!("{ext}\"")), "{disposition}");
        assert_eq!(got.bytes().await.unwrap().to_vec(), bytes);
        // And back from the tracker, byte for byte, never sniffed.
        let back = sys
            .http
            .get(format!("{}/api/wstg/evidence/{id}", sys.ingest_url))
            .send()
            .await
            .unwrap();
        assert_eq!(back.status(), 200);
        assert_eq!(back.headers()["x-content-type-options"], "nosniff");
        let disposition = back.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            disposition.starts_with("attachment"),
            ext == ".txt",
            "{disposition}"
        );
        assert_eq!(back.bytes().await.unwrap().to_vec(), bytes);
    }
    // Uploaded once: the finding holds exactly the two files, and the
    // poller's next passes neither adopt nor copy them again.
    let (finding, _) = uploaded(&sys, "WSTG-INFO-01", &ids[0].0).await;
    let list: Value = sim_get(&sys, &format!("findings/{finding}/files/"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["files"].as_array().unwrap().len(), 2, "{list}");

    // A file added to the finding in DefectDojo appears in the tracker.
    let log = b"2026-12-01 10:00:00 login failed for admin\n".to_vec();
    let form = Form::new().text("title", "server.log.txt").part(
        "file",
        Part::bytes(log.clone())
            .file_name("server.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let added = sys
        .http
        .post(format!(
            "{}/api/v2/findings/{finding}/files/",
            sys.sim.base_url
        ))
        .header("Authorization", format!("Token {DOJO_TOKEN}"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let from_dojo = eventually_async(WAIT, "the DefectDojo file in the tracker", || async {
        evidence_of(&sys, "WSTG-INFO-01")
            .await
            .into_iter()
            .find(|e| e["origin"] == "dojo")
    })
    .await;
    assert_eq!(from_dojo["name"], "server.log.txt");
    let back = sys
        .http
        .get(format!(
            "{}/api/wstg/evidence/{}",
            sys.ingest_url,
            from_dojo["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(back.bytes().await.unwrap().to_vec(), log);
    // What a pass costs once nothing changes: two more poller passes read
    // no file list and download nothing (the finding's `files` ids match),
    // and the file is recorded once.
    let route = |stats: &Value, key: &str| stats["by_route"][key].as_u64().unwrap_or(0);
    let lists = "GET /api/v2/findings/{id}/files/";
    let downloads = "GET /api/v2/findings/{id}/files/download/{id}/";
    let passes = "GET /api/v2/findings/";
    let before = common::dojo_stats(&sys.http, &sys.sim.base_url).await;
    eventually_async(WAIT, "two more poller passes", || async {
        let now = common::dojo_stats(&sys.http, &sys.sim.base_url).await;
        (route(&now, passes) >= route(&before, passes) + 2).then_some(())
    })
    .await;
    let after = common::dojo_stats(&sys.http, &sys.sim.base_url).await;
    assert_eq!(route(&after, lists), route(&before, lists), "{after}");
    assert_eq!(
        route(&after, downloads),
        route(&before, downloads),
        "{after}"
    );
    assert_eq!(evidence_of(&sys, "WSTG-INFO-01").await.len(), 3);
    let list: Value = sim_get(&sys, &format!("findings/{finding}/files/"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["files"].as_array().unwrap().len(), 3, "{list}");
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_the_field_and_the_reason() {
    let sys = System::start_with(
        test_support::fresh_sqlite(),
        0,
        &[("WSTG_LIMITS_EVIDENCE_MAX_FILE_BYTES", "4096")],
    )
    .await;
    let refused = |status: u16, field: &'static str| {
        move |r: (reqwest::StatusCode, Value)| {
            assert_eq!(r.0.as_u16(), status, "{}", r.1);
            assert_eq!(r.1["field"], field, "{}", r.1);
            assert!(r.1["reason"].is_string(), "{}", r.1);
        }
    };
    async fn answer(r: reqwest::Response) -> (reqwest::StatusCode, Value) {
        (r.status(), r.json().await.unwrap())
    }
    // Too big.
    let big = upload(
        &sys,
        &sys.http,
        "WSTG-INFO-01",
        "big.txt",
        "text/plain",
        vec![b'a'; 5000],
    )
    .await;
    refused(413, "file")(answer(big).await);
    // A Windows executable named .png: the bytes decide.
    let mut exe = b"MZ".to_vec();
    exe.extend_from_slice(&[0x90; 200]);
    let wrong = upload(
        &sys,
        &sys.http,
        "WSTG-INFO-01",
        "shot.png",
        "image/png",
        exe,
    )
    .await;
    refused(415, "file")(answer(wrong).await);
    // Binary bytes of no accepted kind.
    let binary = upload(
        &sys,
        &sys.http,
        "WSTG-INFO-01",
        "x.txt",
        "text/plain",
        vec![0, 1, 2, 3],
    )
    .await;
    refused(415, "file")(answer(binary).await);
    // Empty.
    let empty = upload(
        &sys,
        &sys.http,
        "WSTG-INFO-01",
        "e.txt",
        "text/plain",
        Vec::new(),
    )
    .await;
    refused(422, "file")(answer(empty).await);
    // Not multipart.
    let json_body = sys
        .http
        .post(format!(
            "{}/api/wstg/items/WSTG-INFO-01/evidence",
            sys.ingest_url
        ))
        .json(&json!({"file": "x"}))
        .send()
        .await
        .unwrap();
    refused(415, "Content-Type")(answer(json_body).await);
    // No token.
    let anonymous = upload(
        &sys,
        &reqwest::Client::new(),
        "WSTG-INFO-01",
        "a.txt",
        "text/plain",
        b"a".to_vec(),
    )
    .await;
    assert_eq!(anonymous.status(), 401);
    let no_token = reqwest::Client::new()
        .get(format!(
            "{}/api/wstg/items/WSTG-INFO-01/evidence",
            sys.ingest_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401);
    // Nothing was kept.
    assert!(evidence_of(&sys, "WSTG-INFO-01").await.is_empty());
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_attached_to_a_vulnerability_goes_to_its_own_finding() {
    let sys = System::start_full(
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
    .await;
    sys.post_ok(
        &json!({"wstg_id": "WSTG-INPV-05", "status": wstg_domain::Status::InProgress.as_str()}),
    )
    .await;
    let r = sys
        .http
        .post(format!("{}/api/wstg/items/WSTG-INPV-05/vulnerabilities", sys.ingest_url))
        .json(&json!({"title": "SQL injection in login", "severity": "High", "description": "union based"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let vid = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let vuln_finding = eventually_async(WAIT, "the vulnerability's finding", || async {
        let v: Value = sys
            .http
            .get(format!(
                "{}/api/wstg/items/WSTG-INPV-05/vulnerabilities",
                sys.ingest_url
            ))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        v["vulnerabilities"]
            .as_array()?
            .iter()
            .find(|v| v["id"] == json!(vid))?["finding_id"]
            .as_i64()
    })
    .await;
    let form = Form::new().text("vulnerability_id", vid.clone()).part(
        "file",
        Part::bytes(PNG.to_vec())
            .file_name("sqlmap.png")
            .mime_str("image/png")
            .unwrap(),
    );
    let r = sys
        .http
        .post(format!(
            "{}/api/wstg/items/WSTG-INPV-05/evidence",
            sys.ingest_url
        ))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let ev: Value = r.json().await.unwrap();
    assert_eq!(ev["target"], json!({"kind": "vulnerability", "id": vid}));
    let file = eventually_async(WAIT, "the file on the vulnerability's finding", || async {
        let e = evidence_of(&sys, "WSTG-INPV-05").await.into_iter().next()?;
        (e["state"] == "uploaded").then(|| e["dojo_file_id"].as_i64())?
    })
    .await;
    let got = sim_get(
        &sys,
        &format!("findings/{vuln_finding}/files/download/{file}/"),
    )
    .await;
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().to_vec(), PNG);
    // Not on the item's own finding.
    let item_finding = sys.item("WSTG-INPV-05").await["finding_id"]
        .as_i64()
        .unwrap();
    assert_ne!(item_finding, vuln_finding);
    let list: Value = sim_get(&sys, &format!("findings/{item_finding}/files/"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["files"], json!([]));
    // A vulnerability of another item is refused, naming the field.
    let form = Form::new().text("vulnerability_id", vid).part(
        "file",
        Part::bytes(b"x".to_vec())
            .file_name("a.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let r = sys
        .http
        .post(format!(
            "{}/api/wstg/items/WSTG-INFO-01/evidence",
            sys.ingest_url
        ))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap()["field"],
        "vulnerability_id"
    );
    sys.stop().await;
}
