//! Focused behaviour tests: the status rules of docs/defectdojo.md §1, the tag case quirk, pagination,
//! ordering, auth, and the `/__sim/` controls (faults, latency, stats, reset, webhooks).

mod support;

use std::time::{Duration, Instant};

use dojo_sim::{Faults, SimConfig, WebhookTarget};
use reqwest::Method;
use serde_json::{json, Value};
use support::{eventually, finding_body, hierarchy, Api, Sim, TOKEN};

async fn sim_with_test(simple_ra: bool) -> (Sim, u64) {
    let sim = support::start().await;
    let test = hierarchy(&sim.api, simple_ra).await;
    (sim, test)
}

async fn create_finding(api: &Api, body: &Value) -> Value {
    let res = api.post("/api/v2/findings/", body).await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    res.body
}

async fn patch_ok(api: &Api, id: u64, body: Value) -> Value {
    let res = api.patch(&format!("/api/v2/findings/{id}/"), &body).await;
    assert_eq!(res.status, 200, "PATCH {body}: {:?}", res.body);
    res.body
}

fn flags(f: &Value) -> (bool, bool, bool, bool, bool, bool) {
    let b = |k: &str| {
        f[k].as_bool()
            .unwrap_or_else(|| panic!("{k} missing in {f}"))
    };
    (
        b("active"),
        b("verified"),
        b("false_p"),
        b("out_of_scope"),
        b("is_mitigated"),
        b("risk_accepted"),
    )
}

// ---------------------------------------------------------------- status rules (docs/defectdojo.md §1)

#[tokio::test]
async fn create_with_active_and_false_p_keeps_active() {
    let (sim, test) = sim_with_test(false).await;
    let mut body = finding_body(test, "probe", &[]);
    body["false_p"] = json!(true);
    let f = create_finding(&sim.api, &body).await;
    // the "active changed to true" block runs before the false_p block (LIVE 24)
    assert_eq!(flags(&f), (true, false, false, false, false, false));
    assert!(f["mitigated"].is_null());
    assert_eq!(f["numerical_severity"], "S2");
    sim.running.stop().await;
}

#[tokio::test]
async fn false_p_closes_and_needs_verified_false() {
    let (sim, test) = sim_with_test(false).await;
    let f = create_finding(&sim.api, &finding_body(test, "x", &[])).await;
    let id = f["id"].as_u64().unwrap_or_default();
    patch_ok(&sim.api, id, json!({"verified": true})).await;

    // missing fields come from the instance: verified=true + false_p -> 400 (LIVE 29)
    let res = sim
        .api
        .patch(
            &format!("/api/v2/findings/{id}/"),
            &json!({"false_p": true}),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.body["non_field_errors"],
        json!(["False positive findings cannot be verified."])
    );

    let before = patch_ok(&sim.api, id, json!({"description": "x2"})).await;
    let f = patch_ok(&sim.api, id, json!({"false_p": true, "verified": false})).await;
    assert_eq!(flags(&f), (false, false, true, false, true, false));
    assert!(f["mitigated"].is_string());
    assert_eq!(f["mitigated_by"], 1);
    assert_eq!(f["display_status"], "Inactive, Mitigated, False Positive");
    assert_ne!(f["last_status_update"], before["last_status_update"]);
    sim.running.stop().await;
}

#[tokio::test]
async fn reactivation_clears_false_p_out_of_scope_and_mitigation() {
    let (sim, test) = sim_with_test(false).await;
    let id = create_finding(&sim.api, &finding_body(test, "x", &[])).await["id"]
        .as_u64()
        .unwrap_or_default();
    let f = patch_ok(&sim.api, id, json!({"out_of_scope": true})).await;
    assert_eq!(flags(&f), (false, false, false, true, true, false));
    let f = patch_ok(&sim.api, id, json!({"active": true})).await;
    assert_eq!(flags(&f), (true, false, false, false, false, false));
    assert!(f["mitigated"].is_null() && f["mitigated_by"].is_null());
    sim.running.stop().await;
}

#[tokio::test]
async fn active_and_false_p_on_an_active_finding_ends_false_positive() {
    let (sim, test) = sim_with_test(false).await;
    let id = create_finding(&sim.api, &finding_body(test, "x", &[])).await["id"]
        .as_u64()
        .unwrap_or_default();
    // active did not change, false_p did: only the false_p block runs (LIVE 32)
    let f = patch_ok(&sim.api, id, json!({"active": true, "false_p": true})).await;
    assert_eq!(flags(&f), (false, false, true, false, true, false));
    sim.running.stop().await;
}

#[tokio::test]
async fn is_mitigated_alone_does_not_deactivate() {
    let (sim, test) = sim_with_test(false).await;
    let id = create_finding(&sim.api, &finding_body(test, "x", &[])).await["id"]
        .as_u64()
        .unwrap_or_default();
    let f = patch_ok(&sim.api, id, json!({"is_mitigated": true})).await;
    assert_eq!(flags(&f), (true, false, false, false, true, false));
    assert_eq!(f["display_status"], "Active, Mitigated");
    assert!(f["mitigated"].is_string());
    let f = patch_ok(&sim.api, id, json!({"is_mitigated": false})).await;
    assert!(f["mitigated"].is_null() && f["mitigated_by"].is_null());
    let f = patch_ok(&sim.api, id, json!({"is_mitigated": true, "active": false})).await;
    assert_eq!(f["display_status"], "Inactive, Mitigated");
    sim.running.stop().await;
}

#[tokio::test]
async fn last_status_update_moves_only_on_status_changes() {
    let (sim, test) = sim_with_test(false).await;
    let f0 = create_finding(&sim.api, &finding_body(test, "x", &["a"])).await;
    let id = f0["id"].as_u64().unwrap_or_default();
    let mut last = f0;
    for body in [
        json!({"under_review": true}),
        json!({"description": "other"}),
        json!({"title": "new title"}),
        json!({"tags": ["b"]}),
        json!({"last_status_update": "2020-01-01T00:00:00Z", "updated": "2020-01-01T00:00:00Z"}),
    ] {
        let f = patch_ok(&sim.api, id, body.clone()).await;
        assert_eq!(
            f["last_status_update"], last["last_status_update"],
            "{body}"
        );
        assert_ne!(f["updated"], last["updated"], "{body} bumps updated");
        last = f;
    }
    let note = sim
        .api
        .post(
            &format!("/api/v2/findings/{id}/notes/"),
            &json!({"entry": "n"}),
        )
        .await;
    assert_eq!(note.status, 201);
    let f = sim.api.get(&format!("/api/v2/findings/{id}/")).await.body;
    assert_eq!(f["last_status_update"], last["last_status_update"]);
    assert_ne!(f["updated"], last["updated"], "a note bumps updated");

    let f = patch_ok(&sim.api, id, json!({"verified": true})).await;
    assert_ne!(
        f["last_status_update"], last["last_status_update"],
        "verified is tracked"
    );
    assert_eq!(f["title"], "New Title");
    sim.running.stop().await;
}

