//! The real-DefectDojo scenarios (tests/dojo_real/scenarios.rs) against the
//! emulator: they run in every `cargo test`. The original design's leftovers
//! are seeded through `/__sim/findings` and `/__sim/tag-rows`.

#[allow(dead_code)]
#[path = "dojo_real/backend.rs"]
mod backend;
#[allow(dead_code)]
#[path = "dojo_real/bridge.rs"]
mod bridge;
#[path = "dojo_real/comments.rs"]
mod comments;
mod common;
#[path = "dojo_real/evidence.rs"]
mod evidence;
#[path = "dojo_real/projects.rs"]
mod projects;
#[path = "dojo_real/scenarios.rs"]
mod scenarios;
#[path = "dojo_real/vulnerabilities.rs"]
mod vulnerabilities;

use backend::Backend;

/// One scenario at a time, as against the kit: each runs an ingest, two
/// workers and a poller, and five at once on two cores starve them.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

macro_rules! on_sim {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let _one = ONE_AT_A_TIME.lock().await;
            let dojo = Backend::sim().await;
            scenarios::$name(&dojo).await;
            dojo.stop().await;
        }
    )*};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_round_trips() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dojo = Backend::sim().await;
    evidence::evidence_round_trips(&dojo).await;
    dojo.stop().await;
}

on_sim!(
    five_statuses,
    defectdojo_changes_come_back,
    notes_both_ways,
    deletion,
    original_design_leftovers,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapped_to_existing_engagements() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dojo = Backend::sim().await;
    projects::mapped_to_existing_engagements(&dojo).await;
    dojo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vulnerabilities_under_an_item() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dojo = Backend::sim().await;
    vulnerabilities::vulnerabilities_under_an_item(&dojo).await;
    dojo.stop().await;
}

/// tests/dojo_real/comments.rs against the emulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_both_ways() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dojo = Backend::sim().await;
    comments::comments_both_ways(&dojo).await;
    dojo.stop().await;
}

/// tests/dojo_real/comments.rs's assignment scenario against the emulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assignment_both_ways() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dojo = Backend::sim().await;
    comments::assignment_both_ways(&dojo).await;
    dojo.stop().await;
}
