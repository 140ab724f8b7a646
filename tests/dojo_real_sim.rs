//! The real-DefectDojo scenarios (tests/dojo_real/scenarios.rs) against the
//! emulator: they run in every `cargo test`. The original design's leftovers
//! are seeded through `/__sim/findings` and `/__sim/tag-rows`.

#[allow(dead_code)]
#[path = "dojo_real/backend.rs"]
mod backend;
#[allow(dead_code)]
#[path = "dojo_real/bridge.rs"]
mod bridge;
mod common;
#[path = "dojo_real/scenarios.rs"]
mod scenarios;

use backend::Backend;

macro_rules! on_sim {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let dojo = Backend::sim().await;
            scenarios::$name(&dojo).await;
            dojo.stop().await;
        }
    )*};
}

on_sim!(
    five_statuses,
    defectdojo_changes_come_back,
    notes_both_ways,
    deletion,
    original_design_leftovers,
);
