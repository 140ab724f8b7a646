//! Contract test of a finding's files (issue 12, evidence): replays every step recorded
//! against the real DefectDojo 3.2.0 by tests/fixtures/record_files.py
//! (tests/fixtures/recorded/files, docs/defectdojo.md §16) against a fresh simulator over
//! real HTTP, and compares status, JSON bodies, downloaded bytes and download headers.
//!
//! Adjusted on replay, explicitly: the finding and file ids (placeholders `{FINDING}`,
//! `{FILE1}`...), the stored file's random name (`/media/uploaded_files/<uuid>.<ext>`), the
//! site URL in `access_file` links, and the finding JSON of step 14, of which only `files` is
//! compared (the rest is the findings contract's).

mod support;

use std::path::PathBuf;

use base64::Engine;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

fn steps() -> Vec<Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recorded/files");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("recorded/files")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 16, "the recording has its 16 steps");
    names
        .iter()
        .map(|n| {
            serde_json::from_str(&std::fs::read_to_string(dir.join(n)).expect("read"))
                .expect("json")
        })
        .collect()
}

/// Stored names are random; `access_file` links carry the site's URL.
fn normalise(v: &Value) -> Value {
    match v {
        Value::String(s) if s.starts_with("/media/uploaded_files/") => {
            let ext = s.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
            json!(format!("/media/uploaded_files/<uuid>.{ext}"))
        }
        Value::String(s) if s.contains("/access_file/") => {
            json!(format!(
                "<site>{}",
                &s[s.find("/access_file/").expect("found")..]
            ))
        }
        Value::String(s) => json!(s.replace("evidence-rec-1796118858", "<stamp>")),
        Value::Array(a) => Value::Array(a.iter().map(normalise).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), normalise(v))).collect())
        }
        other => other.clone(),
    }
}

#[tokio::test]
async fn the_files_api_answers_as_recorded() {
    let sim = support::start().await;
    let api = &sim.api;
    let test = support::hierarchy(api, false).await;
    let f = api
        .post(
            "/api/v2/findings/",
            &support::finding_body(test, "evidence-rec finding", &[]),
        )
        .await;
    assert_eq!(f.status, 201, "{:?}", f.body);
    let finding = f.body["id"].as_u64().expect("finding id");
    let recorded_finding = 4;
    let b64 = base64::engine::general_purpose::STANDARD;

    for step in steps() {
        let name = step["step"].as_str().expect("step").to_owned();
        let req = &step["request"];
        let want = &step["response"];
        let path = req["path"]
            .as_str()
            .expect("path")
            .replace("{FINDING}", &finding.to_string())
            .replace("{FILE1}", "1")
            .replace("{FILE2}", "2");
        let url = format!("{}/api/v2/{path}", api.base);
        let mut builder = match req["method"].as_str() {
            Some("GET") => api.client.get(&url),
            Some("POST") => api.client.post(&url),
            other => panic!("{name}: method {other:?}"),
        }
        .header("Authorization", format!("Token {}", api.token));
        if req["method"] == "POST" {
            let fields = req["fields"].as_object().cloned().unwrap_or_default();
            if req["file"].is_null() {
                // The recorder sent the fields url-encoded when there was no file.
                let pairs: Vec<(String, String)> = fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect();
                builder = builder.form(&pairs);
            } else {
                let mut form = Form::new();
                for (k, v) in fields {
                    let v = v.as_str().unwrap_or_default().to_owned();
                    form = form.text(k, v);
                }
                let file = &req["file"];
                let bytes = b64
                    .decode(file["base64"].as_str().expect("b64"))
                    .expect("b64");
                let part = Part::bytes(bytes)
                    .file_name(file["name"].as_str().expect("name").to_owned())
                    .mime_str(file["content_type"].as_str().expect("type"))
                    .expect("mime");
                form = form.part("file", part);
                builder = builder.multipart(form);
            }
        }
        let res = builder.send().await.expect("send");
        let status = res.status().as_u16();
        assert_eq!(
            Some(u64::from(status)),
            want["status"].as_u64(),
            "{name}: status"
        );
        let headers = res.headers().clone();
        let body = res.bytes().await.expect("body");
        if let Some(raw) = want["body_base64"].as_str() {
            assert_eq!(
                body.to_vec(),
                b64.decode(raw).expect("b64"),
                "{name}: bytes"
            );
            for h in ["Content-Type", "Content-Disposition"] {
                assert_eq!(
                    headers.get(h).and_then(|v| v.to_str().ok()),
                    want["headers"][h].as_str(),
                    "{name}: {h}"
                );
            }
            continue;
        }
        let got: Value = serde_json::from_slice(&body).expect("JSON answer");
        let mut want_body = want["body"].clone();
        let mut got = got;
        if name.starts_with("14-") {
            // Only the file ids are this contract's.
            want_body = json!({"files": want_body["files"]});
            got = json!({"files": got["files"]});
        }
        if let Some(m) = want_body.as_object_mut() {
            if m.get("finding_id") == Some(&json!(recorded_finding)) {
                m.insert("finding_id".into(), json!(finding));
            }
        }
        let want_body = normalise(&want_body);
        let got = normalise(&got);
        let want_text = want_body.to_string().replace(
            &format!("/{recorded_finding}/Finding"),
            &format!("/{finding}/Finding"),
        );
        assert_eq!(got.to_string(), want_text, "{name}: body");
    }
}
