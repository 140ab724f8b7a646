//! Issue 12 item 5: a project follows one methodology. An ASVS project
//! accepts ASVS requirement ids and refuses WSTG ones (a 400 naming
//! `wstg_id`), and its findings reach DefectDojo (dojo-sim) in an
//! "OWASP ASVS" test titled "OWASP ASVS 4.0.3 checklist", tagged with the
//! lowercase id. Real ingest, workers, Redis, store and `wstgctl`.

mod common;

use common::{client_with_token, dojo_finding, tags_of, System, DOJO_TOKEN};
use serde_json::{json, Value};
use std::time::Duration;

use test_support::eventually_async;
use test_support::process::bin;

async fn wstgctl(sys: &System, args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(bin("wstgctl"))
        .args(args)
        .envs(sys.env.iter().cloned())
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const WAIT: Duration = Duration::from_secs(20);

fn change(project: &str, id: &str) -> Value {
    json!({"project": project, "wstg_id": id, "status": "in_progress", "notes": "checked", "user": "bob"})
}

async fn dojo_get(sys: &System, path: &str) -> Value {
    sys.http
        .get(format!("{}{path}", sys.sim.base_url))
        .header("Authorization", format!("Token {DOJO_TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_asvs_project_accepts_asvs_ids_refuses_wstg_ones_and_reaches_dojo_as_asvs() {
    let sys = System::start_with(
        test_support::fresh_sqlite(),
        1,
        &[("WSTG_INGEST_ADMIN_TOKEN", "methodologies-admin-token")],
    )
    .await;
    let (ok, _, err) = wstgctl(
        &sys,
        &[
            "project",
            "add",
            "asvs-app",
            "--methodology",
            "asvs",
            "--version",
            "4.0.3",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let (ok, _, err) = wstgctl(&sys, &["project", "add", "odd", "--methodology", "pci"]).await;
    assert!(!ok && err.contains("--methodology"), "{err}");

    // The admin API takes the same choice and names a bad field.
    let admin = client_with_token("methodologies-admin-token");
    let r = admin
        .post(format!("{}/api/wstg/admin/projects", sys.ingest_url))
        .json(&json!({"name": "mobile", "methodology": "mastg"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let made: Value = r.json().await.unwrap();
    assert_eq!(made["catalogue_version"], "mastg", "{made}");
    let r = admin
        .post(format!("{}/api/wstg/admin/projects", sys.ingest_url))
        .json(&json!({"name": "later", "methodology": "asvs", "version": "3.0"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["field"], "version", "{body}");

    // WSTG ids are refused by the ASVS project, with the field and why.
    let r = sys.post_sync(&change("asvs-app", "WSTG-INFO-01")).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["field"], "wstg_id", "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("OWASP ASVS 4.0.3"),
        "{body}"
    );
    // An ASVS id the version lacks is refused too; one it has is accepted,
    // in any of ASVS's spellings.
    let r = sys.post_sync(&change("asvs-app", "V99.1.1")).await;
    assert_eq!(r.status(), 400);
    let r = sys.post_sync(&change("asvs-app", "v2.1.1")).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    // ... and the default (WSTG) project still refuses ASVS ids.
    let r = sys.post_sync(&change("default", "V2.1.1")).await;
    assert_eq!(r.status(), 400);
    // The MASTG project takes MASTG ids.
    let r = sys.post_sync(&change("mobile", "MASTG-TEST-0001")).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());

    // The page's read side follows the project's catalogue.
    // Issue 12 item 6: once recorded, the answer says where the last
    // change came from and who made it.
    let item = eventually_async(WAIT, "V2.1.1 recorded", || async {
        let item = sys.item_of(Some("asvs-app"), "V2.1.1").await;
        (!item["last_change"].is_null()).then_some(item)
    })
    .await;
    assert_eq!(item["wstg_id"], "V2.1.1", "{item}");
    assert_eq!(item["last_change"]["source"], "tracker", "{item}");
    assert_eq!(item["last_change"]["by"], "bob", "{item}");
    let untouched = sys.item_of(Some("asvs-app"), "V2.1.2").await;
    assert!(untouched["last_change"].is_null(), "{untouched}");
    let catalogue: Value = sys
        .http
        .get(format!(
            "{}/api/wstg/catalogue?project=asvs-app",
            sys.ingest_url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(catalogue["methodology"], "asvs");
    assert_eq!(catalogue["items"].as_array().unwrap().len(), 278);
    assert_eq!(catalogue["categories"][13]["id"], "V14");

    // The finding lands in an "OWASP ASVS" test with the ASVS title.
    let finding = eventually_async(WAIT, "the ASVS finding in DefectDojo", || async {
        dojo_finding(&sys.http, &sys.sim.base_url, "V2.1.1").await
    })
    .await;
    assert!(
        finding["title"].as_str().unwrap().starts_with("V2.1.1 "),
        "{finding}"
    );
    assert!(
        tags_of(&finding).contains(&"v2.1.1".to_owned()),
        "{finding}"
    );
    let test = dojo_get(&sys, &format!("/api/v2/tests/{}/", finding["test"])).await;
    assert_eq!(test["title"], "OWASP ASVS 4.0.3 checklist", "{test}");
    let test_type = dojo_get(&sys, &format!("/api/v2/test_types/{}/", test["test_type"])).await;
    assert_eq!(test_type["name"], "OWASP ASVS", "{test_type}");
    let mastg = eventually_async(WAIT, "the MASTG finding in DefectDojo", || async {
        dojo_finding(&sys.http, &sys.sim.base_url, "MASTG-TEST-0001").await
    })
    .await;
    let test = dojo_get(&sys, &format!("/api/v2/tests/{}/", mastg["test"])).await;
    assert_eq!(test["title"], "OWASP MASTG latest checklist", "{test}");
    sys.stop().await;
}
