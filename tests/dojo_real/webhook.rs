//! DefectDojo's notification webhook on a real DefectDojo: made by
//! `wstgctl setup-webhook` (with its header, docs/defectdojo.md §6),
//! delivered, killed by DefectDojo while wstg-ingest restarts
//! (`inactive_permanent` at the first refused delivery), re-created by the
//! bridge, which says so in `/api/wstg/status`.

use serde_json::{json, Value};
use test_support::eventually_async;
use wstg_domain::Status;

use crate::backend::Backend;
use crate::bridge::{fresh_project, Bridge, WAIT};

async fn hooks_for(dojo: &Backend, url: &str) -> Vec<Value> {
    let (s, v) = dojo
        .api(
            reqwest::Method::GET,
            "notification_webhooks/?limit=100",
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|h| h["url"] == json!(url))
        .collect()
}

pub async fn setup_webhook_survives_an_ingest_restart(dojo: &Backend) {
    let mut b = Bridge::start(
        dojo,
        &fresh_project("webhook"),
        &[
            ("WSTG_DOJO_WEBHOOK_URL", "{ingest}/api/wstg/webhook"),
            ("WSTG_DOJO_WEBHOOK_CHECK_PASSES", "1"),
        ],
    )
    .await;
    let hook_url = format!("{}/api/wstg/webhook", b.url);
    b.set("WSTG-INFO-01", Status::InProgress, "").await;
    let (_, fid) = b.linked("WSTG-INFO-01", Status::InProgress).await;

    let (ok, out, err) = b.wstgctl(&["setup-webhook", "--url", &hook_url]).await;
    assert!(ok, "wstgctl setup-webhook: {out}{err}");
    assert!(out.contains("active"), "{out}");
    let hooks = hooks_for(dojo, &hook_url).await;
    assert_eq!(hooks.len(), 1, "one webhook: {hooks:?}");
    assert_eq!(hooks[0]["header_name"], "X-API-Key", "{hooks:?}");
    let first = hooks[0]["id"].as_i64().unwrap();
    let (ok, doctor, err) = b.wstgctl(&["doctor"]).await;
    assert!(
        doctor.contains("ok    webhook"),
        "doctor sees a working webhook ({ok}): {doctor}{err}"
    );

    // An event delivered with the header keeps the webhook active.
    dojo.close(fid).await;
    b.shows("WSTG-INFO-01", Status::Done).await;

    // wstg-ingest restarts; an event sent meanwhile is refused and
    // DefectDojo kills the webhook for good.
    b.kill_ingest().await;
    dojo.patch(fid, json!({"active": true, "is_mitigated": false}))
        .await;
    dojo.close(fid).await;
    eventually_async(WAIT, "DefectDojo to give up on the webhook", || async {
        let hooks = hooks_for(dojo, &hook_url).await;
        let old = hooks.iter().find(|h| h["id"] == json!(first));
        old.is_none_or(|h| h["status"] == "inactive_permanent")
            .then_some(())
    })
    .await;
    b.start_ingest().await;

    // The bridge re-creates it and says so.
    let status = eventually_async(WAIT, "the bridge to re-create the webhook", || async {
        let hooks = hooks_for(dojo, &hook_url).await;
        let alive = hooks
            .iter()
            .any(|h| h["id"] != json!(first) && h["status"] == "active");
        let status = b.status().await;
        let w = &status["dojo"]["webhook"];
        (alive && w["healthy"] == true && w["recreated"].as_u64() >= Some(1)).then_some(status)
    })
    .await;
    assert_eq!(
        hooks_for(dojo, &hook_url).await.len(),
        1,
        "the dead webhook is replaced, not kept beside the new one"
    );
    assert_eq!(status["dojo"]["webhook"]["url"], json!(hook_url));
}
