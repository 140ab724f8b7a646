//! Contract tests: replay every request/response pair recorded against the real DefectDojo
//! 3.2.0 (tests/fixtures/recorded; docs/defectdojo.md says what each behaviour is) in recording
//! order against a fresh simulator over real HTTP, and compare the answers.
//!
//! Two later sequences, each recorded from a freshly reset instance by
//! tests/fixtures/record_real.py, are replayed by their own tests below:
//! `recorded/design-leftovers` (the original design's case-twin tag rows, the 500 on POST and
//! the non-atomic 500 on PATCH) and `recorded/webhook-lifecycle` (system settings,
//! notifications, notification webhooks and their delivery and death).
//!
//! The recording was made against one fresh instance, so replaying in order rebuilds the same
//! state and the same ids; the API webhook triggers (recorded/webhooks/trigger-A*.json), sent
//! to the same instance afterwards, are replayed after it. Where the recording cannot be
//! replayed verbatim, the adjustment is explicit below (bad token, the time watermark, the
//! findings created off the record).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use dojo_sim::{SimConfig, WebhookTarget};
use reqwest::Method;
use serde_json::{json, Value};
use support::{eventually, into_resp, Resp, TOKEN};

/// Steps that are not replayed, with the reason. None of the main recording; only webhook
/// triggers outside the emulated API.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "trigger-A10-import-scan",
        "multipart import-scan is outside the emulated API subset",
    ),
    (
        "trigger-A11-reimport-scan",
        "multipart reimport-scan is outside the emulated API subset",
    ),
    (
        "trigger-P1-ui-edit-webhook-ping",
        "UI form post, not API v2",
    ),
    ("trigger-U1-ui-finding-close", "UI form post, not API v2"),
    ("trigger-U2-ui-finding-reopen", "UI form post, not API v2"),
    (
        "trigger-U3-ui-finding-request-review",
        "UI form post, not API v2",
    ),
    ("trigger-U4-ui-finding-delete", "UI form post, not API v2"),
];

/// Request/response pairs of the main recording (bench-*.json are latency measurements and
/// seed-design-*.json a finding dump, not pairs).
fn is_pair_file(name: &str) -> bool {
    name.ends_with(".json") && !name.starts_with("bench-") && !name.starts_with("seed-design-")
}

/// Steps whose (redacted) `Token <token>` header held a deliberately wrong key: the recorded
/// answer is "Invalid token." (INDEX.md: "invalid token -> 403").
const BAD_TOKEN_STEPS: &[&str] = &["03-auth-bad-token"];

/// Steps 85-88 and 93 filter on a timestamp the recorder took between steps 83 and 84
/// ("patch-change-after-watermark"). The replay takes its own watermark at the same point and
/// substitutes it.
const RECORDED_WATERMARK: &str = "2026-11-22T06:17:33.806564Z";
const WATERMARK_BEFORE_STEP: &str = "84-patch-change-after-watermark";

/// Findings 4-7 (WSTG-INFO-03..06) were created between steps 70 and 71 without a recorded
/// pair: step 71 answers id 8, and they appear in every later list (e.g. step 99) and in the
/// webhook log (raw/0008-0011 `finding_added`). They are re-created here with the bodies the
/// recorder evidently used (the pattern of step 70, values as listed by step 99).
const GAP_BEFORE_STEP: &str = "71-create-finding-tags-lowercase";

fn gap_fill_bodies() -> Vec<(u64, Value)> {
    (3..=6)
        .map(|n| {
            let id = format!("WSTG-INFO-{n:02}");
            (
                n + 1,
                json!({
                    "test": 1, "found_by": [], "severity": "Info", "numerical_severity": "S4",
                    "active": true, "verified": false,
                    "title": format!("{id} checklist item"),
                    "description": format!("Checklist item {id}"),
                    "tags": ["WSTG", id], "unique_id_from_tool": id,
                }),
            )
        })
        .collect()
}