#[tokio::test]
async fn risk_acceptance_rules_and_notes() {
    let (sim, test) = sim_with_test(false).await;
    let id = create_finding(&sim.api, &finding_body(test, "x", &[])).await["id"]
        .as_u64()
        .unwrap_or_default();
    let path = format!("/api/v2/findings/{id}/");
    let res = sim
        .api
        .patch(&path, &json!({"risk_accepted": true, "active": false}))
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.body["non_field_errors"][0],
        "Simple risk acceptance is disabled for this product, use the UI to accept this finding."
    );
    let product = sim
        .api
        .patch(
            "/api/v2/products/1/",
            &json!({"enable_simple_risk_acceptance": true}),
        )
        .await;
    assert_eq!(product.status, 200);
    let res = sim.api.patch(&path, &json!({"risk_accepted": true})).await;
    assert_eq!(
        res.body["non_field_errors"][0],
        "Active findings cannot be risk accepted."
    );

    let f = patch_ok(
        &sim.api,
        id,
        json!({"risk_accepted": true, "active": false}),
    )
    .await;
    assert_eq!(flags(&f), (false, false, false, false, false, true));
    assert_eq!(
        f["notes"][0]["entry"],
        "Admin User (admin) (1) has risk accepted this finding"
    );
    assert_eq!(f["accepted_risks"], json!([]));

    let f = patch_ok(&sim.api, id, json!({"risk_accepted": false})).await;
    assert_eq!(
        flags(&f),
        (true, false, false, false, false, false),
        "unaccept reactivates"
    );
    assert_eq!(
        f["notes"][0]["entry"],
        "Admin User (admin) (1) removed a risk exception from this finding"
    );
    assert_eq!(f["notes"].as_array().map(Vec::len), Some(2));
    sim.running.stop().await;
}

