//! Evidence files (issue 12 item 2) against a real DefectDojo (and, in
//! tests/dojo_real_sim.rs, the emulator): a PNG and a text file uploaded to
//! an item reach its finding byte for byte, and a file added to the finding
//! in DefectDojo comes to the tracker byte for byte.

use reqwest::multipart::{Form, Part};
use serde_json::Value;
use test_support::eventually_async;
use wstg_domain::Status;

use crate::backend::Backend;
use crate::bridge::{fresh_project, Bridge, WAIT};

/// A real 2x2 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0xfd, 0xd4, 0x9a,
    0x73, 0x00, 0x00, 0x00, 0x10, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0x00, 0x04,
    0xff, 0x19, 0x20, 0x14, 0x00, 0x1b, 0xf2, 0x03, 0xfd, 0xd6, 0x96, 0xf2, 0x2b, 0x00, 0x00, 0x00,
    0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

async fn evidence_of(b: &Bridge, wstg_id: &str) -> Vec<Value> {
    let v: Value = b
        .http
        .get(format!("{}/api/wstg/items/{wstg_id}/evidence", b.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["evidence"].as_array().cloned().unwrap_or_default()
}

async fn dojo_download(dojo: &Backend, finding: i64, file: i64) -> Vec<u8> {
    let r = dojo
        .http
        .get(format!(
            "{}/api/v2/findings/{finding}/files/download/{file}/",
            dojo.url
        ))
        .header("Authorization", format!("Token {}", dojo.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap().to_vec()
}

pub async fn evidence_round_trips(dojo: &Backend) {
    let b = Bridge::start(dojo, &fresh_project("evidence"), &[]).await;
    b.set("WSTG-INFO-01", Status::InProgress, "").await;
    let (_, finding) = b.linked("WSTG-INFO-01", Status::InProgress).await;
    let text = b"POST /login HTTP/1.1\r\nHost: shop.example\r\n\r\nuser=admin&pass=x\n".to_vec();
    for (name, mime, bytes) in [
        ("shot.png", "image/png", PNG.to_vec()),
        ("request.txt", "text/plain", text.clone()),
    ] {
        let form = Form::new().part(
            "file",
            Part::bytes(bytes).file_name(name).mime_str(mime).unwrap(),
        );
        let r = b
            .http
            .post(format!("{}/api/wstg/items/WSTG-INFO-01/evidence", b.url))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    }
    let uploaded = eventually_async(WAIT, "both files in DefectDojo", || async {
        let all = evidence_of(&b, "WSTG-INFO-01").await;
        (all.len() == 2 && all.iter().all(|e| e["state"] == "uploaded")).then_some(all)
    })
    .await;
    for (e, bytes) in uploaded.iter().zip([PNG.to_vec(), text.clone()]) {
        let file = e["dojo_file_id"].as_i64().unwrap();
        assert_eq!(dojo_download(dojo, finding, file).await, bytes, "{e}");
    }
    // Once each: the finding lists exactly our two files.
    let (s, list) = dojo
        .api(
            reqwest::Method::GET,
            &format!("findings/{finding}/files/"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(list["files"].as_array().unwrap().len(), 2, "{list}");

    // A file added in DefectDojo comes to the tracker, byte for byte.
    let log = b"2026-12-01T10:00:00Z login failed for admin from 10.0.0.7\n".to_vec();
    let title = format!("{} server log", b.project);
    let form = Form::new().text("title", title.clone()).part(
        "file",
        Part::bytes(log.clone())
            .file_name("server.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let r = dojo
        .http
        .post(format!("{}/api/v2/findings/{finding}/files/", dojo.url))
        .header("Authorization", format!("Token {}", dojo.token))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let copied = eventually_async(WAIT, "the DefectDojo file in the tracker", || async {
        evidence_of(&b, "WSTG-INFO-01")
            .await
            .into_iter()
            .find(|e| e["origin"] == "dojo")
    })
    .await;
    let back = b
        .http
        .get(format!(
            "{}/api/wstg/evidence/{}",
            b.url,
            copied["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), 200);
    assert_eq!(back.bytes().await.unwrap().to_vec(), log);
}
