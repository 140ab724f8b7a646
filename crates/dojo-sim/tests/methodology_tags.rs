//! Contract test of issue 12 item 5: DefectDojo accepts the id tags of the other methodologies
//! (`v2.1.1`, `mastg-test-0001`: dots and digits), keeps them as sent, and finds the finding by
//! them; it title-cases the title but keeps the id prefix. Replays the pair recorded against the
//! real 3.2.0 kit (tests/fixtures/methodology/dotted-id-tags.json, docs/defectdojo.md §13).

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{json, Value};
use support::hierarchy;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/methodology/dotted-id-tags.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn dotted_id_tags_are_kept_and_found_as_recorded() {
    let sim = support::start().await;
    let test = hierarchy(&sim.api, false).await;
    let recorded = fixture();
    let mut body = recorded["request"]["body"].clone();
    body["test"] = json!(test);

    let res = sim.api.post("/api/v2/findings/", &body).await;
    let want = &recorded["response"];
    assert_eq!(
        u64::from(res.status.as_u16()),
        want["status"].as_u64().unwrap(),
        "{:?}",
        res.body
    );
    for field in [
        "tags",
        "unique_id_from_tool",
        "title",
        "last_reviewed_by",
        "mitigated_by",
    ] {
        assert_eq!(
            res.body[field], want["body"][field],
            "{field}: {:?}",
            res.body
        );
    }

    let then = &recorded["then"];
    let res = sim
        .api
        .get(&format!("/api/v2/findings/?test={test}&tags=v2.1.1"))
        .await;
    assert_eq!(
        u64::from(res.status.as_u16()),
        then["response"]["status"].as_u64().unwrap()
    );
    assert_eq!(
        res.body["count"], then["response"]["count"],
        "{:?}",
        res.body
    );
}