/// Timestamp-like keys: their values differ between recording and replay, so only their
/// null-ness is compared (plus, for findings, whether they changed since the previous
/// observation of the same finding, see [`BumpTracker`]).
const VOLATILE: &[&str] = &[
    "created",
    "updated",
    "last_status_update",
    "mitigated",
    "last_reviewed",
    "date_joined",
    "edit_time",
    "time",
    "date",
    "sla_expiration_date",
    "first_error",
    "last_error",
];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recorded")
}

struct Step {
    name: String,
    sort_key: (u32, String),
    request: Value,
    response: Value,
}

/// `01`, `09b`, `100` -> (1, ""), (9, "b"), (100, "").
fn sort_key(name: &str) -> (u32, String) {
    let prefix: String = name.chars().take_while(|c| *c != '-').collect();
    let digits: String = prefix.chars().take_while(char::is_ascii_digit).collect();
    let suffix: String = prefix.chars().skip_while(char::is_ascii_digit).collect();
    (digits.parse().unwrap_or(u32::MAX), suffix)
}

/// The recording (`NN-*.json`), then the webhook-trigger pairs the recorder sent to the same
/// instance right after it (`webhooks/trigger-A1..A11`, in that order; the UI triggers that
/// follow are listed in [`UNSUPPORTED`]).
fn load_steps() -> Vec<Step> {
    let mut steps = load_dir(&fixtures_dir(), is_pair_file);
    let mut triggers = load_dir(&fixtures_dir().join("webhooks"), |name| {
        name.starts_with("trigger-") && name.ends_with(".json")
    });
    // trigger-A1 .. trigger-A11, then P1, U1 .. U4
    triggers.sort_by_key(|s| {
        let tag: String = s
            .name
            .trim_start_matches("trigger-")
            .chars()
            .take_while(|c| *c != '-')
            .collect();
        let rank = match tag.chars().next() {
            Some('A') => 0,
            Some('P') => 1,
            _ => 2,
        };
        let number: u32 = tag
            .get(1..)
            .and_then(|n| n.parse().ok())
            .unwrap_or(u32::MAX);
        (rank, number)
    });
    steps.extend(triggers);
    steps
}

fn load_dir(dir: &Path, keep: fn(&str) -> bool) -> Vec<Step> {
    let mut steps: Vec<Step> = std::fs::read_dir(dir)
        .expect("fixtures directory exists")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            keep(&file).then_some((file, e.path()))
        })
        .map(|(file, path)| {
            let text = std::fs::read_to_string(&path).expect("fixture readable");
            let v: Value = serde_json::from_str(&text).expect("fixture is JSON");
            let name = file.trim_end_matches(".json").to_string();
            assert_eq!(
                v["step"].as_str(),
                Some(name.as_str()),
                "step name of {file}"
            );
            Step {
                sort_key: sort_key(&name),
                name,
                request: v["request"].clone(),
                response: v["response"].clone(),
            }
        })
        .collect();
    steps.sort_by(|a, b| a.sort_key.cmp(&b.sort_key));
    steps
}

/// Replays recorded requests against one simulator, substituting what must be substituted.
struct Replayer {
    client: reqwest::Client,
    base: String,
    watermark: Option<String>,
}

