//! System tests against a real DefectDojo (`make test-dojo`): the one named
//! by WSTG_TEST_DOJO_URL / WSTG_TEST_DOJO_TOKEN (a team's staging DefectDojo)
//! or the test kit the target starts (WSTG_TEST_DOJO_KIT: reset and
//! `manage.py shell`). Behind the `dojo-real` feature, so a plain
//! `cargo test --workspace` never needs a server. The same scenarios run
//! against the emulator in tests/dojo_real_sim.rs.
//!
//! Scenarios run one at a time (they share one DefectDojo, and the original
//! design's case-twin tag rows break every other writer); each starts from
//! a reset kit, or, on a staging DefectDojo, from fresh project names.

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
#[path = "dojo_real/webhook.rs"]
mod webhook;

use backend::Backend;

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The DefectDojo under test. These tests are built only with the
/// `dojo-real` feature, which `make test-dojo` turns on after it found a
/// server (or printed why it skips): here a missing server is an error, so
/// a run that was meant to test a real DefectDojo cannot pass without one.
fn real() -> Backend {
    Backend::real_from_env().expect(
        "no real DefectDojo: set WSTG_TEST_DOJO_URL and WSTG_TEST_DOJO_TOKEN, or run `make test-dojo`",
    )
}

macro_rules! on_real_dojo {
    ($($module:ident :: $name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let dojo = real();
            let _one = ONE_AT_A_TIME.lock().await;
            dojo.reset().await;
            $module::$name(&dojo).await;
        }
    )*};
}

on_real_dojo!(
    comments::assignment_both_ways,
    scenarios::five_statuses,
    scenarios::defectdojo_changes_come_back,
    scenarios::notes_both_ways,
    scenarios::deletion,
    scenarios::original_design_leftovers,
    comments::comments_both_ways,
    webhook::setup_webhook_survives_an_ingest_restart,
    projects::mapped_to_existing_engagements,
    evidence::evidence_round_trips,
    vulnerabilities::vulnerabilities_under_an_item,
);