#[tokio::test]
async fn validation_errors() {
    let (sim, test) = sim_with_test(false).await;
    let id = create_finding(&sim.api, &finding_body(test, "x", &[])).await["id"]
        .as_u64()
        .unwrap_or_default();
    let path = format!("/api/v2/findings/{id}/");

    let res = sim.api.patch(&path, &json!({"duplicate": true})).await;
    assert_eq!(
        res.body["non_field_errors"][0],
        "Duplicate findings cannot be verified or active"
    );
    let res = sim
        .api
        .patch(&path, &json!({"mitigated": "2026-01-01T00:00:00Z"}))
        .await;
    assert_eq!(res.status, 400);
    assert!(res.body["mitigated"][0]
        .as_str()
        .unwrap_or_default()
        .contains("EDITABLE_MITIGATED_DATA"));
    assert_eq!(
        sim.api
            .patch(&path, &json!({"mitigated": null}))
            .await
            .status,
        200
    );
    let res = sim.api.patch(&path, &json!({"severity": "Bogus"})).await;
    assert_eq!(res.status, 400);
    assert!(res.body["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("{'severity'"));
    let res = sim.api.patch(&path, &json!({"active": "maybe"})).await;
    assert_eq!(res.body["active"], json!(["Must be a valid boolean."]));
    let res = sim.api.put(&path, &json!({"title": "x"})).await;
    assert_eq!(res.status, 400);
    for field in ["found_by", "severity", "description", "numerical_severity"] {
        assert_eq!(
            res.body[field],
            json!(["This field is required."]),
            "{field}"
        );
    }
    let res = sim
        .api
        .post("/api/v2/findings/", &json!({"test": test}))
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.body["verified"], json!(["This field is required."]));
    let res = sim
        .api
        .post("/api/v2/findings/", &json!({"test": 999}))
        .await;
    assert_eq!(
        (res.status.as_u16(), res.body["detail"].clone()),
        (404, json!("No Test matches the given query."))
    );
    let raw = sim
        .api
        .client
        .patch(format!("{}{path}", sim.api.base))
        .header("Authorization", format!("Token {TOKEN}"))
        .header("Content-Type", "application/json")
        .body("{\"active\": tru")
        .send()
        .await
        .expect("answered");
    assert_eq!(raw.status(), 400);
    assert_eq!(
        raw.json::<Value>().await.ok(),
        Some(json!({"message": "JSON request content is malformed"}))
    );
    sim.running.stop().await;
}

#[tokio::test]
async fn close_verify_and_delete() {
    let (sim, test) = sim_with_test(false).await;
    let id = create_finding(&sim.api, &finding_body(test, "x", &[])).await["id"]
        .as_u64()
        .unwrap_or_default();
    patch_ok(&sim.api, id, json!({"under_review": true})).await;
    let res = sim
        .api
        .post(
            &format!("/api/v2/findings/{id}/close/"),
            &json!({"is_mitigated": true, "note": "done"}),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["mitigated_by"], 1);
    let f = sim.api.get(&format!("/api/v2/findings/{id}/")).await.body;
    assert_eq!(flags(&f), (false, false, false, false, true, false));
    assert_eq!(f["under_review"], false);
    assert_eq!(f["notes"][0]["entry"], "done");
    assert_eq!(f["last_reviewed"], f["mitigated"]);
    // views.py reads validated_data["is_mitigated"] unguarded
    let res = sim
        .api
        .post(&format!("/api/v2/findings/{id}/close/"), &json!({}))
        .await;
    assert_eq!(res.status, 500);

    let f = sim
        .api
        .post(&format!("/api/v2/findings/{id}/verify/"), &json!({}))
        .await
        .body;
    assert_eq!(f["verified"], true);

    assert_eq!(
        sim.api
            .delete(&format!("/api/v2/findings/{id}/"))
            .await
            .status,
        204
    );
    let res = sim.api.get(&format!("/api/v2/findings/{id}/")).await;
    assert_eq!(res.status, 404);
    assert_eq!(
        res.body,
        json!({"detail": "No Finding matches the given query."})
    );
    sim.running.stop().await;
}

// ------------------------------------------------------------------ tags (docs/defectdojo.md §2, §7)

#[tokio::test]
async fn tag_case_quirk() {
    let (sim, test) = sim_with_test(false).await;
    let a = create_finding(&sim.api, &finding_body(test, "a", &["WSTG", "WSTG-A"])).await;
    assert_eq!(a["tags"], json!(["wstg", "wstg-a"]), "POST lowercases");
    let b = create_finding(&sim.api, &finding_body(test, "b", &["wstg", "Only-B"])).await;
    assert_eq!(b["tags"], json!(["wstg", "only-b"]));
    let a_id = a["id"].as_u64().unwrap_or_default();

    // PATCH: "WSTG" exists -> its spelling; "WSTG-A" was only used by a -> deleted, recreated
    let f = patch_ok(&sim.api, a_id, json!({"tags": ["WSTG", "WSTG-A", "New-X"]})).await;
    assert_eq!(f["tags"], json!(["wstg", "WSTG-A", "New-X"]));
    let read = sim.api.get(&format!("/api/v2/findings/{a_id}/")).await.body;
    assert_eq!(
        read["tags"],
        json!(["New-X", "WSTG-A", "wstg"]),
        "reads sort by name"
    );

    let count = |path: String| {
        let api = sim.api.clone();
        async move { api.get(&path).await.body["count"].as_u64().unwrap_or(99) }
    };
    assert_eq!(
        count("/api/v2/findings/?tags=WSTG-A".into()).await,
        0,
        "tags= lowercases"
    );
    assert_eq!(count("/api/v2/findings/?tags=wstg-a".into()).await, 0);
    assert_eq!(count("/api/v2/findings/?tags__and=WSTG-A".into()).await, 1);
    assert_eq!(count("/api/v2/findings/?tags=WSTG".into()).await, 2);
    assert_eq!(count("/api/v2/findings/?tag=new".into()).await, 1);
    assert_eq!(count("/api/v2/findings/?not_tags=only-b".into()).await, 1);
    assert_eq!(count("/api/v2/findings/?tags=only-b,new-x".into()).await, 1);

    // a later POST of the same name reuses the existing spelling
    let c = create_finding(&sim.api, &finding_body(test, "c", &["new-x"])).await;
    assert_eq!(c["tags"], json!(["New-X"]));

    // append / remove actions
    let tags_path = format!("/api/v2/findings/{a_id}/tags/");
    let res = sim.api.post(&tags_path, &json!({"tags": ["extra"]})).await;
    assert_eq!(
        res.body["tags"],
        json!(["New-X", "WSTG-A", "wstg", "extra"])
    );
    let rm = format!("/api/v2/findings/{a_id}/remove_tags/");
    assert_eq!(
        sim.api.patch(&rm, &json!({"tags": ["extra"]})).await.status,
        204
    );
    let res = sim.api.patch(&rm, &json!({"tags": ["nope"]})).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.body["error"],
        "'nope' is not a valid tag in list '['New-X', 'WSTG-A', 'wstg']'"
    );
    let res = sim
        .api
        .post(
            "/api/v2/findings/",
            &finding_body(test, "d", &["has space"]),
        )
        .await;
    assert_eq!(res.status, 400);
    sim.running.stop().await;
}

#[tokio::test]
async fn case_twin_tags_fail_with_500_and_write_nothing() {
    let (sim, test) = sim_with_test(false).await;
    create_finding(&sim.api, &finding_body(test, "api", &["wstg"])).await;
    // the original design wrote "WSTG" straight through the ORM (docs/defectdojo.md §7)
    let seeded = sim
        .api
        .control(
            Method::POST,
            "/__sim/findings",
            Some(
                &json!({"test": test, "title": "WSTG-INFO-01: design", "severity": "Info",
                         "description": "d", "tags": ["WSTG", "WSTG-INFO-01"]}),
            ),
        )
        .await;
    assert_eq!(seeded.status, 201, "{:?}", seeded.body);
    assert_eq!(seeded.body["tags"], json!(["WSTG", "WSTG-INFO-01"]));

    let stats_before = sim
        .api
        .control(Method::GET, "/__sim/stats", None)
        .await
        .body;
    let res = sim
        .api
        .post("/api/v2/findings/", &finding_body(test, "x", &["wstg"]))
        .await;
    assert_eq!(res.status, 500);
    let listed = sim.api.get("/api/v2/findings/").await.body;
    assert_eq!(listed["count"], 2, "nothing written");
    let stats_after = sim
        .api
        .control(Method::GET, "/__sim/stats", None)
        .await
        .body;
    assert_eq!(stats_before["writes"], stats_after["writes"]);

    assert_eq!(
        sim.api.get("/api/v2/findings/?tags=WSTG").await.body["count"],
        1
    );
    assert_eq!(
        sim.api
            .get("/api/v2/findings/?tags__and=WSTG-INFO-01")
            .await
            .body["count"],
        1
    );
    sim.running.stop().await;
}

/// docs/defectdojo.md §9: a PATCH whose tag lookup meets case twins answers 500 after the
/// finding was saved: every other field (and the status rules) applied, the tags gone; the
/// twin rows made with `/__sim/tag-rows` stay. A PATCH without tags is unaffected.
#[tokio::test]
async fn colliding_tag_patch_is_a_non_atomic_500() {
    let (sim, test) = sim_with_test(false).await;
    let a = create_finding(
        &sim.api,
        &finding_body(test, "a", &["wstg", "wstg-info-01"]),
    )
    .await;
    create_finding(&sim.api, &finding_body(test, "b", &["wstg"])).await;
    let rows = sim
        .api
        .control(
            Method::POST,
            "/__sim/tag-rows",
            Some(&json!({"names": ["WSTG", "WSTG-INFO-01"]})),
        )
        .await;
    assert_eq!(rows.status, 201, "{:?}", rows.body);
    assert_eq!(
        rows.body["rows"],
        json!([{"name": "WSTG", "count": 0}, {"name": "WSTG-INFO-01", "count": 0},
               {"name": "wstg", "count": 2}, {"name": "wstg-info-01", "count": 1}])
    );
    let bad = sim
        .api
        .control(
            Method::POST,
            "/__sim/tag-rows",
            Some(&json!({"names": [" "]})),
        )
        .await;
    assert_eq!(bad.status, 400);

    let id = a["id"].as_u64().unwrap_or_default();
    let before = sim.api.get(&format!("/api/v2/findings/{id}/")).await.body;
    let res = sim
        .api
        .patch(
            &format!("/api/v2/findings/{id}/"),
            &json!({"active": false, "is_mitigated": true, "mitigation": "tester notes",
                    "tags": ["wstg", "wstg-info-01", "wstg-status:done"]}),
        )
        .await;
    assert_eq!(res.status, 500);
    let after = sim.api.get(&format!("/api/v2/findings/{id}/")).await.body;
    assert_eq!(after["active"], false, "saved before the tags failed");
    assert_eq!(after["is_mitigated"], true);
    assert!(!after["mitigated"].is_null(), "status rules ran");
    assert_eq!(after["mitigation"], "tester notes");
    assert_eq!(after["tags"], json!([]), "tags wiped");
    assert_ne!(after["last_status_update"], before["last_status_update"]);
    assert_ne!(after["updated"], before["updated"]);
    let rows = sim
        .api
        .control(Method::GET, "/__sim/tag-rows", None)
        .await
        .body;
    assert_eq!(
        rows["rows"],
        json!([{"name": "WSTG", "count": 0}, {"name": "WSTG-INFO-01", "count": 0},
               {"name": "wstg", "count": 1}]),
        "old tags released, nothing new linked"
    );

    // without tags the same finding is written normally
    let ok = patch_ok(&sim.api, id, json!({"active": true, "mitigation": "again"})).await;
    assert_eq!(ok["active"], true);
    assert_eq!(ok["tags"], json!([]));
    sim.running.stop().await;
}

// --------------------------------------------------------------- lists (docs/defectdojo.md §3)

#[tokio::test]
async fn pagination_links_use_the_request_host() {
    let (sim, test) = sim_with_test(false).await;
    for i in 0..5 {
        create_finding(&sim.api, &finding_body(test, &format!("f{i}"), &[])).await;
    }
    let res = sim
        .api
        .client
        .get(format!(
            "{}/api/v2/findings/?test={test}&limit=2&offset=2",
            sim.api.base
        ))
        .header("Authorization", format!("Token {TOKEN}"))
        .header("Host", "dojo.example:8443")
        .send()
        .await
        .expect("answered");
    let body: Value = res.json().await.unwrap_or_default();
    assert_eq!(body["count"], 5);
    assert_eq!(
        body["next"],
        format!("http://dojo.example:8443/api/v2/findings/?limit=2&offset=4&test={test}")
    );
    assert_eq!(
        body["previous"],
        format!("http://dojo.example:8443/api/v2/findings/?limit=2&test={test}")
    );
    let ids: Vec<u64> = body["results"]
        .as_array()
        .map(|r| r.iter().filter_map(|f| f["id"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(ids, vec![3, 4]);
    let all = sim.api.get("/api/v2/findings/?limit=100000").await.body;
    assert!(all["next"].is_null() && all["results"].as_array().map(Vec::len) == Some(5));
    sim.running.stop().await;
}

#[tokio::test]
async fn default_page_size_is_25() {
    let (sim, test) = sim_with_test(false).await;
    for i in 0..27 {
        create_finding(&sim.api, &finding_body(test, &format!("f{i}"), &[])).await;
    }
    let page = sim.api.get("/api/v2/findings/").await.body;
    assert_eq!(page["results"].as_array().map(Vec::len), Some(25));
    assert_eq!(
        page["next"],
        format!("{}/api/v2/findings/?limit=25&offset=25", sim.api.base)
    );
    sim.running.stop().await;
}

#[tokio::test]
async fn ordering_and_filters() {
    let (sim, test) = sim_with_test(false).await;
    for title in ["b", "c", "a"] {
        create_finding(&sim.api, &finding_body(test, title, &[])).await;
    }
    patch_ok(&sim.api, 1, json!({"verified": true})).await;
    let ids = |v: &Value| -> Vec<u64> {
        v["results"]
            .as_array()
            .map(|r| r.iter().filter_map(|f| f["id"].as_u64()).collect())
            .unwrap_or_default()
    };
    let res = sim.api.get("/api/v2/findings/?o=-last_status_update").await;
    assert_eq!(ids(&res.body), vec![1, 3, 2]);
    let res = sim.api.get("/api/v2/findings/?o=title").await;
    assert_eq!(ids(&res.body), vec![3, 1, 2]);
    let res = sim.api.get("/api/v2/findings/?ordering=-id").await;
    assert_eq!(ids(&res.body), vec![1, 2, 3], "DRF `ordering` is ignored");
    let res = sim.api.get("/api/v2/findings/?o=-updated").await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.body["o"],
        json!(["Select a valid choice. -updated is not one of the available choices."])
    );
    let res = sim.api.get("/api/v2/findings/?test=abc").await;
    assert_eq!(res.status, 400);
    let res = sim.api.get("/api/v2/findings/?created=yesterday").await;
    assert_eq!(res.status, 400);
    assert_eq!(
        ids(&sim.api.get("/api/v2/findings/?id=1,3").await.body),
        vec![1, 3]
    );
    assert_eq!(
        ids(&sim.api.get("/api/v2/findings/?verified=true").await.body),
        vec![1]
    );
    assert_eq!(
        ids(&sim.api.get("/api/v2/findings/?title=B").await.body),
        vec![1]
    );
    assert_eq!(
        ids(&sim
            .api
            .get("/api/v2/findings/?updated__gte=2999-01-01")
            .await
            .body)
        .len(),
        3
    );
    sim.running.stop().await;
}

// ------------------------------------------------------------------------ auth (docs/defectdojo.md §4)

#[tokio::test]
async fn authentication() {
    let sim = support::start().await;
    let url = format!("{}/api/v2/findings/", sim.api.base);
    for (header, detail) in [
        (None, "Authentication credentials were not provided."),
        (Some("Token wrong"), "Invalid token."),
        (
            Some(format!("Bearer {TOKEN}").as_str()),
            "Authentication credentials were not provided.",
        ),
        (Some("Basic YWRtaW46eA=="), "Invalid username/password."),
    ]
    .map(|(h, d)| (h.map(str::to_string), d))
    {
        let mut req = sim.api.client.get(&url);
        if let Some(h) = &header {
            req = req.header("Authorization", h);
        }
        let res = req.send().await.expect("answered");
        assert_eq!(res.status(), 403, "{header:?}");
        assert_eq!(
            res.json::<Value>().await.ok(),
            Some(json!({"detail": detail}))
        );
    }
    assert_eq!(sim.api.get("/api/v2/findings/").await.status, 200);

    let token = sim
        .api
        .client
        .post(format!("{}/api/v2/api-token-auth/", sim.api.base))
        .json(&json!({"username": "admin", "password": "anything"}))
        .send()
        .await
        .expect("answered");
    assert_eq!(
        token.json::<Value>().await.ok(),
        Some(json!({"token": TOKEN}))
    );
    let bad = sim
        .api
        .client
        .post(format!("{}/api/v2/api-token-auth/", sim.api.base))
        .json(&json!({"username": "mallory", "password": "x"}))
        .send()
        .await
        .expect("answered");
    assert_eq!(bad.status(), 400);

    // 405 after authentication, Django 404 and APPEND_SLASH outside the routes
    assert_eq!(sim.api.delete("/api/v2/findings/").await.status, 405);
    assert_eq!(sim.api.get("/api/v2/nope/").await.status, 404);
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let res = no_redirect
        .get(format!("{}/api/v2/findings?test=1", sim.api.base))
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), 301);
    assert_eq!(
        res.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/api/v2/findings/?test=1")
    );
    sim.running.stop().await;
}

// ------------------------------------------------------------------------ /__sim/ controls

#[tokio::test]
async fn faults_fail_before_any_state_change_and_can_be_lifted() {
    let (sim, test) = sim_with_test(false).await;
    let all_errors = json!({"error_rate": 1.0, "error_status": 503});
    let res = sim
        .api
        .control(Method::PUT, "/__sim/faults", Some(&all_errors))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["error_status"], 503);

    let res = sim
        .api
        .post("/api/v2/findings/", &finding_body(test, "x", &[]))
        .await;
    assert_eq!(res.status, 503);
    assert_eq!(res.body, json!({"message": "simulated failure"}));
    // control endpoints are never faulted
    let stats = sim.api.control(Method::GET, "/__sim/stats", None).await;
    assert_eq!(stats.status, 200);
    assert_eq!(stats.body["faults"], 1);

    let none = json!({});
    sim.api
        .control(Method::PUT, "/__sim/faults", Some(&none))
        .await;
    let list = sim.api.get("/api/v2/findings/").await;
    assert_eq!(list.body["count"], 0, "the failed POST wrote nothing");
    let f = create_finding(&sim.api, &finding_body(test, "x", &[])).await;
    assert_eq!(f["id"], 1, "no id was consumed by the failed request");

    let throttle = json!({"rate_429": 1.0, "retry_after_secs": 7});
    sim.api
        .control(Method::PUT, "/__sim/faults", Some(&throttle))
        .await;
    let res = sim.api.get("/api/v2/findings/").await;
    assert_eq!(res.status, 429);
    assert_eq!(
        res.headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("7")
    );

    let invalid = json!({"error_rate": 2.0});
    let res = sim
        .api
        .control(Method::PUT, "/__sim/faults", Some(&invalid))
        .await;
    assert_eq!(res.status, 400);
    let current = sim
        .api
        .control(Method::GET, "/__sim/faults", None)
        .await
        .body;
    assert_eq!(current["rate_429"], 1.0, "a rejected PUT changes nothing");
    sim.running.stop().await;
}

