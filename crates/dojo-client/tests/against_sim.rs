//! The client against the DefectDojo emulator (`dojo-sim`) over real TCP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use dojo_client::{DojoClient, DojoConfig, DojoError, Finding, NotesField};
use dojo_sim::{RunningSim, SimConfig};
use secrecy::SecretString;
use serde_json::{json, Value};
use url::Url;
use wstg_domain::catalogue::{Catalogue, CatalogueEntry, CatalogueVersion};
use wstg_domain::mapping::{desired_tags, flags_for, plan_patch, status_of, DesiredItem};
use wstg_domain::{Notes, Status, WstgId};

const TOKEN: &str = "test-token";

async fn sim() -> RunningSim {
    test_support::init_test_logging();
    dojo_sim::spawn(SimConfig::new(TOKEN))
        .await
        .expect("the emulator starts")
}

fn base(sim: &RunningSim) -> Url {
    Url::parse(&sim.base_url.to_string()).expect("the emulator's base URL parses")
}

fn config(sim: &RunningSim) -> DojoConfig {
    DojoConfig::new(base(sim), SecretString::from(TOKEN))
}

fn client(sim: &RunningSim) -> DojoClient {
    DojoClient::new(config(sim)).unwrap()
}

fn catalogue() -> &'static Catalogue {
    Catalogue::get(CatalogueVersion::V4_2)
}

fn id(raw: &str) -> WstgId {
    catalogue().parse_id(raw).unwrap()
}

fn entry(id: &WstgId) -> &'static CatalogueEntry {
    catalogue().entry(id).unwrap()
}

/// The `n`th WSTG id of the catalogue.
fn nth_id(n: usize) -> WstgId {
    id(&catalogue().entries()[n].id)
}

