//! Contract test of what the bridge's vulnerability findings rely on
//! (docs/defectdojo.md §15), replayed from the exchanges recorded on the
//! real DefectDojo 3.2.0 kit (fixtures/recorded/vulnerabilities/): every
//! synced field stored as sent (the title title-cased), `cwe`
//! refused by name when it is not a number, `unique_id_from_tool`
//! (icontains) finding a vulnerability by its id, the poll's
//! `test__engagement=E&tag=wstg-&not_tags=<status tags>` returning the
//! vulnerability and the scanner-style finding but not the item's own, the
//! item search's `tags=` returning both kinds (so it must tell them apart),
//! and a false positive closing the finding.

mod support;

use reqwest::Method;
use serde_json::Value;

const FIELDS: [&str; 12] = [
    "title",
    "severity",
    "numerical_severity",
    "cwe",
    "unique_id_from_tool",
    "references",
    "steps_to_reproduce",
    "impact",
    "mitigation",
    "active",
    "false_p",
    "is_mitigated",
];

fn sorted_tags(v: &Value) -> Vec<String> {
    let mut t: Vec<String> = v["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    t.sort();
    t
}

fn ids(v: &Value) -> Vec<i64> {
    v["results"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["id"].as_i64()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn vulnerability_findings_behave_as_recorded_on_the_kit() {
    let sim = support::start().await;
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/recorded/vulnerabilities/kit-2026-12-01.json"),
    )
    .expect("the recording");
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    // The test type the recording used ("Pen Test"), by its id here.
    let tt = sim.api.get("/api/v2/test_types/?name=Pen%20Test").await;
    let pen_test = tt.body["results"][0]["id"].as_i64().expect("Pen Test");
    let mut failures = Vec::new();
    for step in doc["steps"].as_array().expect("steps") {
        let name = step["name"].as_str().unwrap_or_default();
        let method = Method::from_bytes(step["method"].as_str().unwrap().as_bytes()).unwrap();
        let path = format!("/api/v2/{}", step["path"].as_str().unwrap());
        let mut body = step["body"].clone();
        if body.get("test_type").is_some() {
            body["test_type"] = pen_test.into();
        }
        let resp = sim
            .api
            .send(method, &path, (!body.is_null()).then_some(&body))
            .await;
        let want = &step["response"];
        if u64::from(resp.status.as_u16()) != step["status"].as_u64().unwrap() {
            failures.push(format!(
                "{name}: status {} recorded, {} here",
                step["status"], resp.status
            ));
            continue;
        }
        if let Some(text) = want.as_str() {
            // A 400: the field DefectDojo named is named here too.
            let recorded: Value = serde_json::from_str(text).unwrap_or_default();
            for key in recorded.as_object().into_iter().flatten().map(|(k, _)| k) {
                if key != "message" && key != "pro" && resp.body.get(key).is_none() {
                    failures.push(format!(
                        "{name}: the 400 does not name {key}: {}",
                        resp.body
                    ));
                }
            }
        } else if want.get("results").is_some() {
            if ids(want) != ids(&resp.body) || want["count"] != resp.body["count"] {
                failures.push(format!(
                    "{name}: recorded ids {:?}, here {:?}",
                    ids(want),
                    ids(&resp.body)
                ));
            }
        } else if want.get("numerical_severity").is_some() {
            for f in FIELDS {
                if want.get(f).is_some() && want[f] != resp.body[f] {
                    failures.push(format!(
                        "{name}: {f} recorded {}, here {}",
                        want[f], resp.body[f]
                    ));
                }
            }
            if want.get("tags").is_some() && sorted_tags(want) != sorted_tags(&resp.body) {
                failures.push(format!(
                    "{name}: tags recorded {:?}, here {:?}",
                    sorted_tags(want),
                    sorted_tags(&resp.body)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
    sim.running.stop().await;
}
