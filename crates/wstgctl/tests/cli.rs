//! wstgctl as a script sees it: `--output json` parses on every command,
//! exit codes say what went wrong, and nothing creates a database or a
//! stream that is not its job to. Real SQLite, real Redis, the real binary.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

/// Runs wstgctl with exactly `env` (no WSTG_* variable of the caller's).
fn run(env: &[(String, String)], args: &[&str]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_wstgctl"));
    for (k, _) in std::env::vars() {
        if k.starts_with("WSTG_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `--output json … ` that must succeed and print one JSON document.
fn json_ok(env: &[(String, String)], args: &[&str]) -> Value {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let out = run(env, &all);
    assert_eq!(code(&out), 0, "wstgctl {args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "wstgctl {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// `--output json …` that must fail with `expected`, its stderr a JSON
/// error naming the same code.
fn json_err(env: &[(String, String)], args: &[&str], expected: i32) -> String {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let out = run(env, &all);
    assert_eq!(code(&out), expected, "wstgctl {args:?}: {}", stderr(&out));
    let err: Value = serde_json::from_str(stderr(&out).trim()).unwrap_or_else(|e| {
        panic!(
            "wstgctl {args:?}: stderr is not JSON ({e}): {}",
            stderr(&out)
        )
    });
    assert_eq!(err["error"]["exit_code"], expected, "{err}");
    err["error"]["message"].as_str().unwrap().to_owned()
}

struct Env {
    vars: Vec<(String, String)>,
    prefix: String,
    db_file: PathBuf,
    _db: test_support::FreshDb,
}

impl Env {
    fn new() -> Env {
        let db = test_support::fresh_sqlite();
        let prefix = test_support::unique_prefix();
        let vars = wstg_harness::service_env(&prefix, &db.url, "http://127.0.0.1:1", "127.0.0.1:0");
        let db_file = PathBuf::from(
            db.url
                .trim_start_matches("sqlite://")
                .trim_end_matches("?mode=rwc"),
        );
        Env {
            vars,
            prefix,
            db_file,
            _db: db,
        }
    }

    fn with(&self, key: &str, value: &str) -> Vec<(String, String)> {
        let mut vars: Vec<_> = self
            .vars
            .iter()
            .filter(|(k, _)| k != key)
            .cloned()
            .collect();
        vars.push((key.to_owned(), value.to_owned()));
        vars
    }
}

async fn redis_keys(prefix: &str) -> Vec<String> {
    let client = redis::Client::open(test_support::redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("KEYS")
        .arg(test_support::redis_env::key(prefix, "*"))
        .query_async(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn no_command_creates_a_missing_database() {
    let env = Env::new();
    let read_only: &[&[&str]] = &[
        &["status"],
        &["items"],
        &["audit"],
        &["project", "list"],
        &["project", "add", "alpha"],
        &["token", "list"],
        &["token", "create", "--label", "x", "--admin"],
        &["backup", "--to", "/tmp/never.db"],
    ];
    for args in read_only {
        let msg = json_err(&env.vars, args, 2);
        assert!(
            msg.contains("wstgctl migrate") && msg.contains("WSTG_DATABASE_URL"),
            "{args:?}: {msg}"
        );
        assert!(
            !env.db_file.exists(),
            "wstgctl {args:?} created {}",
            env.db_file.display()
        );
    }
    // doctor reports it as a failed check, and creates nothing either.
    let out = run(&env.vars, &["doctor"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL  store"));
    assert!(!env.db_file.exists());
    // Nothing made the stream or the group either.
    assert!(redis_keys(&env.prefix).await.is_empty());
}

#[tokio::test]
async fn migrate_creates_the_database_once_and_is_idempotent() {
    let env = Env::new();
    let first = json_ok(&env.vars, &["migrate"]);
    assert!(env.db_file.exists());
    assert!(!first["applied"].as_array().unwrap().is_empty(), "{first}");
    let second = json_ok(&env.vars, &["migrate"]);
    assert_eq!(second["applied"], serde_json::json!([]), "{second}");
    assert_eq!(second["version"], first["version"]);
    let text = run(&env.vars, &["migrate"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("is current; nothing to do"));
}

/// Upgrading from the key layout before the hash tag: `migrate` renames the
/// old keys (docs/deploy.md, "Upgrading the key layout"), once.
#[tokio::test]
async fn migrate_renames_keys_of_the_old_layout() {
    let env = Env::new();
    let client = redis::Client::open(test_support::redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: String = redis::cmd("XADD")
        .arg(format!("{}:events", env.prefix))
        .arg("*")
        .arg("data")
        .arg("{}")
        .query_async(&mut conn)
        .await
        .unwrap();
    let first = json_ok(&env.vars, &["migrate"]);
    assert_eq!(first["redis_keys"]["renamed"], 1, "{first}");
    assert_eq!(
        redis_keys(&env.prefix).await,
        [test_support::redis_env::key(&env.prefix, "events")]
    );
    let second = json_ok(&env.vars, &["migrate"]);
    assert_eq!(second["redis_keys"]["renamed"], 0, "{second}");
    test_support::redis_env::delete_prefix(&env.prefix)
        .await
        .unwrap();
}

#[tokio::test]
async fn every_command_honours_output_json() {
    let env = Env::new();
    json_ok(&env.vars, &["migrate"]);

    // Reading commands on an untouched Redis prefix answer, and make nothing.
    let status = json_ok(&env.vars, &["status"]);
    assert_eq!(status["queue"]["stream_len"], 0, "{status}");
    assert_eq!(status["sync"]["total_items"], 0, "{status}");
    assert_eq!(json_ok(&env.vars, &["dlq", "list"]), serde_json::json!([]));
    assert_eq!(
        json_ok(
            &env.vars,
            &[
                "dlq",
                "list",
                "--project",
                "default",
                "--after",
                "2026-01-01T00:00:00Z"
            ]
        ),
        serde_json::json!([])
    );
    assert!(
        redis_keys(&env.prefix).await.is_empty(),
        "read-only commands made keys"
    );

    assert_eq!(json_ok(&env.vars, &["items"]), serde_json::json!([]));
    assert_eq!(
        json_ok(&env.vars, &["items", "--sync-state", "pending", "--linked"]),
        serde_json::json!([])
    );
    assert_eq!(
        json_ok(&env.vars, &["audit", "--limit", "5"]),
        serde_json::json!([])
    );
    let added = json_ok(&env.vars, &["project", "add", "alpha", "--product-id", "7"]);
    assert_eq!(added["name"], "alpha");
    assert_eq!(added["product_id"], 7);
    let projects = json_ok(&env.vars, &["project", "list"]);
    assert_eq!(projects["projects"][0]["name"], "alpha", "{projects}");
    let token = json_ok(
        &env.vars,
        &["token", "create", "--label", "ci", "--write", "alpha"],
    );
    assert!(token["secret"].as_str().unwrap().len() > 20, "{token}");
    let id = token["id"].as_str().unwrap().to_owned();
    let tokens = json_ok(&env.vars, &["token", "list"]);
    assert_eq!(tokens[0]["id"], id.as_str());
    assert!(!tokens
        .to_string()
        .contains(token["secret"].as_str().unwrap()));
    assert_eq!(
        json_ok(&env.vars, &["token", "revoke", &id])["revoked"],
        id.as_str()
    );
    assert_eq!(
        json_ok(&env.vars, &["items", "--project", "alpha"]),
        serde_json::json!([])
    );
    assert_eq!(
        json_ok(&env.vars, &["dlq", "purge", "--older-than", "7d"])["purged"],
        0
    );
    assert_eq!(
        json_ok(&env.vars, &["dlq", "purge", "--all", "--yes"])["purged"],
        0
    );
    assert_eq!(
        json_ok(&env.vars, &["dlq", "replay", "--all"])["replayed"],
        0
    );
    let backup = env.db_file.with_file_name("copy.db");
    let done = json_ok(&env.vars, &["backup", "--to", backup.to_str().unwrap()]);
    assert!(done["bytes"].as_u64().unwrap() > 0, "{done}");
    let _ = test_support::redis_env::delete_prefix(&env.prefix).await;
}

#[tokio::test]
async fn exit_codes_say_what_went_wrong() {
    let env = Env::new();
    json_ok(&env.vars, &["migrate"]);

    // 2: usage (clap's own, and ours).
    assert_eq!(code(&run(&env.vars, &["dlq", "purge"])), 2);
    assert_eq!(code(&run(&env.vars, &["items", "--bogus"])), 2);
    json_err(&env.vars, &["items", "--status", "finished-ish"], 2);
    json_err(&env.vars, &["dlq", "list", "--after", "yesterday"], 2);
    json_err(&env.vars, &["sync", "--item", "WSTG-INFO-1"], 2);
    // 2: a missing setting names its variable (the DefectDojo token).
    let no_token: Vec<_> = env
        .vars
        .iter()
        .filter(|(k, _)| k != "WSTG_DOJO_TOKEN")
        .cloned()
        .collect();
    let msg = json_err(&no_token, &["sync"], 2);
    assert!(msg.contains("WSTG_DOJO_TOKEN"), "{msg}");

    // 3: not found, told apart from malformed.
    let msg = json_err(&env.vars, &["sync", "--item", "WSTG-FOO-99"], 3);
    assert!(msg.contains("not in the WSTG 4.2 catalogue"), "{msg}");
    let msg = json_err(&env.vars, &["items", "--project", "nope"], 3);
    assert!(msg.contains("unknown project 'nope'"), "{msg}");
    json_err(&env.vars, &["status", "--project", "nope"], 3);
    json_err(&env.vars, &["dlq", "show", "1-0"], 3);
    json_err(&env.vars, &["token", "revoke", "no-such-token"], 3);

    // 4: infrastructure down.
    let no_redis = env.with("WSTG_REDIS_URL", "redis://127.0.0.1:1");
    for args in [
        &["status"][..],
        &["dlq", "list"],
        &["dlq", "purge", "--older-than", "1d"],
    ] {
        let msg = json_err(&no_redis, args, 4);
        assert!(msg.contains("WSTG_REDIS_URL"), "{args:?}: {msg}");
    }
    let no_store = env.with("WSTG_DATABASE_URL", "postgres://postgres@127.0.0.1:1/wstg");
    json_err(&no_store, &["items"], 4);
    // A server that answers, without that database: configuration, not down.
    let no_db = env.with(
        "WSTG_DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/wstg_no_such_database",
    );
    json_err(&no_db, &["items"], 2);

    // Text errors for people: one line, no JSON.
    let out = run(&env.vars, &["items", "--project", "nope"]);
    assert!(stderr(&out).starts_with("wstgctl: "), "{}", stderr(&out));

    // --help lists the exit codes.
    let help = String::from_utf8_lossy(&run(&env.vars, &["--help"]).stdout).into_owned();
    for line in [
        "Exit codes:",
        "3  not found",
        "4  infrastructure down",
        "5  partial",
    ] {
        assert!(help.contains(line), "{help}");
    }
}

#[tokio::test]
async fn a_backup_opens_and_holds_the_same_rows() {
    let env = Env::new();
    json_ok(&env.vars, &["migrate"]);
    json_ok(&env.vars, &["project", "add", "alpha"]);
    json_ok(
        &env.vars,
        &["project", "add", "beta", "--engagement-id", "3"],
    );
    json_ok(
        &env.vars,
        &["token", "create", "--label", "a", "--read", "alpha"],
    );
    let copy = env.db_file.with_file_name("backup.db");
    let out = run(&env.vars, &["backup", "--to", copy.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("backed up "));
    // A second backup to the same file is refused, not overwritten.
    json_err(&env.vars, &["backup", "--to", copy.to_str().unwrap()], 2);

    let restored = env.with("WSTG_DATABASE_URL", &format!("sqlite://{}", copy.display()));
    for args in [
        &["project", "list"][..],
        &["token", "list"],
        &["items", "--project", "beta"],
    ] {
        assert_eq!(
            json_ok(&restored, args),
            json_ok(&env.vars, args),
            "{args:?}"
        );
    }
    assert_path_is_file(&copy);
}

fn assert_path_is_file(p: &Path) {
    assert!(p.is_file(), "{}", p.display());
}

/// Queued but not applied within `--wait` (no worker runs): exit 5, with
/// the per-project report still printed.
#[tokio::test]
async fn a_sync_the_workers_did_not_apply_is_partial() {
    let sys = wstg_harness::System::start(test_support::fresh_sqlite(), 0).await;
    let resp = sys
        .post_sync(&serde_json::json!({"wstg_id": "WSTG-INFO-01", "status": "done", "notes": "n"}))
        .await;
    assert_eq!(resp.status(), 202);
    let out = run(&sys.env, &["--output", "json", "sync", "--wait", "1"]);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report[0]["project"], "default", "{report}");
    assert_eq!(report[0]["applied"], false, "{report}");
    let err: Value = serde_json::from_str(stderr(&out).trim()).unwrap();
    assert_eq!(err["error"]["kind"], "partial", "{err}");

    sys.stop().await;
}

/// `items` lists what the bridge holds, with status, sync state and finding
/// id, and its filters narrow it.
#[tokio::test]
async fn items_lists_status_sync_state_and_finding_with_filters() {
    let sys = wstg_harness::System::start(test_support::fresh_sqlite(), 1).await;
    for (id, status) in [("WSTG-INFO-01", "done"), ("WSTG-INFO-02", "blocked")] {
        let resp = sys
            .post_sync(&serde_json::json!({"wstg_id": id, "status": status, "notes": "n"}))
            .await;
        assert_eq!(resp.status(), 202);
    }
    sys.settle().await;
    let all = json_ok(&sys.env, &["items"]);
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    assert_eq!(all[0]["wstg_id"], "WSTG-INFO-01");
    assert_eq!(all[0]["status"], "done");
    assert_eq!(all[0]["sync_state"], "synced", "{all}");
    assert!(all[0]["finding_id"].as_i64().is_some(), "{all}");
    let blocked = json_ok(&sys.env, &["items", "--status", "Blocked"]);
    assert_eq!(blocked.as_array().unwrap().len(), 1, "{blocked}");
    assert_eq!(blocked[0]["wstg_id"], "WSTG-INFO-02");
    assert_eq!(
        json_ok(&sys.env, &["items", "--unlinked"]),
        serde_json::json!([])
    );
    assert_eq!(
        json_ok(&sys.env, &["items", "--sync-state", "failed"]),
        serde_json::json!([])
    );
    let one = json_ok(&sys.env, &["items", "--item", "wstg-info-02"]);
    assert_eq!(one.as_array().unwrap().len(), 1, "{one}");
    json_err(&sys.env, &["items", "--item", "WSTG-INFO-03"], 3);
    let table = String::from_utf8_lossy(&run(&sys.env, &["items"]).stdout).into_owned();
    assert!(table.lines().next().unwrap().contains("SYNC"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("WSTG-INFO-01") && l.contains("synced")),
        "{table}"
    );
    sys.stop().await;
}
