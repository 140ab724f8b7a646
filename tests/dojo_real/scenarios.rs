//! The scenarios, written once for any [`Backend`]: a real DefectDojo
//! (tests/dojo_real.rs, `make test-dojo`) or the emulator
//! (tests/dojo_real_sim.rs, plain `cargo test`).

use std::collections::BTreeMap;

use serde_json::{json, Value};
use test_support::eventually_async;
use wstg_domain::mapping::{flags_for, status_tag};
use wstg_domain::{Catalogue, CatalogueVersion, Status};

use crate::backend::{Backend, DesignFinding};
use crate::bridge::{fresh_project, Bridge, WAIT};
use crate::common::{flags_of, tags_of};

/// The finding `id` once it carries `status` (flags and status tag); on
/// timeout the panic shows what DefectDojo held last.
async fn finding_shows(dojo: &Backend, id: i64, status: Status) -> Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let f = dojo.finding(id).await;
        if let Some(f) = &f {
            if flags_of(f) == flags_for(status)
                && tags_of(f).iter().any(|t| *t == status_tag(status))
            {
                return f.clone();
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "finding {id} never showed {}: last {:?} tags {:?}",
            status.as_str(),
            f.as_ref().map(flags_of),
            f.as_ref().map(tags_of)
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The WSTG id each finding of a test stands for, with how many findings
/// stand for it.
fn findings_per_item(findings: &[Value]) -> BTreeMap<String, usize> {
    let mut per = BTreeMap::new();
    for f in findings {
        let parsed: dojo_client::Finding = serde_json::from_value(f.clone()).unwrap();
        if let Some(id) = parsed.wstg_id_hint() {
            *per.entry(id).or_insert(0) += 1;
        }
    }
    per
}

/// The five statuses through two workers, each written as its flags and
/// status tag; changing every item again updates the same findings.
pub async fn five_statuses(dojo: &Backend) {
    let b = Bridge::start(dojo, &fresh_project("statuses"), &[]).await;
    let ids = [
        "WSTG-INFO-01",
        "WSTG-INFO-02",
        "WSTG-INFO-03",
        "WSTG-INFO-04",
        "WSTG-INFO-05",
    ];
    for (id, status) in ids.iter().zip(Status::ALL) {
        b.set(id, status, "").await;
    }
    let mut findings = Vec::new();
    for (id, status) in ids.iter().zip(Status::ALL) {
        let (_, fid) = b.linked(id, status).await;
        finding_shows(dojo, fid, status).await;
        findings.push(fid);
    }
    // Every item moves on to the next status.
    for (i, id) in ids.iter().enumerate() {
        b.set(id, Status::ALL[(i + 1) % 5], "").await;
    }
    for (i, (id, fid)) in ids.iter().zip(&findings).enumerate() {
        let status = Status::ALL[(i + 1) % 5];
        let (_, now) = b.linked(id, status).await;
        assert_eq!(now, *fid, "{id} keeps its finding");
        finding_shows(dojo, *fid, status).await;
    }
    b.settle().await;
    let test = dojo.finding(findings[0]).await.unwrap()["test"]
        .as_i64()
        .unwrap();
    let per = findings_per_item(&dojo.test_findings(test).await);
    assert_eq!(per.len(), 5, "{per:?}");
    assert!(per.values().all(|n| *n == 1), "duplicates: {per:?}");
    assert!(b.dead_letters().await.is_empty());
    let (ok, out, err) = b.wstgctl(&["--output", "json", "status"]).await;
    assert!(ok, "wstgctl status: {err}");
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        status["queue"]["live_consumers"], 2,
        "two live workers: {status}"
    );
}

/// What a lead does in DefectDojo comes back to the tracker: a PATCH that
/// closes, the `/close/` action, risk acceptance, false positive, a reopen.
pub async fn defectdojo_changes_come_back(dojo: &Backend) {
    let b = Bridge::start(dojo, &fresh_project("back"), &[]).await;
    let cases = [
        ("WSTG-CONF-01", Status::InProgress),
        ("WSTG-CONF-02", Status::Blocked),
        ("WSTG-CONF-03", Status::InProgress),
        ("WSTG-CONF-04", Status::Blocked),
    ];
    let mut ids = Vec::new();
    for (id, status) in cases {
        b.set(id, status, "").await;
    }
    for (id, status) in cases {
        ids.push(b.linked(id, status).await.1);
    }
    dojo.patch(ids[0], json!({"is_mitigated": true, "active": false}))
        .await;
    b.shows("WSTG-CONF-01", Status::Done).await;
    dojo.close(ids[1]).await;
    b.shows("WSTG-CONF-02", Status::Done).await;
    dojo.enable_risk_acceptance(ids[2]).await;
    dojo.patch(ids[2], json!({"risk_accepted": true, "active": false}))
        .await;
    b.shows("WSTG-CONF-03", Status::Done).await;
    dojo.patch(ids[3], json!({"false_p": true, "verified": false}))
        .await;
    b.shows("WSTG-CONF-04", Status::NotApplicable).await;
    // Reopened in DefectDojo: back to the open status its tag names.
    dojo.patch(ids[0], json!({"active": true, "is_mitigated": false}))
        .await;
    b.shows("WSTG-CONF-01", Status::InProgress).await;
    b.settle().await;
    assert!(b.dead_letters().await.is_empty());
    let audit_ok = b
        .wstgctl(&["--output", "json", "audit", "--limit", "100"])
        .await;
    assert!(audit_ok.0, "{}", audit_ok.2);
    assert!(
        audit_ok.1.contains("dd->tracker"),
        "pulls are audited: {}",
        audit_ok.1
    );
}

/// Tracker notes land in the notes field; notes edited in DefectDojo come
/// back; the next tracker note goes out again.
pub async fn notes_both_ways(dojo: &Backend) {
    let b = Bridge::start(dojo, &fresh_project("notes"), &[]).await;
    b.set("WSTG-IDNT-01", Status::InProgress, "tracker: roles listed")
        .await;
    let (_, fid) = b.linked("WSTG-IDNT-01", Status::InProgress).await;
    eventually_async(WAIT, "tracker notes in DefectDojo", || async {
        (dojo.finding(fid).await?["mitigation"] == "tracker: roles listed").then_some(())
    })
    .await;
    dojo.patch(fid, json!({"mitigation": "lead: confirmed, see ticket 42"}))
        .await;
    eventually_async(WAIT, "DefectDojo notes in the tracker", || async {
        (b.item("WSTG-IDNT-01").await["notes"] == "lead: confirmed, see ticket 42").then_some(())
    })
    .await;
    b.set(
        "WSTG-IDNT-01",
        Status::Blocked,
        "tracker: waiting for accounts",
    )
    .await;
    finding_shows(dojo, fid, Status::Blocked).await;
    eventually_async(WAIT, "the next tracker note in DefectDojo", || async {
        (dojo.finding(fid).await?["mitigation"] == "tracker: waiting for accounts").then_some(())
    })
    .await;
    b.settle().await;
    assert_eq!(b.item("WSTG-IDNT-01").await["status"], "blocked");
}

/// A finding deleted in DefectDojo unlinks the item (status kept); the next
/// tracker change makes a new finding.
pub async fn deletion(dojo: &Backend) {
    let b = Bridge::start(dojo, &fresh_project("delete"), &[]).await;
    b.set("WSTG-ATHN-01", Status::Done, "checked").await;
    let (_, fid) = b.linked("WSTG-ATHN-01", Status::Done).await;
    dojo.delete(fid).await;
    let item = eventually_async(WAIT, "the item unlinked", || async {
        let item = b.item("WSTG-ATHN-01").await;
        item["finding_id"].is_null().then_some(item)
    })
    .await;
    assert_eq!(item["status"], "done", "the tracker keeps its status");
    b.settle().await;
    assert!(dojo.finding(fid).await.is_none(), "nothing re-created it");
    b.set("WSTG-ATHN-01", Status::InProgress, "retest").await;
    let (_, again) = b.linked("WSTG-ATHN-01", Status::InProgress).await;
    assert_ne!(again, fid);
    finding_shows(dojo, again, Status::InProgress).await;
}

/// A DefectDojo where the original design ran: its findings are linked
/// with 0 duplicates, every item syncs, no tracker change is lost to
/// DefectDojo's half-applied 500 on colliding tags, the dead-letter queue
/// holds only what truly cannot be written, and `wstgctl doctor` names the
/// damaged tag rows.
pub async fn original_design_leftovers(dojo: &Backend) {
    if !dojo.can_seed_design() {
        eprintln!(
            "SKIPPED original_design_leftovers: no `manage.py shell` for this DefectDojo \
             (set WSTG_TEST_DOJO_SHELL to a command running it on stdin)"
        );
        return;
    }
    let design = [
        ("WSTG-INFO-01", true, false, false, "note r3 Not Started"),
        ("WSTG-INFO-02", false, true, false, "nginx 1.18 found"),
        ("WSTG-CONF-01", true, false, false, "in progress per design"),
        (
            "WSTG-ATHN-01",
            false,
            false,
            true,
            "not applicable: SSO only",
        ),
        ("WSTG-SESS-01", true, false, false, ""),
    ]
    .map(
        |(wstg_id, active, verified, false_p, notes)| DesignFinding {
            wstg_id,
            active,
            verified,
            false_p,
            notes,
        },
    );
    let seed = dojo.seed_design(&design).await;
    let b = Bridge::start(
        dojo,
        "medical-register",
        &[
            ("WSTG_DOJO_PRODUCT_TYPE", "Medical Register"),
            ("WSTG_DOJO_PRODUCT", "Medical Register App"),
        ],
    )
    .await;

    // wstgctl sync finds the design's untitled test and links its findings.
    let (ok, out, err) = b.wstgctl(&["sync"]).await;
    assert!(ok, "wstgctl sync: {err}");
    assert!(
        out.contains(&format!("linked {}", design.len())),
        "wstgctl sync reports what it linked: {out}"
    );
    for (id, fid) in &seed.findings {
        eventually_async(WAIT, &format!("{id} linked to {fid}"), || async {
            (b.item(id).await["finding_id"] == json!(fid)).then_some(())
        })
        .await;
    }
    b.shows("WSTG-INFO-02", Status::Done).await;
    b.shows("WSTG-ATHN-01", Status::NotApplicable).await;
    // What an operator runs next: doctor names the damaged tag rows.
    let (_, doctor, doctor_err) = b.wstgctl(&["doctor"]).await;
    for row in ["WSTG", "WSTG-INFO-01"] {
        assert!(
            doctor.contains(&format!("'{row}'")),
            "wstgctl doctor names the damaged tag row {row}: {doctor}{doctor_err}"
        );
    }

    // The tester works through the whole checklist, then changes a third
    // of it again (the design's items included) to open statuses.
    let catalogue = Catalogue::get(CatalogueVersion::V4_2);
    let all: Vec<String> = catalogue.entries().iter().map(|e| e.id.clone()).collect();
    let mut last: BTreeMap<String, Status> = BTreeMap::new();
    for (i, id) in all.iter().enumerate() {
        let status = Status::ALL[i % 5];
        b.set(id, status, &format!("round 1 {id}")).await;
        last.insert(id.clone(), status);
    }
    let again: Vec<&String> = all
        .iter()
        .enumerate()
        .filter(|(i, id)| i % 3 == 0 || seed.findings.contains_key(*id))
        .map(|(_, id)| id)
        .collect();
    for (i, id) in again.into_iter().enumerate() {
        let status = [Status::InProgress, Status::Blocked][i % 2];
        b.set(id, status, &format!("round 2 {id}")).await;
        last.insert(id.clone(), status);
    }
    b.settle().await;
    // The poller looks at what our writes left in DefectDojo, twice over.
    b.poller_passes(3).await;
    b.settle().await;

    let items = b.items().await;
    let mut lost = Vec::new();
    let mut unsynced = Vec::new();
    for item in &items {
        let id = item["wstg_id"].as_str().unwrap();
        let want = last[id].as_str();
        if item["status"] != want {
            lost.push(format!("{id}: {want} → {}", item["status"]));
        }
        if item["finding_id"].is_null() || item["sync_state"] != "synced" {
            unsynced.push(format!(
                "{id}: {} {}",
                item["sync_state"], item["last_error"]
            ));
        }
    }
    let per = findings_per_item(&dojo.test_findings(seed.test_id).await);
    let duplicates: Vec<_> = per.iter().filter(|(_, n)| **n > 1).collect();
    let relinked: Vec<_> = seed
        .findings
        .iter()
        .filter(|(id, fid)| {
            items
                .iter()
                .find(|i| i["wstg_id"] == json!(id))
                .is_some_and(|i| i["finding_id"] != json!(fid))
        })
        .collect();
    let dead = b.dead_letters().await;
    eprintln!(
        "original design: {} items; lost {}; duplicates {}; unsynced {}; design findings not linked {}; dead letters {}",
        items.len(),
        lost.len(),
        duplicates.len(),
        unsynced.len(),
        relinked.len(),
        dead.len()
    );
    let mut problems = Vec::new();
    if items.len() != all.len() {
        problems.push(format!("{} items of {}", items.len(), all.len()));
    }
    if !lost.is_empty() {
        problems.push(format!("tracker changes lost: {lost:#?}"));
    }
    if !duplicates.is_empty() {
        problems.push(format!("duplicated findings: {duplicates:?}"));
    }
    if !relinked.is_empty() {
        problems.push(format!("design findings not linked: {relinked:?}"));
    }
    if !unsynced.is_empty() {
        problems.push(format!("items not synced: {unsynced:#?}"));
    }
    // Everything here can be written (without the colliding tag).
    if !dead.is_empty() {
        let reasons: Vec<String> = dead
            .iter()
            .map(|d| {
                let e = &d["envelope"];
                let what = format!("{} {} {}", e["wstg_id"], e["status"], d["error"]);
                what.chars().take(400).collect()
            })
            .collect();
        problems.push(format!("dead letters: {reasons:#?}"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
