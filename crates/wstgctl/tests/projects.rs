//! `wstgctl project add|map|list|show` as a script sees it: the mapping
//! flags, `--output json`, exit codes (crates/wstgctl/src/exit.rs) and the
//! name templates. Real SQLite, the real binary; DefectDojo is never called.

#![allow(clippy::unwrap_used)]

use std::process::Output;

use serde_json::{json, Value};

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

fn json_run(env: &[(String, String)], args: &[&str], expected: i32) -> Value {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let out = run(env, &all);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(expected),
        "wstgctl {args:?}: {stderr}"
    );
    let text = if expected == 0 {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        stderr.into_owned()
    };
    match serde_json::from_str(text.trim()) {
        Ok(v) => v,
        // clap's own usage errors are text (exit 2 all the same).
        Err(_) if expected == 2 && text.starts_with("error:") => Value::String(text),
        Err(e) => panic!("{args:?}: not JSON ({e}): {text}"),
    }
}

fn env_with(db: &test_support::FreshDb, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut vars = wstg_harness::service_env(
        &test_support::unique_prefix(),
        &db.url,
        "http://127.0.0.1:1",
        "127.0.0.1:0",
    );
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    vars
}

#[tokio::test]
async fn add_map_list_show_with_json_and_exit_codes() {
    let db = test_support::fresh_sqlite();
    wstg_harness::migrate(&db).await;
    let env = env_with(
        &db,
        &[("WSTG_DOJO_ENGAGEMENT", "{project} – WSTG {catalogue}")],
    );
    let name = "R&D / (web) : {x} 'y' \"z\"";
    let made = json_run(
        &env,
        &[
            "project",
            "add",
            name,
            "--product",
            "Client & Co",
            "--test-title",
            "Checklist",
        ],
        0,
    );
    assert_eq!(made["name"], name, "{made}");
    assert_eq!(made["product_name"], "Client & Co");
    assert_eq!(made["product_id"], Value::Null);
    let shown = json_run(&env, &["project", "show", name], 0);
    assert_eq!(
        shown["resolved"]["product"],
        json!({"name": "Client & Co"}),
        "{shown}"
    );
    assert_eq!(
        shown["resolved"]["engagement"],
        json!({"name": format!("{name} – WSTG 4.2")}),
        "the engagement template: {shown}"
    );
    assert_eq!(shown["resolved"]["test_title"], "Checklist");
    assert_eq!(shown["dojo"], Value::Null, "not synced yet: {shown}");
    assert_eq!(shown["items"]["total"], 0);

    // map: an engagement id alone brings its product.
    let mapped = json_run(&env, &["project", "map", name, "--engagement-id", "42"], 0);
    assert_eq!(mapped["engagement_id"], 42, "{mapped}");
    assert_eq!(
        mapped["product_name"],
        Value::Null,
        "map replaces the mapping"
    );
    let shown = json_run(&env, &["project", "show", name], 0);
    assert_eq!(shown["resolved"]["product"], Value::Null, "{shown}");
    assert_eq!(shown["resolved"]["engagement"], json!({"id": 42}));

    let listed = json_run(&env, &["project", "list"], 0);
    assert_eq!(listed["projects"][0]["engagement_id"], 42, "{listed}");
    let default = json_run(&env, &["project", "show", "default"], 0);
    assert_eq!(default["default"], true, "{default}");
    assert_eq!(default["resolved"]["product"], json!({"name": "default"}));

    // Usage (2): both forms of one object, a bad id, a control character,
    // a rendered name over DefectDojo's limit.
    let usage: &[&[&str]] = &[
        &["project", "add", "a", "--product-id", "1", "--product", "x"],
        &["project", "add", "a", "--engagement-id", "-3"],
        &["project", "add", "a\u{7}b"],
        &["project", "add", "a", "--engagement", "x\ny"],
    ];
    for args in usage {
        json_run(&env, args, 2);
    }
    let long = "x".repeat(60);
    let tight = env_with(
        &db,
        &[(
            "WSTG_DOJO_PRODUCT_TEMPLATE",
            &format!("{}{{project}}", "p".repeat(200)),
        )],
    );
    let err = json_run(&tight, &["project", "add", &long], 2);
    assert!(err.to_string().contains("dojo.product_template"), "{err}");
    // Not found (3).
    json_run(&env, &["project", "show", "nobody"], 3);
    json_run(&env, &["project", "map", "nobody", "--product-id", "1"], 3);
    // A template with an unknown placeholder: configuration (2), naming it.
    let bad = env_with(&db, &[("WSTG_DOJO_ENGAGEMENT", "{client}")]);
    let err = json_run(&bad, &["project", "list"], 2);
    assert!(err.to_string().contains("dojo.engagement"), "{err}");
}
