//! `--latency-profile`: requests wait what the profile says for their
//! operation, a list also per finding, and `/__sim/` never waits.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use dojo_sim::{LatencyProfile, SimConfig};

const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

#[tokio::test]
async fn requests_wait_their_operations_time_from_the_profile() {
    let profile = LatencyProfile::parse(
        r#"{"name":"fixed","quantiles":[0,1],"operations":{
            "list_findings":{"ms":[150,150],"per_finding_ms":0},
            "get_other":{"ms":[0,0]}}}"#,
    )
    .unwrap();
    let mut config = SimConfig::new(TOKEN);
    config.latency_profile = Some(Arc::new(profile));
    let sim = dojo_sim::spawn(config).await.unwrap();
    let http = reqwest::Client::new();
    let get = |path: &str| {
        http.get(format!("{}{path}", sim.base_url))
            .header("Authorization", format!("Token {TOKEN}"))
            .send()
    };

    let t = Instant::now();
    assert!(get("/api/v2/findings/")
        .await
        .unwrap()
        .status()
        .is_success());
    let list = t.elapsed();
    assert!(
        list >= Duration::from_millis(150),
        "a list waits its 150 ms: {list:?}"
    );

    let latency: serde_json::Value = get("/__sim/latency").await.unwrap().json().await.unwrap();
    assert_eq!(latency["profile"], "fixed");
    sim.stop().await;
}

#[test]
fn the_built_in_profile_is_the_one_measured_on_the_kit() {
    let real: dojo_sim::ProfileChoice = "real".parse().unwrap();
    let p = real.0.unwrap();
    assert_eq!(p.name, "defectdojo-3.2.0-kit");
    let patch = p.at(dojo_sim::latency::Operation::PatchFinding, 0.5);
    assert!(patch > Duration::from_millis(50), "{patch:?}");
}
