//! The tracker's bulk and page routes over HTTP (issue 5): an import lands
//! in DefectDojo and comes back in the export; bad entries are reported by
//! id and reason; the dashboard has the original design's fields; the pages
//! and the drop-in script are served from the binary. The browser side is
//! tested in tests/browser (Playwright driving Chromium).

mod common;

use std::time::Duration;

use common::{dojo_finding, System};
use serde_json::{json, Value};

#[tokio::test]
async fn import_syncs_every_valid_entry_and_export_gives_them_back() {
    let sys = System::start(test_support::fresh_sqlite(), 1).await;
    let import = json!({
        "version": "1.2",
        "exportDate": "2025-12-03T17:30:00Z",
        "results": {
            "WSTG-INFO-01": {"status": "Done", "notes": "robots.txt"},
            "WSTG-INFO-02": {"status": "in_progress", "notes": ""},
            "WSTG-CONF-01": "N/A",
            "WSTG-NOPE-01": {"status": "done"},
            "WSTG-INFO-03": {"status": "maybe"},
        }
    });
    let resp = sys
        .http
        .post(format!("{}/api/wstg/import", sys.ingest_url))
        .json(&import)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["accepted"], 3, "{body}");
    assert_eq!(body["event_ids"].as_array().unwrap().len(), 3);
    let mut rejected: Vec<&str> = body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["wstg_id"].as_str().unwrap())
        .collect();
    rejected.sort_unstable();
    assert_eq!(rejected, ["WSTG-INFO-03", "WSTG-NOPE-01"]);

    for id in ["WSTG-INFO-01", "WSTG-INFO-02", "WSTG-CONF-01"] {
        test_support::eventually_async(Duration::from_secs(20), id, || async {
            dojo_finding(&sys.http, &sys.sim.base_url, id).await
        })
        .await;
    }
    let export: Value = test_support::eventually_async(
        Duration::from_secs(20),
        "the export to hold the three items",
        || async {
            let v: Value = sys
                .http
                .get(format!("{}/api/wstg/export", sys.ingest_url))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (v["results"].as_object()?.len() == 3).then_some(v)
        },
    )
    .await;
    assert_eq!(export["version"], "wstg-bridge/1");
    assert_eq!(export["project"], "default");
    assert_eq!(
        export["results"]["WSTG-INFO-01"],
        json!({"status": "done", "notes": "robots.txt"})
    );
    assert_eq!(
        export["results"]["WSTG-CONF-01"]["status"],
        "not_applicable"
    );

    // Nothing valid: a 400 that still lists every entry's reason.
    let resp = sys
        .http
        .post(format!("{}/api/wstg/import", sys.ingest_url))
        .json(&json!({"WSTG-NOPE-01": {"status": "done"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["success"], false);
    assert_eq!(body["rejected"][0]["wstg_id"], "WSTG-NOPE-01");

    let dash = sys.get_json("/api/wstg/dashboard").await;
    for key in ["status", "statistics", "dlq_size", "dojo", "timestamp"] {
        assert!(dash.get(key).is_some(), "{key} missing: {dash}");
    }
    for key in [
        "by_status",
        "by_direction",
        "by_category",
        "recent_syncs",
        "activity",
    ] {
        assert!(dash["statistics"].get(key).is_some(), "{key} missing");
    }
    assert_eq!(dash["statistics"]["by_category"]["INFO"]["done"], 1);
    assert_eq!(dash["dojo"]["reachable"], true, "{}", dash["dojo"]);
    sys.stop().await;
}

#[tokio::test]
async fn pages_and_the_drop_in_script_are_served_from_the_binary() {
    let sys = System::start(test_support::fresh_sqlite(), 0).await;
    for (path, kind) in [
        ("/", "text/html"),
        ("/dashboard", "text/html"),
        ("/static/wstg-sync.js", "text/javascript"),
        ("/static/style.css", "text/css"),
    ] {
        let resp = sys
            .http
            .get(format!("{}{path}", sys.ingest_url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with(kind), "{path}: {ct}");
        assert!(resp.headers().contains_key("etag"), "{path}");
    }
    let missing = sys
        .http
        .get(format!("{}/static/nope.js", sys.ingest_url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    sys.stop().await;
}
