//! Many engagements (issue 11 item 5), written once for any [`Backend`]: a
//! product and two engagements made first through DefectDojo's API; one
//! project mapped to an engagement by id, another to the product and the
//! other engagement by name (names with `/ ( & : { } ' "`); their items land
//! in those engagements' WSTG tests and no product or engagement is made. A
//! project mapped to a product id DefectDojo does not have fails with the
//! reason on the item, not in a retry loop.

use reqwest::Method;
use serde_json::{json, Value};
use test_support::eventually_async;

use crate::backend::Backend;
use crate::bridge::{fresh_project, Bridge, WAIT};

async fn made(dojo: &Backend, path: &str, body: Value) -> Value {
    let (status, v) = dojo.api(Method::POST, path, Some(body)).await;
    assert_eq!(status, 201, "POST {path}: {v}");
    v
}

async fn count(dojo: &Backend, path: &str) -> i64 {
    let (status, v) = dojo.api(Method::GET, path, None).await;
    assert_eq!(status, 200, "GET {path}: {v}");
    v["count"].as_i64().unwrap()
}

/// The item of `project` once linked to a finding.
async fn linked(b: &Bridge, project: &str, wstg_id: &str) -> i64 {
    eventually_async(WAIT, &format!("{project} {wstg_id} linked"), || async {
        let item: Value = b
            .http
            .get(format!("{}/api/wstg/items/{wstg_id}", b.url))
            .query(&[("project", project)])
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (item["sync_state"] == "synced")
            .then(|| item["finding_id"].as_i64())
            .flatten()
    })
    .await
}

pub async fn mapped_to_existing_engagements(dojo: &Backend) {
    let tag = fresh_project("projects");
    let b = Bridge::start(dojo, &tag, &[]).await;
    let pt = made(
        dojo,
        "product_types/",
        json!({"name": format!("{tag} clients")}),
    )
    .await;
    let product_name = format!("{tag} Client & Co / web (R&D) {{x}}");
    let product = made(
        dojo,
        "products/",
        json!({"name": product_name, "description": "d", "prod_type": pt["id"]}),
    )
    .await;
    let engagement = |name: &str| {
        json!({"name": name, "product": product["id"], "target_start": "2026-12-01",
               "target_end": "2026-12-31", "engagement_type": "Interactive",
               "status": "In Progress"})
    };
    let by_id = made(dojo, "engagements/", engagement("Q4: {web} 'pentest'")).await;
    let by_name = made(dojo, "engagements/", engagement("Q4 \"API\" retest")).await;
    let engagements_of_product = format!("engagements/?product={}", product["id"]);
    let products_before = count(dojo, "products/").await;

    let p1 = format!("{tag} web/app (Q4) & {{1}}: 'a'");
    let p2 = format!("{tag} \"API\"");
    let ghost = format!("{tag} ghost");
    let engagement_id = by_id["id"].to_string();
    for args in [
        vec![
            "project",
            "add",
            p1.as_str(),
            "--engagement-id",
            engagement_id.as_str(),
        ],
        vec![
            "project",
            "add",
            p2.as_str(),
            "--product",
            product_name.as_str(),
            "--engagement",
            "Q4 \"API\" retest",
        ],
        vec![
            "project",
            "add",
            ghost.as_str(),
            "--product-id",
            "987654321",
        ],
    ] {
        let (ok, _, err) = b.wstgctl(&args).await;
        assert!(ok, "wstgctl {args:?}: {err}");
    }
    for (project, id) in [
        (&p1, "WSTG-INFO-01"),
        (&p2, "WSTG-INFO-02"),
        (&ghost, "WSTG-INFO-03"),
    ] {
        let r = b
            .http
            .post(format!("{}/api/wstg/sync", b.url))
            .json(&json!({"wstg_id": id, "status": "done", "project": project}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    }
    let f1 = linked(&b, &p1, "WSTG-INFO-01").await;
    let f2 = linked(&b, &p2, "WSTG-INFO-02").await;
    for (finding, engagement) in [(f1, &by_id), (f2, &by_name)] {
        let f = dojo.finding(finding).await.unwrap();
        let (_, test) = dojo
            .api(Method::GET, &format!("tests/{}/", f["test"]), None)
            .await;
        assert_eq!(
            test["engagement"], engagement["id"],
            "finding {finding}: {test}"
        );
    }
    assert_eq!(
        count(dojo, &engagements_of_product).await,
        2,
        "no engagement made"
    );
    assert_eq!(
        count(dojo, "products/").await,
        products_before,
        "no product made"
    );

    let why = eventually_async(WAIT, "the ghost item failed", || async {
        let item: Value = b
            .http
            .get(format!("{}/api/wstg/items/WSTG-INFO-03", b.url))
            .query(&[("project", ghost.as_str())])
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        item["last_error"].as_str().map(str::to_owned)
    })
    .await;
    assert!(why.contains("no product with id 987654321"), "{why}");
    let (ok, out, err) = b
        .wstgctl(&["--output", "json", "project", "show", p1.as_str()])
        .await;
    assert!(ok, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["dojo"]["engagement_id"], by_id["id"], "{shown}");
}