#[tokio::test]
async fn timeout_fault_hangs_and_changes_nothing() {
    let mut config = SimConfig::new(TOKEN);
    config.faults = Faults {
        timeout_rate: 1.0,
        ..Faults::default()
    };
    let sim = support::start_with(config).await;
    let started = Instant::now();
    let res = sim
        .api
        .client
        .post(format!("{}/api/v2/product_types/", sim.api.base))
        .header("Authorization", format!("Token {TOKEN}"))
        .json(&json!({"name": "never"}))
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(res.is_err_and(|e| e.is_timeout()));
    assert!(started.elapsed() >= Duration::from_millis(300));
    sim.api
        .control(Method::PUT, "/__sim/faults", Some(&json!({})))
        .await;
    let list = sim.api.get("/api/v2/product_types/?name=never").await;
    assert_eq!(list.body["count"], 0);
    sim.running.stop().await;
}

#[tokio::test]
async fn latency_applies_to_the_api_only() {
    let sim = support::start().await;
    let res = sim
        .api
        .control(Method::PUT, "/__sim/latency", Some(&json!({"ms": 250})))
        .await;
    assert_eq!(res.status, 200);
    let started = Instant::now();
    assert_eq!(sim.api.get("/api/v2/user_profile/").await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(250));
    let started = Instant::now();
    sim.api.control(Method::GET, "/__sim/stats", None).await;
    assert!(started.elapsed() < Duration::from_millis(250));
    sim.api
        .control(Method::PUT, "/__sim/latency", Some(&json!({"ms": 0})))
        .await;
    let started = Instant::now();
    sim.api.get("/api/v2/user_profile/").await;
    assert!(started.elapsed() < Duration::from_millis(250));
    sim.running.stop().await;
}

