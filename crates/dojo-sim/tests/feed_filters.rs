//! The poller's change feed (docs/defectdojo.md §14) relies on which findings list filters the
//! real DefectDojo applies and which it ignores. recorded/feed-filters/feed-filters.json holds
//! what the kit answered (tests/fixtures/record_feed.py): this test builds the same hierarchy
//! in dojo-sim over HTTP, makes the same status change and text-only edit, sends the same
//! queries and compares status, count, `next` and the findings in the order returned.

mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

fn fixture() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/recorded/feed-filters/feed-filters.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture readable")).expect("JSON")
}

#[tokio::test]
async fn feed_filters_answer_like_the_real_server() {
    let sim = support::start().await;
    let api = &sim.api;
    let mut labels: HashMap<String, i64> = HashMap::new();
    async fn create(api: &support::Api, path: &str, body: Value) -> i64 {
        let res = api.post(path, &body).await;
        assert_eq!(res.status.as_u16(), 201, "{path}: {}", res.body);
        res.body["id"].as_i64().expect("id")
    }
    for pt in ["PT_A", "PT_B"] {
        let id = create(
            api,
            "/api/v2/product_types/",
            json!({ "name": format!("feed {pt}") }),
        )
        .await;
        labels.insert(pt.into(), id);
    }
    for tt in ["TT_WSTG", "TT_SCAN"] {
        let body = json!({ "name": format!("feed {tt}"), "static_tool": false, "dynamic_tool": false, "active": true });
        labels.insert(tt.into(), create(api, "/api/v2/test_types/", body).await);
    }
    for (p, pt) in [("P_A1", "PT_A"), ("P_A2", "PT_A"), ("P_B1", "PT_B")] {
        let body =
            json!({ "name": format!("feed {p}"), "description": "feed", "prod_type": labels[pt] });
        let product = create(api, "/api/v2/products/", body).await;
        labels.insert(p.into(), product);
        let body = json!({ "name": "WSTG Security Testing", "product": product, "target_start": "2026-11-01",
            "target_end": "2026-12-31", "engagement_type": "Interactive", "status": "In Progress" });
        labels.insert(
            format!("E{}", &p[1..]),
            create(api, "/api/v2/engagements/", body).await,
        );
    }
    for (t, e, tt) in [
        ("T_A1", "E_A1", "TT_WSTG"),
        ("S_A1", "E_A1", "TT_SCAN"),
        ("T_A2", "E_A2", "TT_WSTG"),
        ("T_B1", "E_B1", "TT_WSTG"),
    ] {
        let body = json!({ "engagement": labels[e], "test_type": labels[tt], "title": t,
            "target_start": "2026-11-01T00:00:00Z", "target_end": "2026-12-31T00:00:00Z" });
        labels.insert(t.into(), create(api, "/api/v2/tests/", body).await);
    }
    for (f, t) in [
        ("f1", "T_A1"),
        ("f2", "S_A1"),
        ("f3", "T_A2"),
        ("f4", "T_B1"),
        ("f5", "T_A1"),
    ] {
        let body = json!({ "test": labels[t], "found_by": [], "severity": "Medium", "numerical_severity": "S2",
            "active": true, "verified": false, "title": format!("poll feed {f}"), "description": "before" });
        labels.insert(f.into(), create(api, "/api/v2/findings/", body).await);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    let closed = api
        .patch(
            &format!("/api/v2/findings/{}/", labels["f1"]),
            &json!({"active": false, "is_mitigated": true}),
        )
        .await;
    assert_eq!(closed.status.as_u16(), 200, "{}", closed.body);
    let edited = api
        .patch(
            &format!("/api/v2/findings/{}/", labels["f3"]),
            &json!({"description": "after"}),
        )
        .await;
    assert_eq!(edited.status.as_u16(), 200, "{}", edited.body);

    let recorded = fixture();
    let substitute = |text: &str| {
        let mut out = text.to_owned();
        for (k, v) in &labels {
            out = out.replace(&format!("{{{k}}}"), &v.to_string());
        }
        out.replace("{DD_URL}", &sim.running.base_url)
    };
    let label_of: HashMap<i64, &str> = labels
        .iter()
        .filter(|(k, _)| k.starts_with('f'))
        .map(|(k, v)| (*v, k.as_str()))
        .collect();
    let mut differences = Vec::new();
    for step in recorded["steps"].as_array().expect("steps") {
        let query = step["query"].as_str().expect("query");
        let res = api
            .get(&format!("/api/v2/findings/?{}", substitute(query)))
            .await;
        let want_status = step["status"].as_u64().expect("status");
        if u64::from(res.status.as_u16()) != want_status {
            differences.push(format!(
                "{query}: status {} (recorded {want_status})",
                res.status
            ));
            continue;
        }
        if res.body["count"] != step["count"] {
            differences.push(format!(
                "{query}: count {} (recorded {})",
                res.body["count"], step["count"]
            ));
        }
        let want_next = step["next"].as_str().map(substitute);
        let got_next = res.body["next"].as_str().map(str::to_owned);
        if got_next != want_next {
            differences.push(format!(
                "{query}: next {got_next:?} (recorded {want_next:?})"
            ));
        }
        let got: Vec<&str> = res.body["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| {
                r["id"]
                    .as_i64()
                    .and_then(|id| label_of.get(&id).copied())
                    .unwrap_or("other")
            })
            .collect();
        let want: Vec<&str> = step["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r.as_str().expect("label"))
            .collect();
        if got != want {
            differences.push(format!("{query}: results {got:?} (recorded {want:?})"));
        }
    }
    // The text-only edit moved `updated`, not `last_status_update` (on both servers).
    let f3 = api
        .get(&format!("/api/v2/findings/{}/", labels["f3"]))
        .await
        .body;
    let rec = &recorded["findings"]["f3"];
    let moved = |f: &Value| f["updated"].as_str() > f["last_status_update"].as_str();
    assert!(
        moved(rec),
        "the recording shows the text edit moving only `updated`"
    );
    if !moved(&f3) || f3["last_status_update"] != f3["created"] {
        differences.push(format!("f3 after a text-only edit: {f3}"));
    }
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
    sim.running.stop().await;
}
