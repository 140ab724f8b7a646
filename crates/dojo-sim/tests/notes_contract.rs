//! A finding's notes as the real DefectDojo 3.2.0 handles them, replayed
//! from `fixtures/recorded/collab/notes-entry-trimmed-updated-bumped.json`
//! (docs/defectdojo.md §17): the entry is trimmed (its inner `\r\n` kept),
//! the 201 has no note id, the list has it, and the note bumps the
//! finding's `updated` and `last_reviewed` but not `last_status_update`.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use support::{finding_body, hierarchy};

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/recorded/collab/notes-entry-trimmed-updated-bumped.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn a_note_is_trimmed_has_no_id_in_the_answer_and_bumps_updated_only() {
    let rec = fixture();
    let sim = support::start().await;
    let test = hierarchy(&sim.api, false).await;
    let f = sim
        .api
        .post(
            "/api/v2/findings/",
            &finding_body(test, "collab notes", &[]),
        )
        .await;
    assert_eq!(f.status, 201);
    let id = f.body["id"].as_u64().unwrap();
    let before = sim.api.get(&format!("/api/v2/findings/{id}/")).await.body;

    let res = sim
        .api
        .post(
            &format!("/api/v2/findings/{id}/notes/"),
            &rec["request"]["body"],
        )
        .await;
    assert_eq!(
        u64::from(res.status.as_u16()),
        rec["response"]["status"].as_u64().unwrap()
    );
    assert_eq!(res.body["entry"], rec["response"]["body"]["entry"]);
    assert!(res.body.get("id").is_none(), "{:?}", res.body);
    assert_eq!(
        res.body["author"]["username"],
        rec["response"]["body"]["author"]["username"]
    );

    let after = sim.api.get(&format!("/api/v2/findings/{id}/")).await.body;
    assert_ne!(after["updated"], before["updated"], "updated is bumped");
    assert_eq!(
        after["last_status_update"], before["last_status_update"],
        "last_status_update is not"
    );
    assert!(after["last_reviewed"].is_string());
    assert_ne!(
        rec["finding_after"]["updated"],
        rec["finding_before"]["updated"]
    );
    assert_eq!(
        rec["finding_after"]["last_status_update"],
        rec["finding_before"]["last_status_update"]
    );

    let list = sim
        .api
        .get(&format!("/api/v2/findings/{id}/notes/"))
        .await
        .body;
    let first = &list["notes"][0];
    assert!(first["id"].is_u64());
    assert_eq!(first["entry"], rec["notes_list_first"]["entry"]);
    assert!(first["date"].is_string());
}