#[tokio::test]
async fn stats_count_requests_and_successful_writes() {
    let (sim, test) = sim_with_test(false).await;
    sim.api
        .control(Method::POST, "/__sim/stats/reset", None)
        .await;
    let id = create_finding(&sim.api, &finding_body(test, "x", &[])).await["id"]
        .as_u64()
        .unwrap_or_default();
    patch_ok(&sim.api, id, json!({"active": false})).await;
    patch_ok(&sim.api, id, json!({"active": true})).await;
    let bad = sim
        .api
        .patch(
            &format!("/api/v2/findings/{id}/"),
            &json!({"severity": "x"}),
        )
        .await;
    assert_eq!(bad.status, 400);
    sim.api.get("/api/v2/findings/").await;

    let stats = sim
        .api
        .control(Method::GET, "/__sim/stats", None)
        .await
        .body;
    assert_eq!(stats["requests"], 5);
    assert_eq!(stats["writes"], 3, "the 400 is not a write");
    assert_eq!(stats["by_route"]["PATCH /api/v2/findings/{id}/"], 3);
    assert_eq!(stats["by_route"]["POST /api/v2/findings/"], 1);
    assert_eq!(stats["by_route"]["GET /api/v2/findings/"], 1);
    sim.api
        .control(Method::POST, "/__sim/stats/reset", None)
        .await;
    let stats = sim
        .api
        .control(Method::GET, "/__sim/stats", None)
        .await
        .body;
    assert_eq!(stats["requests"], 0);
    sim.running.stop().await;
}

#[tokio::test]
async fn reset_wipes_data_and_restarts_ids() {
    let (sim, test) = sim_with_test(false).await;
    create_finding(&sim.api, &finding_body(test, "x", &[])).await;
    let res = sim.api.control(Method::POST, "/__sim/reset", None).await;
    assert_eq!(res.status, 204);
    assert_eq!(sim.api.get("/api/v2/findings/").await.body["count"], 0);
    assert_eq!(
        sim.api.get("/api/v2/product_types/").await.body["count"],
        1,
        "fixture row"
    );
    let test = hierarchy(&sim.api, false).await;
    assert_eq!(test, 1);
    let f = create_finding(&sim.api, &finding_body(test, "x", &[])).await;
    assert_eq!(f["id"], 1);
    sim.running.stop().await;
}

// ------------------------------------------------------------------- webhooks (docs/defectdojo.md §6)

mod receiver {
    use std::sync::{Arc, Mutex};

    use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

    #[derive(Clone, Default)]
    pub struct Log(pub Arc<Mutex<Vec<(String, String)>>>);

    impl Log {
        pub fn events(&self) -> Vec<(String, String)> {
            self.0.lock().map(|v| v.clone()).unwrap_or_default()
        }
    }

