//! Many engagements (issue 11 item 5): a project mapped to an existing
//! DefectDojo engagement, by id or by name, syncs into that engagement's
//! WSTG test and makes no product or engagement; a mapping to an id
//! DefectDojo does not have is a permanent error on the item and in the
//! dead-letter queue; project names with `/ ( & : { } ' "` go end to end.

mod common;

use std::time::Duration;

use common::{client_with_token, System, DOJO_TOKEN};
use serde_json::{json, Value};
use test_support::eventually_async;
use test_support::process::bin;

const ADMIN: &str = "projects-test-admin-token";

async fn dojo(sys: &System, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut req = sys
        .http
        .request(method, format!("{}/api/v2/{path}", sys.sim.base_url))
        .header("Authorization", format!("Token {DOJO_TOKEN}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

async fn list(sys: &System, path: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    dojo(
        sys,
        reqwest::Method::GET,
        &format!("{path}{sep}limit=1000"),
        None,
    )
    .await["results"]
        .as_array()
        .cloned()
        .unwrap()
}

fn ids(rows: &[Value]) -> Vec<i64> {
    let mut v: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    v.sort_unstable();
    v
}

async fn wstgctl(sys: &System, args: &[&str]) -> (i32, String, String) {
    let out = tokio::process::Command::new(bin("wstgctl"))
        .args(args)
        .envs(sys.env.iter().cloned())
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The finding of `wstg_id` in project `project`, once synced.
async fn synced_finding(sys: &System, project: &str, wstg_id: &str) -> i64 {
    eventually_async(Duration::from_secs(20), "the item synced", || async {
        let item = sys.item_of(Some(project), wstg_id).await;
        item["item"]["finding_id"]
            .as_i64()
            .or_else(|| item["finding_id"].as_i64())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_mapped_to_existing_engagements_sync_into_them() {
    let sys = System::start_with(
        test_support::fresh_sqlite(),
        1,
        &[("WSTG_INGEST_ADMIN_TOKEN", ADMIN)],
    )
    .await;
    use reqwest::Method;
    // What a DefectDojo with history holds: a product with two engagements.
    let pt = dojo(
        &sys,
        Method::POST,
        "product_types/",
        Some(json!({"name": "Clients"})),
    )
    .await;
    let product = dojo(
        &sys,
        Method::POST,
        "products/",
        Some(json!({"name": "Client & Co / web (R&D)", "description": "x", "prod_type": pt["id"]})),
    )
    .await;
    let engagement = |name: &str| {
        json!({"name": name, "product": product["id"], "target_start": "2026-12-01",
               "target_end": "2026-12-31", "engagement_type": "Interactive", "status": "In Progress"})
    };
    let by_id = dojo(
        &sys,
        Method::POST,
        "engagements/",
        Some(engagement("Q4: {web} 'pentest'")),
    )
    .await;
    let by_name = dojo(
        &sys,
        Method::POST,
        "engagements/",
        Some(engagement("Q4 \"API\" retest")),
    )
    .await;
    let products_before = ids(&list(&sys, "products/").await);
    let engagements_before = ids(&list(&sys, "engagements/").await);

    // One project by engagement id (its product follows), one by product
    // and engagement names, one mapped to an engagement that does not
    // exist; over the admin API and wstgctl.
    let admin = client_with_token(ADMIN);
    let r = admin
        .post(format!("{}/api/wstg/admin/projects", sys.ingest_url))
        .json(&json!({"name": "Acme: web/app (Q4) & {1}", "engagement_id": by_id["id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (code, _, err) = wstgctl(
        &sys,
        &[
            "project",
            "add",
            "Acme 'API' \"v2\"",
            "--product",
            "Client & Co / web (R&D)",
            "--engagement",
            "Q4 \"API\" retest",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = wstgctl(
        &sys,
        &["project", "add", "ghost", "--engagement-id", "9999"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = wstgctl(&sys, &["project", "add", "x", "--product-id", "0"]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--product-id"), "{err}");

    for (project, id) in [
        ("Acme: web/app (Q4) & {1}", "WSTG-INFO-01"),
        ("Acme 'API' \"v2\"", "WSTG-INFO-02"),
        ("ghost", "WSTG-INFO-03"),
    ] {
        sys.post_ok(
            &json!({"wstg_id": id, "status": "done", "notes": project, "project": project}),
        )
        .await;
    }
    let f1 = synced_finding(&sys, "Acme: web/app (Q4) & {1}", "WSTG-INFO-01").await;
    let f2 = synced_finding(&sys, "Acme 'API' \"v2\"", "WSTG-INFO-02").await;

    // Each landed in a WSTG test of its engagement.
    for (finding, engagement) in [(f1, &by_id), (f2, &by_name)] {
        let f = dojo(&sys, Method::GET, &format!("findings/{finding}/"), None).await;
        let test = dojo(&sys, Method::GET, &format!("tests/{}/", f["test"]), None).await;
        assert_eq!(test["engagement"], engagement["id"], "finding {finding}");
    }
    // No product or engagement was made.
    assert_eq!(ids(&list(&sys, "products/").await), products_before);
    assert_eq!(ids(&list(&sys, "engagements/").await), engagements_before);

    // The unknown engagement: the item says why, and so does the DLQ.
    let why = eventually_async(Duration::from_secs(20), "the ghost item failed", || async {
        let item = sys.item_of(Some("ghost"), "WSTG-INFO-03").await;
        let item = if item.get("item").is_some() {
            item["item"].clone()
        } else {
            item
        };
        item["last_error"].as_str().map(str::to_owned)
    })
    .await;
    assert!(why.contains("no engagement with id 9999"), "{why}");
    let dlq: Value = admin
        .get(format!("{}/api/wstg/admin/dlq", sys.ingest_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        dlq.to_string().contains("no engagement with id 9999"),
        "{dlq}"
    );

    // Mapped anew (allowed: it never synced) and replayed, it lands in
    // the engagement; a project that synced keeps its mapping.
    let engagement_id = by_id["id"].to_string();
    let (code, _, err) = wstgctl(
        &sys,
        &["project", "map", "ghost", "--engagement-id", &engagement_id],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = wstgctl(&sys, &["dlq", "replay", "--all"]).await;
    assert_eq!(code, 0, "{err}");
    let f3 = synced_finding(&sys, "ghost", "WSTG-INFO-03").await;
    let f = dojo(&sys, Method::GET, &format!("findings/{f3}/"), None).await;
    assert_eq!(
        f["test"],
        dojo(&sys, Method::GET, &format!("findings/{f1}/"), None).await["test"]
    );
    let (code, _, err) = wstgctl(
        &sys,
        &[
            "project",
            "map",
            "Acme: web/app (Q4) & {1}",
            "--engagement-id",
            "1",
        ],
    )
    .await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("already syncs"), "{err}");
    let (code, _, _) = wstgctl(&sys, &["project", "map", "nobody", "--engagement-id", "1"]).await;
    assert_eq!(code, 3);
    // The same over the admin API, the name percent-encoded in the path
    // (`/` included): 422 once synced, 404 for nobody, 200 before.
    let put = |name: &str, body: Value| {
        // `push` percent-encodes a segment, `/` as %2F.
        let mut url = reqwest::Url::parse(&sys.ingest_url).unwrap();
        url.path_segments_mut()
            .unwrap()
            .extend(["api", "wstg", "admin", "projects", name, "target"]);
        admin.put(url).json(&body).send()
    };
    let r = put("Acme: web/app (Q4) & {1}", json!({"engagement_id": 1}))
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = put("nobody/else", json!({})).await.unwrap();
    assert_eq!(r.status(), 404);
    let r = admin
        .post(format!("{}/api/wstg/admin/projects", sys.ingest_url))
        .json(&json!({"name": "later / (Q1) & {2}"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = put(
        "later / (Q1) & {2}",
        json!({"engagement_name": "Q1", "product_id": 0}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["field"], "product_id", "{body}");
    let r = put(
        "later / (Q1) & {2}",
        json!({"engagement_id": by_name["id"]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["project"]["engagement_id"], by_name["id"], "{body}");
    assert_eq!(body["project"]["name"], "later / (Q1) & {2}", "{body}");
    assert_eq!(ids(&list(&sys, "engagements/").await), engagements_before);

    // `project show` names the ids the bootstrap found.
    let (code, out, err) = wstgctl(
        &sys,
        &[
            "--output",
            "json",
            "project",
            "show",
            "Acme: web/app (Q4) & {1}",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["dojo"]["engagement_id"], by_id["id"], "{shown}");
    assert_eq!(shown["dojo"]["product_id"], product["id"], "{shown}");
    assert_eq!(shown["items"]["synced"], 1, "{shown}");
    assert_eq!(shown["mapping"]["engagement_id"], by_id["id"], "{shown}");
    let (code, _, _) = wstgctl(&sys, &["project", "show", "nobody"]).await;
    assert_eq!(code, 3);
    sys.stop().await;
}

/// A project with no mapping, named with every awkward character, gets a
/// product named after it (the default template), as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmapped_project_with_awkward_characters_gets_its_own_product() {
    let sys = System::start_with(
        test_support::fresh_sqlite(),
        1,
        &[("WSTG_INGEST_ADMIN_TOKEN", ADMIN)],
    )
    .await;
    let name = "R&D / (web) : {x} 'y' \"z\" 100%";
    let (code, _, err) = wstgctl(&sys, &["project", "add", name]).await;
    assert_eq!(code, 0, "{err}");
    sys.post_ok(&json!({"wstg_id": "WSTG-INFO-01", "status": "done", "project": name}))
        .await;
    synced_finding(&sys, name, "WSTG-INFO-01").await;
    let products = list(&sys, "products/").await;
    assert!(products.iter().any(|p| p["name"] == name), "{products:?}");
    let engagements = list(&sys, "engagements/").await;
    assert_eq!(engagements.len(), 1);
    assert_eq!(engagements[0]["name"], "WSTG Security Testing");
    sys.stop().await;
}