impl Replayer {
    fn new(base: &str) -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client builds"),
            base: base.to_string(),
            watermark: None,
        }
    }

    /// `{DD_URL}` and the watermark, in URLs and recorded bodies alike.
    fn substitute(&self, text: &str) -> String {
        let mut out = text.replace("{DD_URL}", &self.base);
        if let Some(mark) = &self.watermark {
            out = out.replace(RECORDED_WATERMARK, mark).replace(
                &RECORDED_WATERMARK.replace(':', "%3A"),
                &mark.replace(':', "%3A"),
            );
        }
        out
    }

    async fn send(&self, step: &str, request: &Value) -> Resp {
        let method = Method::from_bytes(request["method"].as_str().unwrap_or("GET").as_bytes())
            .expect("recorded method");
        let url = self.substitute(request["url"].as_str().expect("recorded url"));
        let mut req = self.client.request(method, url);
        if let Some(headers) = request["headers"].as_object() {
            for (name, value) in headers {
                let mut value = value.as_str().unwrap_or_default().to_string();
                if name.eq_ignore_ascii_case("authorization") {
                    let key = if BAD_TOKEN_STEPS.contains(&step) {
                        "not-the-configured-token"
                    } else {
                        TOKEN
                    };
                    value = value.replace("<token>", key);
                }
                req = req.header(name.as_str(), value);
            }
        }
        req = match &request["body"] {
            Value::Null => req,
            // recorded verbatim as text (step 54: malformed JSON)
            Value::String(raw) => req.body(raw.clone()),
            body => req.body(serde_json::to_vec(body).expect("serializable")),
        };
        into_resp(req.send().await.expect("simulator answers")).await
    }

    async fn take_watermark(&mut self) {
        // the simulator and this process share the clock; make sure writes after this point
        // land strictly later than the watermark
        tokio::time::sleep(Duration::from_millis(2)).await;
        let now = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string();
        tokio::time::sleep(Duration::from_millis(2)).await;
        self.watermark = Some(now);
    }

    /// Replays every supported step; `on_step` sees each recorded/actual pair.
    async fn replay(&mut self, mut on_step: impl FnMut(&Step, &Resp, &Replayer)) -> Vec<String> {
        let mut replayed = Vec::new();
        for step in load_steps() {
            if UNSUPPORTED.iter().any(|(name, _)| *name == step.name) {
                continue;
            }
            if step.name == WATERMARK_BEFORE_STEP {
                self.take_watermark().await;
            }
            if step.name == GAP_BEFORE_STEP {
                for (want_id, body) in gap_fill_bodies() {
                    let filler = json!({
                        "method": "POST", "url": "{DD_URL}/api/v2/findings/",
                        "headers": {"Authorization": "Token <token>",
                                    "Content-Type": "application/json"},
                        "body": body,
                    });
                    let res = self.send("gap-fill", &filler).await;
                    assert_eq!(res.status, 201, "gap fill: {:?}", res.body);
                    assert_eq!(res.body["id"], json!(want_id), "gap fill id");
                }
            }
            let res = self.send(&step.name, &step.request).await;
            on_step(&step, &res, self);
            replayed.push(step.name);
        }
        replayed
    }
}

