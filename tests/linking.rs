//! `wstgctl sync` (make sync-wstg): links findings that already exist
//! instead of duplicating them, including the original design's findings
//! (title "WSTG-INFO-01: …", upper-case tags, no unique id).

mod common;

use std::time::Duration;

use common::{dojo_findings, flags_of, System, DOJO_TOKEN};
use serde_json::{json, Value};
use test_support::eventually_async;
use test_support::process::bin;
use wstg_domain::mapping::flags_for;
use wstg_domain::Status;

async fn wstgctl(sys: &System, args: &[&str]) -> String {
    let env = common::service_env(
        &sys.prefix,
        &sys.settings.database.url,
        &sys.sim.base_url,
        "127.0.0.1:0",
    );
    let out = tokio::process::Command::new(bin("wstgctl"))
        .args(args)
        .envs(env)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "wstgctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_links_existing_and_original_design_findings_without_duplicating() {
    let sys = System::start(test_support::fresh_sqlite(), 1).await;
    // First sync: makes the project's hierarchy (nothing to link yet).
    let out = wstgctl(&sys, &["sync", "--project", "default"]).await;
    assert!(out.contains("default: read 0 findings"), "{out}");
    let tests: Value = sys
        .http
        .get(format!("{}/api/v2/tests/", sys.sim.base_url))
        .header("Authorization", format!("Token {DOJO_TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let test_id = tests["results"][0]["id"].as_i64().unwrap();

    // A finding as the original design wrote it (through the ORM: upper-case
    // tags, title prefix, notes in mitigation, no unique id), closed.
    let seeded: Value = sys
        .http
        .post(format!("{}/__sim/findings", sys.sim.base_url))
        .json(&json!({
            "test": test_id,
            "title": "WSTG-INFO-02: Fingerprint Web Server",
            "description": "Identify the web server and version",
            "severity": "Info",
            "active": false,
            "verified": true,
            "mitigation": "nginx 1.18 found",
            "tags": ["WSTG", "WSTG-INFO-02"],
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let design_id = seeded["id"].as_i64().expect("seeded finding id");

    let out = wstgctl(&sys, &["sync"]).await;
    assert!(out.contains("queued 1 DefectDojo change"), "{out}");
    let item = eventually_async(Duration::from_secs(20), "design finding linked", || async {
        let item = sys.item("WSTG-INFO-02").await;
        (item["finding_id"] == json!(design_id)).then_some(item)
    })
    .await;
    assert_eq!(item["status"], "done");
    assert_eq!(item["notes"], "nginx 1.18 found");

    // The tracker's next change updates that finding; nothing is duplicated.
    let r = sys
        .post_sync(&json!({"wstg_id": "WSTG-INFO-02", "status": "in_progress", "notes": "retest"}))
        .await;
    assert_eq!(r.status(), 202);
    let f = eventually_async(
        Duration::from_secs(20),
        "design finding updated",
        || async {
            let all = dojo_findings(&sys.http, &sys.sim.base_url).await;
            all.into_iter().find(|f| {
                f["id"] == json!(design_id) && flags_of(f) == flags_for(Status::InProgress)
            })
        },
    )
    .await;
    assert_eq!(f["mitigation"], "retest");
    let tags: Vec<String> = serde_json::from_value(f["tags"].clone()).unwrap();
    assert!(
        tags.iter().any(|t| t == "WSTG"),
        "upper-case design tags are kept, never twinned: {tags:?}"
    );
    assert!(!tags.iter().any(|t| t == "wstg"), "{tags:?}");
    assert_eq!(
        dojo_findings(&sys.http, &sys.sim.base_url).await.len(),
        1,
        "no duplicate"
    );
    sys.stop().await;
}

/// DefectDojo answers 500 to a write carrying a tag whose name has two tag
/// rows differing only in case (docs/defectdojo.md §7). The worker re-reads
/// the finding and completes the write without the refused tags, with an
/// audit row naming the repair; the tester's change stands and nothing is
/// dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_refused_for_a_tag_case_twin_is_completed_without_it() {
    let sys = System::start(test_support::fresh_sqlite(), 1).await;
    wstgctl(&sys, &["sync", "--project", "default"]).await;
    let tests: Value = sys
        .http
        .get(format!("{}/api/v2/tests/", sys.sim.base_url))
        .header("Authorization", format!("Token {DOJO_TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let test_id = tests["results"][0]["id"].as_i64().unwrap();
    let seed = |body: Value| {
        let sys = &sys;
        async move {
            let v: Value = sys
                .http
                .post(format!("{}/__sim/findings", sys.sim.base_url))
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["id"].as_i64().expect("seeded finding id")
        }
    };
    // Tag rows "WSTG" (written by the original design through the ORM) and
    // "wstg" (made through the API): case twins. The item's finding carries
    // only its lowercase id tag, so the bridge tag is new to it and its tags
    // are written (a finding holding an upper-case tag gets no tag write at
    // all: domain::mapping::tag_write, and tests/dojo_real's leftovers).
    seed(json!({
        "test": test_id, "title": "Unrelated A", "description": "d", "severity": "Info",
        "active": true, "mitigation": "", "tags": ["WSTG"],
    }))
    .await;
    seed(json!({
        "test": test_id, "title": "Unrelated B", "description": "d", "severity": "Info",
        "active": true, "mitigation": "", "tags": ["wstg"],
    }))
    .await;
    let design_id = seed(json!({
        "test": test_id, "title": "WSTG-INFO-03: Review Webserver Metafiles",
        "description": "d", "severity": "Info", "active": true,
        "mitigation": "", "tags": ["wstg-info-03"],
    }))
    .await;
    wstgctl(&sys, &["sync"]).await;
    eventually_async(Duration::from_secs(20), "design finding linked", || async {
        (sys.item("WSTG-INFO-03").await["finding_id"] == json!(design_id)).then_some(())
    })
    .await;

    let r = sys
        .post_sync(
            &json!({"wstg_id": "WSTG-INFO-03", "status": "blocked", "notes": "waiting on creds"}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let f = eventually_async(Duration::from_secs(20), "the write completed", || async {
        let all = dojo_findings(&sys.http, &sys.sim.base_url).await;
        all.into_iter().find(|f| {
            f["id"] == json!(design_id)
                && f["tags"]
                    .as_array()
                    .is_some_and(|t| t.contains(&json!("wstg-status:blocked")))
        })
    })
    .await;
    assert_eq!(flags_of(&f), flags_for(Status::Blocked));
    assert_eq!(f["mitigation"], "waiting on creds");
    let item = eventually_async(Duration::from_secs(20), "item synced", || async {
        let item = sys.item("WSTG-INFO-03").await;
        (item["sync_state"] == "synced").then_some(item)
    })
    .await;
    assert_eq!(item["status"], "blocked", "the tester's change stands");
    let audit = sys.audit().await;
    assert!(
        audit.iter().any(|a| a.wstg_id.as_str() == "WSTG-INFO-03"
            && a.detail
                .as_deref()
                .is_some_and(|d| d.contains("'WSTG'") && d.contains("admin"))),
        "a warning names the tag and its repair: {audit:?}"
    );
    assert!(
        !audit
            .iter()
            .any(|a| a.direction == wstg_store::Direction::DojoToTracker
                && a.wstg_id.as_str() == "WSTG-INFO-03"
                && a.new_status != Some(Status::NotStarted)),
        "nothing of DefectDojo's was pulled over the tester's change"
    );
    assert_eq!(
        dojo_findings(&sys.http, &sys.sim.base_url).await.len(),
        3,
        "no duplicate"
    );
    sys.stop().await;
}