    /// A receiver answering `status` to every POST, logging (event, body).
    pub async fn start(status: u16) -> (String, Log, actix_web::dev::ServerHandle) {
        let log = Log::default();
        let data = web::Data::new(log.clone());
        let server = HttpServer::new(move || {
            App::new().app_data(data.clone()).default_service(web::to(
                move |req: HttpRequest, body: web::Bytes, log: web::Data<Log>| async move {
                    let event = req
                        .headers()
                        .get("x-defectdojo-event")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    if let Ok(mut v) = log.0.lock() {
                        v.push((event, String::from_utf8_lossy(&body).into_owned()));
                    }
                    HttpResponse::build(
                        actix_web::http::StatusCode::from_u16(status)
                            .unwrap_or(actix_web::http::StatusCode::OK),
                    )
                    .finish()
                },
            ))
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .expect("receiver binds");
        let url = format!("http://{}/hook", server.addrs()[0]);
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        (url, log, handle)
    }
}

async fn webhook_status(api: &Api) -> Value {
    api.control(Method::GET, "/__sim/webhook", None).await.body
}

async fn wait_idle(api: &Api) -> Value {
    eventually(
        Duration::from_secs(10),
        "webhook queue to drain",
        || async {
            let s = webhook_status(api).await;
            (s["pending"] == 0).then_some(s)
        },
    )
    .await
}

#[tokio::test]
async fn webhooks_fire_only_for_the_real_events() {
    let (url, log, handle) = receiver::start(200).await;
    let mut config = SimConfig::new(TOKEN);
    config.webhook = Some(WebhookTarget {
        url,
        header_name: "X-Api-Key".into(),
        header_value: "k".into(),
    });
    let sim = support::start_with(config).await;
    let test = hierarchy(&sim.api, false).await;
    let id = create_finding(&sim.api, &finding_body(test, "x", &[])).await["id"]
        .as_u64()
        .unwrap_or_default();
    // none of these notify (docs/defectdojo.md §6)
    patch_ok(&sim.api, id, json!({"verified": true})).await;
    patch_ok(&sim.api, id, json!({"active": false, "is_mitigated": true})).await;
    patch_ok(&sim.api, id, json!({"active": true})).await;
    sim.api
        .post(
            &format!("/api/v2/findings/{id}/notes/"),
            &json!({"entry": "@admin hi"}),
        )
        .await;
    sim.api
        .post(
            &format!("/api/v2/findings/{id}/close/"),
            &json!({"is_mitigated": true}),
        )
        .await;
    sim.api
        .post("/api/v2/engagements/1/close/", &json!({}))
        .await;
    sim.api.delete(&format!("/api/v2/findings/{id}/")).await;

    let status = wait_idle(&sim.api).await;
    let events: Vec<String> = log.events().into_iter().map(|(e, _)| e).collect();
    assert_eq!(
        events,
        vec![
            "product_type_added",
            "product_added",
            "engagement_added",
            "finding_added",
            "finding_closed",
            "engagement_closed"
        ],
        "API-created tests, PATCHes, notes and deletes notify nobody"
    );
    assert_eq!(status["delivered"], 6);
    assert_eq!(status["status"], "active");
    sim.running.stop().await;
    handle.stop(false).await;
}

#[tokio::test]
async fn failing_webhook_endpoints_are_deactivated_and_events_dropped() {
    let (url, log, handle) = receiver::start(500).await;
    let mut config = SimConfig::new(TOKEN);
    config.webhook = Some(WebhookTarget {
        url: url.clone(),
        header_name: "X-Api-Key".into(),
        header_value: "k".into(),
    });
    let sim = support::start_with(config).await;
    sim.api
        .post("/api/v2/product_types/", &json!({"name": "one"}))
        .await;
    let status = wait_idle(&sim.api).await;
    assert_eq!(status["status"], "inactive_tmp", "5xx -> temporary");
    sim.api
        .post("/api/v2/product_types/", &json!({"name": "two"}))
        .await;
    let status = wait_idle(&sim.api).await;
    assert_eq!(status["skipped"], 1, "no delivery while inactive, no retry");
    assert_eq!(log.events().len(), 1);

    // a 4xx is permanent
    let (url404, log404, handle404) = receiver::start(404).await;
    let target = json!({"url": url404, "header_name": "X-Api-Key", "header_value": "k"});
    let status = sim
        .api
        .control(Method::PUT, "/__sim/webhook", Some(&target))
        .await
        .body;
    assert_eq!(status["status"], "active", "editing the webhook resets it");
    sim.api
        .post("/api/v2/product_types/", &json!({"name": "three"}))
        .await;
    assert_eq!(wait_idle(&sim.api).await["status"], "inactive_permanent");
    assert_eq!(log404.events().len(), 1);

    // an empty header name is DefectDojo's bug: requests raises, nothing is sent
    let target = json!({"url": url, "header_name": "", "header_value": ""});
    sim.api
        .control(Method::PUT, "/__sim/webhook", Some(&target))
        .await;
    sim.api
        .post("/api/v2/product_types/", &json!({"name": "four"}))
        .await;
    assert_eq!(wait_idle(&sim.api).await["status"], "inactive_permanent");
    assert_eq!(log.events().len(), 1);

    sim.running.stop().await;
    handle.stop(false).await;
    handle404.stop(false).await;
}

#[tokio::test]
async fn hostile_inputs_get_answers_not_panics() {
    let (sim, test) = sim_with_test(false).await;
    let id = create_finding(&sim.api, &finding_body(test, "x", &[])).await["id"]
        .as_u64()
        .unwrap_or_default();
    let path = format!("/api/v2/findings/{id}/");
    for (body, status) in [
        (json!({"date": "9999-12-31"}), 200),
        (json!({"date": "31/12/2026"}), 400),
        (json!({"found_by": "3"}), 400),
        (json!({"found_by": [999]}), 400),
        (json!({"tags": {"a": 1}}), 400),
        (json!({"tags": [1]}), 400),
        (json!({"tags": ""}), 500),
        (json!({"title": ["x"]}), 400),
        (json!({"title": "x".repeat(600)}), 400),
        (json!({"cwe": "abc"}), 400),
        (json!({"reporter": true}), 400),
        (json!([1, 2]), 400),
        (json!("text"), 400),
    ] {
        let res = sim.api.patch(&path, &body).await;
        assert_eq!(res.status, status, "{body}: {:?}", res.body);
    }
    for query in [
        "limit=-1&offset=99999999999999999999",
        "limit=18446744073709551615",
        "id=1,x",
        "mitigated_on=9999-12-31",
        "mitigated_after=not-a-date",
        "o=,",
        "prefetch=,,test,nope",
        "tags=%22unterminated",
        "created=",
    ] {
        let res = sim.api.get(&format!("/api/v2/findings/?{query}")).await;
        assert!(
            res.status == 200 || res.status == 400,
            "{query}: {}",
            res.status
        );
    }
    assert_eq!(sim.api.get("/api/v2/findings/abc/").await.status, 404);
    assert_eq!(sim.api.get("/api/v2/findings/-1/").await.status, 404);
    let res = sim
        .api
        .post("/api/v2/findings/", &json!({"test": "abc"}))
        .await;
    assert_eq!(
        res.status, 500,
        "Django's get_object_or_404 raises ValueError"
    );
    let res = sim.api.post("/api/v2/findings/", &json!([1])).await;
    assert_eq!(res.status, 500, "request.data.get on a list");
    // the simulator is still healthy
    assert_eq!(sim.api.get(&path).await.status, 200);
    sim.running.stop().await;
}

#[tokio::test]
async fn hierarchy_lists_filter_and_order_like_dojo() {
    let sim = support::start().await;
    for name in ["b-type", "a-type"] {
        let res = sim
            .api
            .post("/api/v2/product_types/", &json!({"name": name}))
            .await;
        assert_eq!(res.status, 201);
    }
    let res = sim
        .api
        .post("/api/v2/product_types/", &json!({"name": "a-type"}))
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.body["name"],
        json!(["product type with this name already exists."])
    );
    // get_authorized_product_types orders by name (product_type/queries.py:16)
    let names: Vec<String> = sim.api.get("/api/v2/product_types/").await.body["results"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|p| p["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names, vec!["Research and Development", "a-type", "b-type"]);

    for name in ["My Shop", "Shop"] {
        let res = sim
            .api
            .post(
                "/api/v2/products/",
                &json!({"name": name, "description": "d", "prod_type": 1}),
            )
            .await;
        assert_eq!(res.status, 201, "{:?}", res.body);
    }
    // `name` is icontains on products; `name_exact` is the exact (iexact) one
    assert_eq!(
        sim.api.get("/api/v2/products/?name=shop").await.body["count"],
        2
    );
    assert_eq!(
        sim.api.get("/api/v2/products/?name_exact=shop").await.body["count"],
        1
    );
    let res = sim
        .api
        .post(
            "/api/v2/products/",
            &json!({"name": "X", "description": "d", "prod_type": 99}),
        )
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(
        res.body["detail"],
        "No Product_Type matches the given query."
    );

    let test = hierarchy(&sim.api, false).await;
    // tests have no `name`/`product` filter in DefectDojo 3.2.0: both are ignored
    assert_eq!(
        sim.api
            .get("/api/v2/tests/?name=nothing-matches")
            .await
            .body["count"],
        1
    );
    assert_eq!(
        sim.api
            .get("/api/v2/tests/?title=T&engagement=1")
            .await
            .body["count"],
        1
    );
    assert_eq!(
        sim.api.get("/api/v2/tests/?engagement=99").await.status,
        400
    );
    assert_eq!(
        sim.api
            .get("/api/v2/test_types/?name=Pen%20Test")
            .await
            .body["results"][0]["id"],
        3
    );
    let eng = sim
        .api
        .post(
            "/api/v2/engagements/",
            &json!({"product": 1, "target_start": "2026-12-31", "target_end": "2026-01-01"}),
        )
        .await;
    assert_eq!(eng.status, 400);
    assert_eq!(
        eng.body["non_field_errors"],
        json!(["Your target start date exceeds your target end date"])
    );
    assert_eq!(test, 1);
    sim.running.stop().await;
}

/// A receiver answering 200 as the simulator's own endpoint: once it has an event, every
/// API webhook delivery of that event is done (they go first).
async fn sentinel_config() -> (SimConfig, receiver::Log, actix_web::dev::ServerHandle) {
    let (url, log, handle) = receiver::start(200).await;
    let mut config = SimConfig::new(TOKEN);
    config.webhook = Some(WebhookTarget {
        url,
        header_name: "X-Api-Key".into(),
        header_value: "k".into(),
    });
    (config, log, handle)
}

async fn api_webhook(api: &Api, id: u64) -> Value {
    let res = api
        .get(&format!("/api/v2/notification_webhooks/{id}/"))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    res.body
}

/// docs/defectdojo.md §6, §10: an API-created system webhook gets an event only once webhook
/// notifications are enabled and the system notifications row subscribes the event to
/// "webhooks"; finding events go by the `other` column.
#[tokio::test]
async fn api_webhooks_follow_settings_and_subscriptions() {
    let (config, sentinel, sentinel_handle) = sentinel_config().await;
    let (url, log, handle) = receiver::start(200).await;
    let sim = support::start_with(config).await;
    let hook = sim
        .api
        .post(
            "/api/v2/notification_webhooks/",
            &json!({"name": "bridge", "url": url, "header_name": "X-Api-Key", "header_value": "k"}),
        )
        .await;
    assert_eq!(hook.status, 201, "{:?}", hook.body);
    assert_eq!(hook.body["status"], "active");

    sim.api
        .post("/api/v2/product_types/", &json!({"name": "off"}))
        .await;
    wait_idle(&sim.api).await;
    assert_eq!(log.events().len(), 0, "webhook notifications are disabled");

    let res = sim
        .api
        .patch(
            "/api/v2/system_settings/1/",
            &json!({"enable_webhooks_notifications": true}),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["enable_webhooks_notifications"], true);
    assert_eq!(sim.api.get("/api/v2/system_settings/1/").await.status, 405);
    sim.api
        .post("/api/v2/product_types/", &json!({"name": "no-row"}))
        .await;
    wait_idle(&sim.api).await;
    assert_eq!(log.events().len(), 0, "no system notifications row yet");

    let row = sim
        .api
        .post(
            "/api/v2/notifications/",
            &json!({"user": null, "product": null, "template": false,
                    "product_type_added": ["alert", "webhooks"], "other": ["webhooks"]}),
        )
        .await;
    assert_eq!(row.status, 201, "{:?}", row.body);
    assert_eq!(row.body["id"], 2, "the admin's personal row is id 1");
    // filterset_fields id/user/product/template; an empty value filters nothing
    assert_eq!(
        sim.api.get("/api/v2/notifications/?user=1").await.body["count"],
        1
    );
    assert_eq!(
        sim.api.get("/api/v2/notifications/?user=").await.body["count"],
        2
    );
    let unknown_user = sim.api.get("/api/v2/notifications/?user=99").await;
    assert_eq!(unknown_user.status, 400);
    assert_eq!(
        unknown_user.body["user"],
        json!(["Select a valid choice. That choice is not one of the available choices."])
    );
    let bad = sim
        .api
        .post("/api/v2/notifications/", &json!({"other": ["pager"]}))
        .await;
    assert_eq!(bad.status, 400);

    let test = hierarchy(&sim.api, false).await;
    let f = create_finding(&sim.api, &finding_body(test, "x", &[])).await;
    sim.api
        .post(
            &format!("/api/v2/findings/{}/close/", f["id"]),
            &json!({"is_mitigated": true}),
        )
        .await;
    wait_idle(&sim.api).await;
    let events: Vec<String> = log.events().into_iter().map(|(e, _)| e).collect();
    assert_eq!(
        events,
        vec!["product_type_added", "finding_added", "finding_closed"],
        "product_added/engagement_added are not subscribed"
    );
    assert!(
        sentinel.events().len() >= 7,
        "the simulator's own endpoint gets everything"
    );
    sim.running.stop().await;
    handle.stop(false).await;
    sentinel_handle.stop(false).await;
}

/// docs/defectdojo.md §6, §10: 5xx -> inactive_tmp, 4xx or a refused connection ->
/// inactive_permanent at once; status is read-only, a PATCH revives nothing; delete and
/// re-create gives a fresh, active webhook.
#[tokio::test]
async fn api_webhook_status_rules() {
    let (config, _sentinel, sentinel_handle) = sentinel_config().await;
    let (url500, _log500, handle500) = receiver::start(500).await;
    let (url404, _log404, handle404) = receiver::start(404).await;
    let refused = {
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("binds");
        format!("http://{}/hook", l.local_addr().expect("addr"))
    };
    let sim = support::start_with(config).await;
    sim.api
        .patch(
            "/api/v2/system_settings/1/",
            &json!({"enable_webhooks_notifications": true}),
        )
        .await;
    sim.api
        .post(
            "/api/v2/notifications/",
            &json!({"product_type_added": ["webhooks"]}),
        )
        .await;
    for (name, url) in [("five", &url500), ("four", &url404), ("refused", &refused)] {
        let res = sim
            .api
            .post(
                "/api/v2/notification_webhooks/",
                &json!({"name": name, "url": url, "header_name": "X-K", "header_value": "v"}),
            )
            .await;
        assert_eq!(res.status, 201, "{:?}", res.body);
    }
    let dup = sim
        .api
        .post(
            "/api/v2/notification_webhooks/",
            &json!({"name": "five", "url": url500}),
        )
        .await;
    assert_eq!(dup.status, 400);
    assert_eq!(
        dup.body["name"],
        json!(["notification_ webhooks with this name already exists."])
    );

    sim.api
        .post("/api/v2/product_types/", &json!({"name": "e1"}))
        .await;
    wait_idle(&sim.api).await;
    assert_eq!(api_webhook(&sim.api, 1).await["status"], "inactive_tmp");
    assert_eq!(
        api_webhook(&sim.api, 2).await["status"],
        "inactive_permanent"
    );
    let dead = api_webhook(&sim.api, 3).await;
    assert_eq!(dead["status"], "inactive_permanent");
    assert!(
        dead["note"]
            .as_str()
            .unwrap_or_default()
            .contains("[Errno 111] Connection refused"),
        "{dead:?}"
    );
    assert!(!dead["first_error"].is_null());

    // read-only status; a new URL does not revive it either
    let res = sim
        .api
        .patch(
            "/api/v2/notification_webhooks/3/",
            &json!({"status": "active", "url": url404}),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["status"], "inactive_permanent");
    assert_eq!(res.body["url"], json!(url404));

    assert_eq!(
        sim.api
            .delete("/api/v2/notification_webhooks/3/")
            .await
            .status,
        204
    );
    assert_eq!(
        sim.api.get("/api/v2/notification_webhooks/3/").await.status,
        404
    );
    let again = sim
        .api
        .post(
            "/api/v2/notification_webhooks/",
            &json!({"name": "refused", "url": refused, "header_name": "X-K", "header_value": "v"}),
        )
        .await;
    assert_eq!(again.body["id"], 4);
    assert_eq!(again.body["status"], "active");

    // /__sim/reset drops the API webhooks too
    sim.api.control(Method::POST, "/__sim/reset", None).await;
    assert_eq!(
        sim.api.get("/api/v2/notification_webhooks/").await.body["count"],
        0
    );
    sim.running.stop().await;
    handle500.stop(false).await;
    handle404.stop(false).await;
    sentinel_handle.stop(false).await;
}

// ---------------------------------------------------------------- the read-only finding page

/// The bridge links each item to `{dojo}/finding/{id}` (DefectDojo's UI path); the emulator
/// answers it with a small HTML page, escaped, and 404 for a finding it does not hold.
#[tokio::test]
async fn the_finding_page_shows_a_finding_at_the_ui_path() {
    let (sim, test) = sim_with_test(false).await;
    let f = create_finding(
        &sim.api,
        &finding_body(test, "WSTG-INFO-01 <script>", &["wstg"]),
    )
    .await;
    let id = f["id"].as_u64().expect("id");
    let client = reqwest::Client::new();
    let res = client
        .get(format!("{}/finding/{id}", sim.running.base_url))
        .send()
        .await
        .expect("GET /finding/{id}");
    assert_eq!(res.status(), 200);
    assert!(res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html")));
    let html = res.text().await.expect("body");
    assert!(html.contains(&format!("Finding #{id}")), "{html}");
    assert!(html.contains("WSTG-INFO-01 &lt;script&gt;"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
    let missing = client
        .get(format!("{}/finding/999999", sim.running.base_url))
        .send()
        .await
        .expect("GET missing");
    assert_eq!(missing.status(), 404);
    sim.running.stop().await;
}

/// docs/defectdojo.md §9, torn reads (recorded in tests/fixtures/recorded/torn-tags): a PATCH
/// of `tags` saves the finding first and links the new tags in a second step; a list read in
/// between shows the PATCH's `updated` and no tags. `/__sim/tag-step` opens that window.
#[tokio::test]
async fn a_list_read_during_a_tag_patch_shows_the_saved_finding_without_tags() {
    let (sim, test) = sim_with_test(false).await;
    let f = create_finding(
        &sim.api,
        &finding_body(
            test,
            "WSTG-CONF-02 torn",
            &["wstg", "wstg-conf-02", "wstg-assignee:alice"],
        ),
    )
    .await;
    let id = f["id"].as_u64().unwrap();
    let created = f["updated"].clone();
    let res = sim
        .api
        .control(Method::PUT, "/__sim/tag-step", Some(&json!({"ms": 600})))
        .await;
    assert_eq!(res.status, 200);
    let patch = {
        let api = sim.api.clone();
        tokio::spawn(async move {
            api.patch(
                &format!("/api/v2/findings/{id}/"),
                &json!({"tags": ["wstg", "wstg-conf-02", "wstg-assignee:carol"]}),
            )
            .await
        })
    };
    let list = format!("/api/v2/findings/?test={test}&o=-last_status_update&limit=200");
    let torn = eventually(Duration::from_secs(5), "the PATCH's save", || async {
        let f = sim.api.get(&list).await.body["results"][0].clone();
        (f["updated"] != created).then_some(f)
    })
    .await;
    let answer = patch.await.unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(torn["updated"], answer.body["updated"], "the saved finding");
    assert_eq!(torn["tags"], json!([]), "its tags not linked yet");
    let after = sim.api.get(&list).await.body["results"][0].clone();
    assert_eq!(after["updated"], answer.body["updated"]);
    let mut tags: Vec<String> = serde_json::from_value(after["tags"].clone()).unwrap();
    tags.sort();
    assert_eq!(tags, ["wstg", "wstg-assignee:carol", "wstg-conf-02"]);
    sim.running.stop().await;
}