/// Remembers, per finding id, the last recorded and replayed value of each timestamp so that
/// "was it bumped by this step?" can be compared even though the values differ.
#[derive(Default)]
struct BumpTracker {
    seen: BTreeMap<(u64, &'static str), (Value, Value)>,
}

impl BumpTracker {
    fn observe(&mut self, path: &str, recorded: &Value, actual: &Value, errors: &mut Vec<String>) {
        let Some(id) = recorded.get("id").and_then(Value::as_u64) else {
            return;
        };
        for key in [
            "last_status_update",
            "updated",
            "mitigated",
            "last_reviewed",
        ] {
            let (Some(rec), Some(act)) = (recorded.get(key), actual.get(key)) else {
                continue;
            };
            if let Some((prev_rec, prev_act)) = self.seen.get(&(id, key)) {
                let rec_changed = prev_rec != rec;
                let act_changed = prev_act != act;
                if rec_changed != act_changed {
                    errors.push(format!(
                        "{path}.{key}: finding {id} {} in the recording but {} in the replay",
                        if rec_changed {
                            "changed"
                        } else {
                            "did not change"
                        },
                        if act_changed {
                            "changed"
                        } else {
                            "did not change"
                        },
                    ));
                }
            }
            self.seen.insert((id, key), (rec.clone(), act.clone()));
        }
    }
}

fn is_finding(v: &Value) -> bool {
    v.get("numerical_severity").is_some() && v.get("id").is_some()
}

/// Deep comparison of a recorded body with the replayed one.
fn compare(
    path: &str,
    recorded: &Value,
    actual: &Value,
    subst: &dyn Fn(&str) -> String,
    bumps: &mut BumpTracker,
    errors: &mut Vec<String>,
) {
    match (recorded, actual) {
        (Value::Object(r), Value::Object(a)) => {
            if is_finding(recorded) {
                bumps.observe(path, recorded, actual, errors);
            }
            let rk: BTreeSet<&String> = r.keys().collect();
            let ak: BTreeSet<&String> = a.keys().collect();
            for missing in rk.difference(&ak) {
                errors.push(format!("{path}: missing key {missing:?}"));
            }
            for extra in ak.difference(&rk) {
                errors.push(format!("{path}: unexpected key {extra:?}"));
            }
            for (key, rv) in r {
                let Some(av) = a.get(key) else { continue };
                let sub = format!("{path}.{key}");
                if VOLATILE.contains(&key.as_str()) && !rv.is_object() {
                    if rv.is_null() != av.is_null() {
                        errors.push(format!("{sub}: recorded {rv}, got {av} (null-ness)"));
                    }
                } else if key == "tags" && rv.is_array() {
                    let sorted = |v: &Value| {
                        let mut t: Vec<String> = v
                            .as_array()
                            .map(|a| a.iter().map(|x| x.to_string()).collect())
                            .unwrap_or_default();
                        t.sort();
                        t
                    };
                    if sorted(rv) != sorted(av) {
                        errors.push(format!("{sub}: recorded {rv}, got {av}"));
                    }
                } else {
                    compare(&sub, rv, av, subst, bumps, errors);
                }
            }
        }
        (Value::Array(r), Value::Array(a)) => {
            if r.len() != a.len() {
                errors.push(format!(
                    "{path}: recorded {} items, got {}",
                    r.len(),
                    a.len()
                ));
                return;
            }
            for (i, (rv, av)) in r.iter().zip(a).enumerate() {
                compare(&format!("{path}[{i}]"), rv, av, subst, bumps, errors);
            }
        }
        (Value::String(r), Value::String(a)) => {
            let want = if r == "<token>" {
                TOKEN.to_string()
            } else {
                subst(r)
            };
            if &want != a {
                errors.push(format!("{path}: recorded {want:?}, got {a:?}"));
            }
        }
        (r, a) => {
            if r != a {
                errors.push(format!("{path}: recorded {r}, got {a}"));
            }
        }
    }
}

#[tokio::test]
async fn every_recorded_pair_replays_identically() {
    let sim = support::start().await;
    let mut replayer = Replayer::new(&sim.running.base_url);
    let mut bumps = BumpTracker::default();
    let mut failures: Vec<String> = Vec::new();
    let replayed = replayer
        .replay(|step, res, replayer| {
            let mut errors = Vec::new();
            let want_status = step.response["status"].as_u64().unwrap_or_default();
            if u64::from(res.status.as_u16()) != want_status {
                errors.push(format!(
                    "status: recorded {want_status}, got {}",
                    res.status
                ));
            }
            let subst = |s: &str| replayer.substitute(s);
            compare(
                "body",
                &step.response["body"],
                &res.body,
                &subst,
                &mut bumps,
                &mut errors,
            );
            failures.extend(errors.into_iter().map(|e| format!("{}: {e}", step.name)));
        })
        .await;

    let expected = load_steps().len() - UNSUPPORTED.len();
    assert_eq!(replayed.len(), expected, "every supported step is replayed");
    let main = replayed
        .iter()
        .filter(|n| !n.starts_with("trigger-"))
        .count();
    assert_eq!(main, 114, "every pair of the main recording is replayed");
    assert_eq!(
        replayed.len() - main,
        9,
        "webhook triggers A1-A9 are replayed"
    );
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
    sim.running.stop().await;
}

/// The comparison must be able to fail: differing values, keys, lengths and bump behaviour
/// are all reported.
#[test]
fn comparison_reports_differences() {
    let subst = |s: &str| s.to_string();
    let run = |rec: Value, act: Value| {
        let mut errors = Vec::new();
        compare(
            "body",
            &rec,
            &act,
            &subst,
            &mut BumpTracker::default(),
            &mut errors,
        );
        errors
    };
    assert!(run(json!({"a": 1}), json!({"a": 1})).is_empty());
    assert_eq!(run(json!({"a": 1}), json!({"a": 2})).len(), 1);
    assert_eq!(run(json!({"a": 1}), json!({"b": 1})).len(), 2);
    assert_eq!(run(json!([1, 2]), json!([1])).len(), 1);
    assert!(run(json!({"tags": ["a", "B"]}), json!({"tags": ["B", "a"]})).is_empty());
    assert_eq!(run(json!({"tags": ["a"]}), json!({"tags": ["A"]})).len(), 1);
    assert!(run(json!({"updated": "x"}), json!({"updated": "y"})).is_empty());
    assert_eq!(
        run(json!({"mitigated": "x"}), json!({"mitigated": null})).len(),
        1
    );

    let mut bumps = BumpTracker::default();
    let mut errors = Vec::new();
    let finding =
        |lsu: &str| json!({"id": 1, "numerical_severity": "S2", "last_status_update": lsu});
    compare(
        "b",
        &finding("r1"),
        &finding("a1"),
        &subst,
        &mut bumps,
        &mut errors,
    );
    compare(
        "b",
        &finding("r1"),
        &finding("a2"),
        &subst,
        &mut bumps,
        &mut errors,
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
}

#[test]
fn steps_are_ordered_like_the_recording() {
    let names: Vec<String> = load_steps().into_iter().map(|s| s.name).collect();
    let pos = |n: &str| names.iter().position(|x| x == n).unwrap_or(usize::MAX);
    assert_eq!(pos("01-auth-token-obtain"), 0);
    assert!(pos("09-product-create-400-empty") < pos("09b-product-create-400-only-prod_type"));
    assert!(pos("09b-product-create-400-only-prod_type") < pos("10-product-create"));
    assert!(pos("99-list-pagination-limit-huge") < pos("100-list-test-plus-prefetch-test"));
    let last_main = names.iter().rposition(|n| !n.starts_with("trigger-"));
    assert_eq!(
        last_main.map(|i| names[i].as_str()),
        Some("111-list-test-and-tags-after-lowercase-fix")
    );
    assert!(pos("trigger-A9-finding-delete") < pos("trigger-A10-import-scan"));
    assert!(pos("trigger-A2-engagement-reopen") < pos("trigger-A3-test-create"));
}

/// A captured webhook request.
#[derive(Clone, Debug)]
struct Delivery {
    path: String,
    headers: BTreeMap<String, String>,
    body: String,
}

type Deliveries = std::sync::Arc<std::sync::Mutex<Vec<Delivery>>>;

async fn capture(req: HttpRequest, body: web::Bytes, store: web::Data<Deliveries>) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                v.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    store.lock().expect("store lock").push(Delivery {
        path: req.path().to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    HttpResponse::Ok().finish()
}

/// Replays the recording with a webhook configured and compares the deliveries with the ones
/// the real server made to its system webhook during the same actions
/// (recorded/webhooks/raw/0001-0029, path "/hook"): the same events, in the same order, with
/// byte-identical bodies and DefectDojo's headers.
#[tokio::test]
async fn webhooks_fire_like_the_recorded_instance() {
    let store: Deliveries = Default::default();
    let data = web::Data::new(store.clone());
    let receiver = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(capture))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .expect("receiver binds");
    let receiver_addr = receiver.addrs()[0];
    let receiver = receiver.run();
    let receiver_handle = receiver.handle();
    tokio::spawn(receiver);

    let mut config = SimConfig::new(TOKEN);
    config.webhook = Some(WebhookTarget {
        url: format!("http://{receiver_addr}/hook"),
        header_name: "Authorization".into(),
        header_value: "Bearer wstg-sync-shared-secret".into(),
    });
    let sim = support::start_with(config).await;
    let mut replayer = Replayer::new(&sim.running.base_url);
    replayer.replay(|_, _, _| {}).await;

    // Deliveries are sequential: once a sentinel event arrives, everything before it has.
    let sentinel = sim
        .api
        .post("/api/v2/product_types/", &json!({"name": "sentinel"}))
        .await;
    assert_eq!(sentinel.status, 201);
    let deliveries: Vec<Delivery> = eventually(Duration::from_secs(10), "sentinel webhook", || {
        let store = store.clone();
        async move {
            let d = store.lock().expect("store lock").clone();
            d.iter().any(|x| x.body.contains("sentinel")).then_some(d)
        }
    })
    .await;
    let deliveries = &deliveries[..deliveries.len() - 1];

    let raw_dir = fixtures_dir().join("webhooks/raw");
    let mut expected: Vec<(String, Value)> = std::fs::read_dir(&raw_dir)
        .expect("raw webhook fixtures")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        // up to the events of trigger-A9; 0031+ are import-scan and UI actions
        .filter(|n| n.as_str() < "0030")
        .map(|n| {
            let text = std::fs::read_to_string(raw_dir.join(&n)).expect("readable");
            (n, serde_json::from_str::<Value>(&text).expect("JSON"))
        })
        // the system webhook; "/hook-admin-owned" is a user-owned one the simulator lacks
        .filter(|(_, raw)| raw["path"] == "/hook")
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    // 0001-0013 (main recording), 0015 engagement_closed, 0018 engagement_reopened,
    // 0025 finding_closed (trigger-A7); A3-A6, A8, A9 notify nobody on the system webhook
    assert_eq!(expected.len(), 16);

    let site = &sim.running.base_url;
    let got: Vec<String> = deliveries
        .iter()
        .map(|d| {
            d.headers
                .get("x-defectdojo-event")
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let want: Vec<String> = expected
        .iter()
        .map(|(_, raw)| {
            raw["headers"]["X-DefectDojo-Event"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(got, want, "event sequence");

    for (delivery, (file, raw)) in deliveries.iter().zip(&expected) {
        let want_body = raw["body_raw"]
            .as_str()
            .unwrap_or_default()
            .replace("{DD_URL}", site);
        assert_eq!(delivery.body, want_body, "{file}: body");
        assert_eq!(delivery.path, "/hook");
        for (name, want) in [
            ("user-agent", "DefectDojo-3.2.0"),
            ("x-defectdojo-instance", site.as_str()),
            ("accept", "application/json"),
            ("content-type", "application/json"),
            ("authorization", "Bearer wstg-sync-shared-secret"),
        ] {
            assert_eq!(
                delivery.headers.get(name).map(String::as_str),
                Some(want),
                "{file}: header {name}"
            );
        }
    }

    sim.running.stop().await;
    receiver_handle.stop(false).await;
}

// ---------------------------------------------------------------------------------------------
// Sequences recorded by tests/fixtures/record_real.py

/// Placeholders of record_real.py and what the replay puts in their place.
struct Placeholders {
    pairs: Vec<(String, String)>,
}

impl Placeholders {
    fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (placeholder, actual) in &self.pairs {
            out = out.replace(placeholder, actual);
        }
        out
    }
}

/// The port of a listener that was bound and closed again: nothing listens there.
fn refused_port() -> u16 {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("binds");
    listener.local_addr().expect("has an address").port()
}

/// `notification_webhooks` lists come in database order, which is not id order on the real
/// server (an updated row moves to the end); both sides are compared sorted by id.
fn normalise(url: &str, body: &Value) -> Value {
    let mut body = body.clone();
    if url.contains("/notification_webhooks/") {
        if let Some(results) = body.get_mut("results").and_then(Value::as_array_mut) {
            results.sort_by_key(|r| r["id"].as_u64());
        }
    }
    body
}

/// For ORM steps the recording holds only what the ORM read back: compare those keys.
fn subset(recorded: &Value, actual: &Value) -> Value {
    match (recorded, actual) {
        (Value::Object(r), Value::Object(a)) if !r.contains_key("rows") => Value::Object(
            r.keys()
                .filter_map(|k| a.get(k).map(|v| (k.clone(), v.clone())))
                .collect(),
        ),
        _ => actual.clone(),
    }
}

async fn send_recorded(client: &reqwest::Client, request: &Value, ph: &Placeholders) -> Resp {
    let method = Method::from_bytes(request["method"].as_str().unwrap_or("GET").as_bytes())
        .expect("recorded method");
    let url = ph.apply(request["url"].as_str().expect("recorded url"));
    let mut req = client.request(method, url);
    if let Some(headers) = request["headers"].as_object() {
        for (name, value) in headers {
            let value = value.as_str().unwrap_or_default().replace("<token>", TOKEN);
            req = req.header(name.as_str(), value);
        }
    }
    if !request["body"].is_null() {
        let body: Value =
            serde_json::from_str(&ph.apply(&request["body"].to_string())).expect("body stays JSON");
        req = req.json(&body);
    }
    into_resp(req.send().await.expect("simulator answers")).await
}

/// Replays one recorded sequence against `base`; returns the differences and the number of
/// steps replayed. Steps marked `"poll": true` waited for an asynchronous delivery on the
/// real server; they are repeated here until they match (10 s at most).
async fn replay_sequence(dir: &str, ph: &Placeholders) -> (Vec<String>, usize) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client builds");
    let mut bumps = BumpTracker::default();
    let mut failures = Vec::new();
    let steps = load_dir(&fixtures_dir().join(dir), |n| {
        n.ends_with(".json") && n != "deliveries.json"
    });
    assert!(!steps.is_empty(), "{dir} holds recorded steps");
    let subst = |s: &str| ph.apply(s);
    for step in &steps {
        let recorded_file: Value = serde_json::from_str(
            &std::fs::read_to_string(fixtures_dir().join(dir).join(format!("{}.json", step.name)))
                .expect("readable"),
        )
        .expect("JSON");
        let poll = recorded_file["poll"].as_bool().unwrap_or(false);
        let orm = recorded_file.get("orm").is_some();
        let url = step.request["url"].as_str().unwrap_or_default().to_string();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let res = send_recorded(&client, &step.request, ph).await;
            let mut errors = Vec::new();
            let want_status = step.response["status"].as_u64().unwrap_or_default();
            if u64::from(res.status.as_u16()) != want_status {
                errors.push(format!(
                    "status: recorded {want_status}, got {}",
                    res.status
                ));
            }
            let actual = if orm {
                subset(&step.response["body"], &res.body)
            } else if res.body == json!("") {
                // no body at all (204): the recorder wrote null
                Value::Null
            } else {
                normalise(&url, &res.body)
            };
            let recorded = normalise(&url, &step.response["body"]);
            // a poll is compared without touching the bump tracker until it matches
            let mut scratch = BumpTracker::default();
            let tracker = if poll { &mut scratch } else { &mut bumps };
            compare("body", &recorded, &actual, &subst, tracker, &mut errors);
            if errors.is_empty() || !poll || std::time::Instant::now() > deadline {
                failures.extend(
                    errors
                        .into_iter()
                        .map(|e| format!("{}/{}: {e}", dir, step.name)),
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    (failures, steps.len())
}

/// The original design's leftovers (docs/defectdojo.md §7, §9): case-twin tag rows made
/// through the ORM (`/__sim/tag-rows`, `/__sim/findings` here), the POST that collides (500,
/// nothing written), the PATCH that collides (500 after saving every other field, tags wiped),
/// the tag table after each step, and the `tags__and` filter finding the design's findings.
#[tokio::test]
async fn design_leftovers_replay_identically() {
    let sim = support::start().await;
    let ph = Placeholders {
        pairs: vec![("{DD_URL}".into(), sim.running.base_url.clone())],
    };
    let (failures, replayed) = replay_sequence("design-leftovers", &ph).await;
    assert_eq!(replayed, 35, "every recorded step is replayed");
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
    sim.running.stop().await;
}

/// Webhook set-up and lifecycle (docs/defectdojo.md §6, §10): system settings, the system
/// notifications row, notification webhooks (create, read-only status, PATCH, DELETE), a
/// webhook with no URL and one nobody listens on dying `inactive_permanent` at the first event,
/// no PATCH reviving it, and the deliveries the live receiver got, in order.
#[tokio::test]
async fn webhook_lifecycle_replays_identically() {
    let store: Deliveries = Default::default();
    let data = web::Data::new(store.clone());
    let receiver = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(capture))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .expect("receiver binds");
    let receiver_addr = receiver.addrs()[0];
    let receiver = receiver.run();
    let receiver_handle = receiver.handle();
    tokio::spawn(receiver);

    let sim = support::start().await;
    let port = refused_port().to_string();
    let ph = Placeholders {
        pairs: vec![
            ("{DD_URL}".into(), sim.running.base_url.clone()),
            ("{RECEIVER_URL}".into(), format!("http://{receiver_addr}")),
            ("{REFUSED_PORT}".into(), port),
        ],
    };
    let (failures, replayed) = replay_sequence("webhook-lifecycle", &ph).await;
    assert_eq!(replayed, 34, "every recorded step is replayed");
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );

    let recorded: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures_dir().join("webhook-lifecycle/deliveries.json"))
            .expect("readable"),
    )
    .expect("JSON");
    let want: Vec<(String, String, String, String)> = recorded["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap_or_default().to_string(),
                d["headers"]["X-DefectDojo-Event"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                d["headers"]["X-Wstg-Secret"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                ph.apply(d["body_raw"].as_str().unwrap_or_default()),
            )
        })
        .collect();
    let got: Vec<(String, String, String, String)> =
        eventually(Duration::from_secs(10), "every delivery", || {
            let store = store.clone();
            let n = want.len();
            async move {
                let got: Vec<_> = store
                    .lock()
                    .expect("store lock")
                    .iter()
                    // the real instance sent no product_added for step 24 although the older
                    // recording (webhooks/raw/0002) shows one: see the crate README
                    .filter(|d| {
                        d.headers.get("x-defectdojo-event").map(String::as_str)
                            != Some("product_added")
                    })
                    .map(|d| {
                        (
                            d.path.clone(),
                            d.headers
                                .get("x-defectdojo-event")
                                .cloned()
                                .unwrap_or_default(),
                            d.headers.get("x-wstg-secret").cloned().unwrap_or_default(),
                            d.body.clone(),
                        )
                    })
                    .collect();
                (got.len() >= n).then_some(got)
            }
        })
        .await;
    assert_eq!(got, want, "deliveries: path, event, header, body");

    sim.running.stop().await;
    receiver_handle.stop(false).await;
}

/// Many engagements (docs/defectdojo.md §12): a product and an engagement read by id (404
/// "No Product matches the given query." for a missing one), product names found with the
/// `name` filter (icontains) and engagements with `product` + `name` (exact), with names
/// holding `/ ( & : { } ' "`; a second product of the same name is a 400 on `name`.
#[tokio::test]
async fn projects_replay_identically() {
    let sim = support::start().await;
    let ph = Placeholders {
        pairs: vec![("{DD_URL}".into(), sim.running.base_url.clone())],
    };
    let (failures, replayed) = replay_sequence("projects", &ph).await;
    assert_eq!(replayed, 15, "every recorded step is replayed");
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
    sim.running.stop().await;
}