/// `/__sim/...` control endpoints.
async fn sim_call(
    sim: &RunningSim,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let url = base(sim).join(path).unwrap();
    let mut req = reqwest::Client::new()
        .request(method, url)
        .header("Authorization", format!("Token {TOKEN}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json::<Value>().await.unwrap_or(Value::Null)
}

async fn stats(sim: &RunningSim) -> Value {
    sim_call(sim, reqwest::Method::GET, "/__sim/stats", None).await
}

async fn writes(sim: &RunningSim) -> u64 {
    stats(sim).await["writes"].as_u64().expect("stats.writes")
}

async fn set_faults(sim: &RunningSim, faults: Value) {
    sim_call(sim, reqwest::Method::PUT, "/__sim/faults", Some(faults)).await;
}

/// A raw API v2 call, bypassing the client (to build findings it would not make).
async fn api(sim: &RunningSim, method: reqwest::Method, path: &str, body: Value) -> Value {
    let url = base(sim).join("api/v2/").unwrap().join(path).unwrap();
    let resp = reqwest::Client::new()
        .request(method, url)
        .header("Authorization", format!("Token {TOKEN}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// A fresh product type / product / engagement / test; returns the test id.
async fn new_test(c: &DojoClient, name: &str) -> i64 {
    let pt = c.ensure_product_type(&format!("{name} PT")).await.unwrap();
    let p = c
        .ensure_product(&format!("{name} App"), pt, "target")
        .await
        .unwrap();
    let e = c.ensure_engagement(p, "WSTG Assessment").await.unwrap();
    let tt = c.ensure_test_type("OWASP WSTG Checklist").await.unwrap();
    c.ensure_test(e, tt, &format!("{name} checklist"))
        .await
        .unwrap()
}

async fn create(
    c: &DojoClient,
    test: i64,
    wstg_id: &WstgId,
    status: Status,
    notes: &str,
) -> Finding {
    c.create_item_finding(
        test,
        entry(wstg_id),
        wstg_id,
        &flags_for(status),
        &desired_tags(&[], wstg_id, status),
        &Notes::parse(notes).unwrap(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn ensure_finds_before_it_creates() {
    let sim = sim().await;
    let c = client(&sim);
    let run = || async {
        let pt = c.ensure_product_type("WSTG Research PT").await.unwrap();
        let p = c
            .ensure_product("WSTG Research App", pt, "Target app")
            .await
            .unwrap();
        let e = c.ensure_engagement(p, "WSTG Assessment").await.unwrap();
        let tt = c.ensure_test_type("OWASP WSTG Checklist").await.unwrap();
        let t = c.ensure_test(e, tt, "WSTG v4.2 checklist").await.unwrap();
        (pt, p, e, tt, t)
    };
    let before = writes(&sim).await;
    let first = run().await;
    let after_first = writes(&sim).await;
    assert_eq!(after_first - before, 5, "one create per level");
    let second = run().await;
    assert_eq!(first, second);
    assert_eq!(
        writes(&sim).await,
        after_first,
        "the second run writes nothing"
    );

    // Exact names: a name that the filter matches as a substring is not it
    // (`name` is icontains on products).
    let pt = first.0;
    let longer = c
        .ensure_product("WSTG Research App 2", pt, "other")
        .await
        .unwrap();
    assert_ne!(longer, first.1);
    let shorter = c
        .ensure_product("WSTG Research", pt, "other")
        .await
        .unwrap();
    assert_ne!(shorter, first.1);
    assert_ne!(shorter, longer);
    assert_eq!(
        c.ensure_product("WSTG Research App", pt, "x")
            .await
            .unwrap(),
        first.1
    );
    // Engagements and tests are scoped to their parent.
    let e2 = c
        .ensure_engagement(longer, "WSTG Assessment")
        .await
        .unwrap();
    assert_ne!(e2, first.2);
    let t2 = c
        .ensure_test(e2, first.3, "WSTG v4.2 checklist")
        .await
        .unwrap();
    assert_ne!(t2, first.4);
    sim.stop().await;
}

#[tokio::test]
async fn every_status_is_created_and_read_back_with_its_flags() {
    let sim = sim().await;
    let c = client(&sim);
    let test = new_test(&c, "create").await;
    for (n, status) in Status::ALL.into_iter().enumerate() {
        let wstg_id = nth_id(n);
        let created = create(&c, test, &wstg_id, status, "tester notes").await;
        let read = c.get_finding(created.id).await.unwrap();
        assert_eq!(read.flags(), flags_for(status), "{status}");
        assert_eq!(status_of(&read.flags(), &read.tags), status);
        assert_eq!(read.test, test);
        assert_eq!(read.unique_id_from_tool.as_deref(), Some(wstg_id.as_str()));
        assert_eq!(read.wstg_id_hint().as_deref(), Some(wstg_id.as_str()));
        assert!(read.tags.contains(&wstg_id.tag()), "{:?}", read.tags);
        assert!(read.tags.iter().all(|t| *t == t.to_ascii_lowercase()));
        assert_eq!(read.notes(NotesField::Mitigation), "tester notes");
        assert_eq!(
            read.references.as_deref(),
            Some(entry(&wstg_id).guide_url.as_str())
        );
        let description = read.description.clone().unwrap_or_default();
        assert!(
            description.contains("OWASP WSTG, CC BY-SA 4.0"),
            "{description}"
        );
        assert!(read
            .title
            .to_ascii_uppercase()
            .starts_with(wstg_id.as_str()));
        let item = read.to_dojo_item(NotesField::Mitigation);
        assert_eq!(item.finding_id, created.id);
        assert_eq!(item.flags, flags_for(status));
    }
    sim.stop().await;
}

#[tokio::test]
async fn every_status_change_is_accepted_as_sent() {
    let sim = sim().await;
    let c = client(&sim);
    let test = new_test(&c, "patch").await;
    let mut n = 0;
    for from in Status::ALL {
        for to in Status::ALL {
            let wstg_id = nth_id(n);
            n += 1;
            let created = create(&c, test, &wstg_id, from, "before").await;
            let current = created.to_dojo_item(NotesField::Mitigation);
            let notes = Notes::parse(format!("{from} -> {to}")).unwrap();
            let patch = plan_patch(
                &current,
                &DesiredItem {
                    assignee: None,
                    wstg_id: &wstg_id,
                    status: to,
                    notes: &notes,
                },
            );
            let after = c.patch_finding(created.id, &patch).await.unwrap();
            assert_eq!(status_of(&after.flags(), &after.tags), to, "{from} -> {to}");
            if patch.changes_status() {
                assert_eq!(
                    after.flags(),
                    flags_for(to),
                    "{from} -> {to}: DefectDojo rewrote what we sent"
                );
            }
            assert_eq!(after.notes(NotesField::Mitigation), notes.as_str());
            // The answer of the PATCH is what a later read sees.
            let read = c.get_finding(created.id).await.unwrap();
            assert_eq!(read.flags(), after.flags());
            assert_eq!(read.tags, after.tags);
        }
    }
    sim.stop().await;
}

#[tokio::test]
async fn notes_go_to_the_configured_field() {
    let sim = sim().await;
    let mut cfg = config(&sim);
    cfg.notes_field = NotesField::StepsToReproduce;
    let c = DojoClient::new(cfg).unwrap();
    let test = new_test(&c, "notes").await;
    let f = create(&c, test, &nth_id(0), Status::InProgress, "step one").await;
    assert_eq!(f.steps_to_reproduce.as_deref(), Some("step one"));
    assert_ne!(f.mitigation.as_deref(), Some("step one"));
    let patch = wstg_domain::mapping::FindingPatch {
        notes: Some("step two".into()),
        ..Default::default()
    };
    let after = c.patch_finding(f.id, &patch).await.unwrap();
    assert_eq!(after.notes(NotesField::StepsToReproduce), "step two");
    sim.stop().await;
}

/// The minimal body DefectDojo accepts, for findings the client would not make.
fn raw_finding(test: i64, title: &str) -> Value {
    json!({
        "test": test, "found_by": [], "title": title, "severity": "Info",
        "numerical_severity": "S4", "description": "made by hand",
        "active": true, "verified": false,
    })
}

#[tokio::test]
async fn items_are_found_by_unique_id_or_tag_never_by_title() {
    let sim = sim().await;
    let c = client(&sim);
    let test = new_test(&c, "find").await;
    let other_test = new_test(&c, "find-other").await;
    let post = reqwest::Method::POST;

    // By unique id.
    let info01 = id("WSTG-INFO-01");
    let made = create(&c, test, &info01, Status::NotStarted, "").await;
    let found = c.find_item_finding(test, &info01).await.unwrap().unwrap();
    assert_eq!(found.id, made.id);

    // By the lowercase id tag (no unique id).
    let info02 = id("WSTG-INFO-02");
    let mut body = raw_finding(test, "Hand made");
    body["tags"] = json!(["wstg", "wstg-info-02"]);
    let tagged = api(&sim, post.clone(), "findings/", body).await;
    let found = c.find_item_finding(test, &info02).await.unwrap().unwrap();
    assert_eq!(found.id, tagged["id"].as_i64().unwrap());

    // By title: never.
    let info03 = id("WSTG-INFO-03");
    api(
        &sim,
        post.clone(),
        "findings/",
        raw_finding(test, "WSTG-INFO-03 Review Webserver Metafiles"),
    )
    .await;
    assert!(c.find_item_finding(test, &info03).await.unwrap().is_none());

    // The unique id filter is icontains: a longer id is not this one.
    let info04 = id("WSTG-INFO-04");
    let mut body = raw_finding(test, "Other tool");
    body["unique_id_from_tool"] = json!("X-WSTG-INFO-04-Y");
    api(&sim, post.clone(), "findings/", body).await;
    assert!(c.find_item_finding(test, &info04).await.unwrap().is_none());

    // Another test's finding is not this test's.
    let info05 = id("WSTG-INFO-05");
    create(&c, other_test, &info05, Status::NotStarted, "").await;
    assert!(c.find_item_finding(test, &info05).await.unwrap().is_none());
    assert!(c
        .find_item_finding(other_test, &info05)
        .await
        .unwrap()
        .is_some());

    // An upper-case id tag (as the original design wrote them; a PATCH keeps
    // the case of a new tag name, docs/defectdojo.md §2) is still found.
    let info06 = id("WSTG-INFO-06");
    let f = api(
        &sim,
        post.clone(),
        "findings/",
        raw_finding(test, "Design made"),
    )
    .await;
    let fid = f["id"].as_i64().unwrap();
    api(
        &sim,
        reqwest::Method::PATCH,
        &format!("findings/{fid}/"),
        json!({"tags": ["WSTG", "WSTG-INFO-06"]}),
    )
    .await;
    let found = c.find_item_finding(test, &info06).await.unwrap().unwrap();
    assert_eq!(found.id, fid);
    assert_eq!(found.wstg_id_hint().as_deref(), Some("WSTG-INFO-06"));
    sim.stop().await;
}

#[tokio::test]
async fn listing_a_test_follows_next_links() {
    let sim = sim().await;
    let mut cfg = config(&sim);
    cfg.page_size = 2;
    let c = DojoClient::new(cfg).unwrap();
    let test = new_test(&c, "list").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            create(&c, test, &nth_id(n), Status::NotStarted, "")
                .await
                .id,
        );
    }
    // Another test's findings are not listed.
    let other = new_test(&c, "list-other").await;
    create(&c, other, &nth_id(0), Status::NotStarted, "").await;

    let before = stats(&sim).await["requests"].as_u64().unwrap();
    let page = c.list_test_findings(test).await.unwrap();
    let after = stats(&sim).await["requests"].as_u64().unwrap();
    assert_eq!(page.requests, 3);
    // The stats call itself may or may not be counted; the list is 3 requests.
    assert!((3..=4).contains(&(after - before)), "{before} -> {after}");
    assert_eq!(page.count, Some(5));
    let mut got: Vec<i64> = page.findings.iter().map(|f| f.id).collect();
    got.sort_unstable();
    ids.sort_unstable();
    assert_eq!(got, ids);
    assert!(page.findings.iter().all(|f| f.test == test));

    // With the default page size it is one request.
    let page = client(&sim).list_test_findings(test).await.unwrap();
    assert_eq!((page.requests, page.findings.len()), (1, 5));
    sim.stop().await;
}

#[tokio::test]
async fn close_and_delete() {
    let sim = sim().await;
    let c = client(&sim);
    let test = new_test(&c, "close").await;
    let f = create(&c, test, &nth_id(0), Status::InProgress, "").await;
    c.close_finding(f.id).await.unwrap();
    let read = c.get_finding(f.id).await.unwrap();
    assert!(!read.active && read.is_mitigated, "{read:?}");
    assert_eq!(status_of(&read.flags(), &read.tags), Status::Done);
    c.delete_finding(f.id).await.unwrap();
    assert!(matches!(
        c.get_finding(f.id).await,
        Err(DojoError::NotFound { .. })
    ));
    sim.stop().await;
}

#[tokio::test]
async fn a_bad_token_is_unauthorized_and_never_shown() {
    let sim = sim().await;
    let secret = "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed";
    let c = DojoClient::new(DojoConfig::new(base(&sim), SecretString::from(secret))).unwrap();
    let err = c.get_finding(1).await.unwrap_err();
    assert!(matches!(err, DojoError::Unauthorized), "{err:?}");
    assert!(!err.is_retryable());
    for shown in [err.to_string(), format!("{err:?}"), format!("{c:?}")] {
        assert!(!shown.contains(secret), "{shown}");
        assert!(!shown.contains(TOKEN), "{shown}");
    }
    let err = c.ensure_product_type("x").await.unwrap_err();
    assert!(matches!(err, DojoError::Unauthorized), "{err:?}");
    sim.stop().await;
}

#[tokio::test]
async fn missing_findings_are_not_found() {
    let sim = sim().await;
    let c = client(&sim);
    let err = c.get_finding(999_999).await.unwrap_err();
    match &err {
        DojoError::NotFound { what } => assert!(what.contains("findings/999999/"), "{what}"),
        other => panic!("{other:?}"),
    }
    assert!(!err.is_retryable());
    let patch = wstg_domain::mapping::FindingPatch {
        active: Some(false),
        ..Default::default()
    };
    assert!(matches!(
        c.patch_finding(999_999, &patch).await,
        Err(DojoError::NotFound { .. })
    ));
    sim.stop().await;
}

#[tokio::test]
async fn an_invalid_tag_is_a_permanent_error_with_the_field_message() {
    let sim = sim().await;
    let c = client(&sim);
    let test = new_test(&c, "bad-tag").await;
    let wstg_id = nth_id(0);
    let err = c
        .create_item_finding(
            test,
            entry(&wstg_id),
            &wstg_id,
            &flags_for(Status::NotStarted),
            &["wstg info".to_owned()],
            &Notes::default(),
        )
        .await
        .unwrap_err();
    match &err {
        DojoError::Permanent {
            status: 400,
            message,
            body,
        } => {
            assert!(message.starts_with("tags: "), "{message}");
            assert!(message.contains("should not contain spaces"), "{message}");
            assert!(!message.contains("Pro comes"), "{message}");
            assert!(body.get("tags").is_some(), "{body}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_retryable());
    sim.stop().await;
}

#[tokio::test]
async fn server_errors_are_transient() {
    let sim = sim().await;
    let c = client(&sim);
    set_faults(&sim, json!({"error_rate": 1.0, "error_status": 500})).await;
    let err = c.get_finding(1).await.unwrap_err();
    assert!(
        matches!(
            err,
            DojoError::Transient {
                status: Some(500),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    set_faults(&sim, json!({"error_rate": 1.0, "error_status": 503})).await;
    let err = c.list_test_findings(1).await.unwrap_err();
    assert!(
        matches!(
            err,
            DojoError::Transient {
                status: Some(503),
                ..
            }
        ),
        "{err:?}"
    );
    sim.stop().await;
}

#[tokio::test]
async fn throttling_is_transient_with_retry_after() {
    let sim = sim().await;
    let c = client(&sim);
    set_faults(&sim, json!({"rate_429": 1.0, "retry_after_secs": 7})).await;
    let err = c.ensure_test_type("x").await.unwrap_err();
    assert!(
        matches!(
            err,
            DojoError::Transient {
                status: Some(429),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    sim.stop().await;
}

#[tokio::test]
async fn a_slow_server_is_a_transient_timeout() {
    let sim = sim().await;
    let mut cfg = config(&sim);
    cfg.timeout = Duration::from_millis(300);
    let c = DojoClient::new(cfg).unwrap();
    sim_call(
        &sim,
        reqwest::Method::PUT,
        "/__sim/latency",
        Some(json!({"ms": 2000})),
    )
    .await;
    let started = std::time::Instant::now();
    let err = c.get_finding(1).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(err, DojoError::Transient { status: None, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(err.outcome_unknown(), "sent, no answer: {err:?}");
    assert!(err.to_string().contains("no answer within 300 ms"), "{err}");
    sim.stop().await;
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = DojoClient::new(DojoConfig::new(
        Url::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
        SecretString::from(TOKEN),
    ))
    .unwrap();
    let err = c.get_finding(1).await.unwrap_err();
    assert!(
        matches!(err, DojoError::Transient { status: None, .. }),
        "{err:?}"
    );
    assert!(err.never_sent() && !err.outcome_unknown(), "{err:?}");
    assert!(!err.to_string().contains(TOKEN));
}

/// A finding written the way the original design wrote them (through the
/// ORM: upper-case tag rows, no unique id, "<ID>: <title>"), docs/defectdojo.md §7.
async fn seed_design_finding(sim: &RunningSim, test: i64, wstg_id: &str, title: &str) -> i64 {
    let body = json!({
        "test": test,
        "title": format!("{wstg_id}: {title}"),
        "description": format!("Security test for {wstg_id}"),
        "severity": "Medium",
        "active": true,
        "verified": false,
        "mitigation": "design notes",
        "tags": ["WSTG", wstg_id],
    });
    let seeded = sim_call(sim, reqwest::Method::POST, "/__sim/findings", Some(body)).await;
    seeded["id"].as_i64().expect("seeded finding id")
}

#[tokio::test]
async fn findings_of_the_original_design_are_found_and_hinted() {
    let sim = sim().await;
    let c = client(&sim);
    let test = new_test(&c, "design").await;
    let fid = seed_design_finding(&sim, test, "WSTG-INFO-02", "Fingerprint Web Server").await;
    let found = c
        .find_item_finding(test, &id("WSTG-INFO-02"))
        .await
        .unwrap()
        .expect("found by its exact-case id tag");
    assert_eq!(found.id, fid);
    assert_eq!(found.unique_id_from_tool.as_deref().unwrap_or(""), "");
    assert_eq!(found.notes(NotesField::Mitigation), "design notes");
    assert_eq!(found.wstg_id_hint().as_deref(), Some("WSTG-INFO-02"));
    // Linking by listing: every design finding carries a hint.
    let page = c.list_test_findings(test).await.unwrap();
    let hints: Vec<_> = page.findings.iter().map(Finding::wstg_id_hint).collect();
    assert_eq!(hints, vec![Some("WSTG-INFO-02".to_owned())]);
    sim.stop().await;
}

#[tokio::test]
async fn a_tag_with_a_case_twin_is_a_permanent_500() {
    let sim = sim().await;
    let c = client(&sim);
    let test = new_test(&c, "twin").await;
    // "wstg" from an API-created finding, "WSTG" from the design.
    let ours = create(&c, test, &id("WSTG-INFO-01"), Status::NotStarted, "").await;
    seed_design_finding(&sim, test, "WSTG-INFO-02", "Fingerprint Web Server").await;

    let before = writes(&sim).await;
    let wstg_id = id("WSTG-INFO-03");
    let err = c
        .create_item_finding(
            test,
            entry(&wstg_id),
            &wstg_id,
            &flags_for(Status::NotStarted),
            &desired_tags(&[], &wstg_id, Status::NotStarted),
            &Notes::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, DojoError::Permanent { status: 500, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    // A PATCH that sends the twin-colliding name as a new tag fails the same way.
    let patch = wstg_domain::mapping::FindingPatch {
        tags: Some(vec!["WSTG".into(), "wstg-info-01".into()]),
        ..Default::default()
    };
    let other = create_without_bridge_tag(&c, test).await;
    let err = c.patch_finding(other, &patch).await.unwrap_err();
    assert!(
        matches!(err, DojoError::Permanent { status: 500, .. }),
        "{err:?}"
    );
    // Tags already on the finding are not looked up again: our own finding
    // can still be patched with its tags as they are.
    let keep = wstg_domain::mapping::FindingPatch {
        tags: Some(ours.tags.clone()),
        notes: Some("still writable".into()),
        ..Default::default()
    };
    let after = c.patch_finding(ours.id, &keep).await.unwrap();
    assert_eq!(after.notes(NotesField::Mitigation), "still writable");
    assert!(writes(&sim).await > before);
    sim.stop().await;
}

/// A finding with only a non-colliding tag.
async fn create_without_bridge_tag(c: &DojoClient, test: i64) -> i64 {
    let wstg_id = id("WSTG-INFO-04");
    c.create_item_finding(
        test,
        entry(&wstg_id),
        &wstg_id,
        &flags_for(Status::NotStarted),
        &[wstg_id.tag()],
        &Notes::default(),
    )
    .await
    .unwrap()
    .id
}
