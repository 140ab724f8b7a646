//! Finding the WSTG test by configurable criteria (test types, title) in the
//! emulator, the original design's untitled test included.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use dojo_client::{DojoClient, DojoConfig, TestCriteria};
use secrecy::SecretString;
use serde_json::{json, Value};
use url::Url;

const TOKEN: &str = "test-token";

async fn post(http: &reqwest::Client, base: &str, path: &str, body: Value) -> i64 {
    let r = http
        .post(format!("{base}/api/v2/{path}"))
        .header("Authorization", format!("Token {TOKEN}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path} {body}: {}", r.status());
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

#[tokio::test]
async fn the_wstg_test_is_found_by_type_and_title_untitled_ones_included() {
    test_support::init_test_logging();
    let sim = dojo_sim::spawn(dojo_sim::SimConfig::new(TOKEN))
        .await
        .unwrap();
    let base = sim.base_url.to_string();
    let base = base.trim_end_matches('/');
    let http = reqwest::Client::new();
    let c = DojoClient::new(DojoConfig::new(
        Url::parse(base).unwrap(),
        SecretString::from(TOKEN),
    ))
    .unwrap();
    let pt = post(
        &http,
        base,
        "product_types/",
        json!({"name": "Medical Register"}),
    )
    .await;
    let product = post(
        &http,
        base,
        "products/",
        json!({"name": "Medical Register App", "description": "d", "prod_type": pt}),
    )
    .await;
    let eng = post(
        &http,
        base,
        "engagements/",
        json!({"name": "WSTG Security Testing", "product": product,
               "target_start": "2026-01-01", "target_end": "2026-01-02"}),
    )
    .await;
    let design_type = post(
        &http,
        base,
        "test_types/",
        json!({"name": "WSTG Security Testing"}),
    )
    .await;
    let other_type = post(
        &http,
        base,
        "test_types/",
        json!({"name": "Another Checklist"}),
    )
    .await;
    let test = |test_type: i64, title: Option<&str>| {
        let mut body = json!({"engagement": eng, "test_type": test_type,
                              "target_start": "2026-01-01T00:00:00Z", "target_end": "2026-01-02T00:00:00Z"});
        if let Some(t) = title {
            body["title"] = json!(t);
        }
        let http = http.clone();
        async move { post(&http, base, "tests/", body).await }
    };
    // Neither another type nor another title is the WSTG test.
    test(other_type, None).await;
    test(design_type, Some("Pentest 2025")).await;
    let criteria = TestCriteria {
        test_types: vec![design_type],
        title: "OWASP WSTG 4.2 checklist".into(),
    };
    assert_eq!(c.find_wstg_test(eng, &criteria).await.unwrap(), None);

    // The original design's test: untitled, of type "WSTG Security Testing".
    let design = test(design_type, None).await;
    assert_eq!(
        c.find_wstg_test(eng, &criteria).await.unwrap(),
        Some((design, design_type))
    );
    assert_eq!(
        c.ensure_wstg_test(eng, other_type, &criteria)
            .await
            .unwrap(),
        (design, design_type),
        "found, not made"
    );
    // A test with the configured title wins over an untitled one.
    let titled = test(design_type, Some("OWASP WSTG 4.2 checklist")).await;
    assert_eq!(
        c.find_wstg_test(eng, &criteria).await.unwrap(),
        Some((titled, design_type))
    );
    assert_eq!(
        c.product_id("Medical Register App").await.unwrap(),
        Some(product)
    );
    assert_eq!(c.product_id("Medical Register").await.unwrap(), None);
    assert_eq!(
        c.engagement_id(product, "WSTG Security Testing")
            .await
            .unwrap(),
        Some(eng)
    );
    assert_eq!(
        c.test_type_id("WSTG Security Testing").await.unwrap(),
        Some(design_type)
    );
    assert_eq!(c.test_type_id("Nope").await.unwrap(), None);
    sim.stop().await;
}
