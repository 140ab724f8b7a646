//! `wstgctl … | head`: a reader that goes away ends wstgctl quietly (exit 0,
//! no panic, no backtrace) instead of "failed printing to stdout".

#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};

#[test]
fn a_closed_pipe_ends_wstgctl_quietly() {
    let dir = std::env::temp_dir().join(format!("wstgctl-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("wstg.db");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let command = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wstgctl"));
        for (k, _) in std::env::vars() {
            if k.starts_with("WSTG_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("WSTG_DATABASE_URL", &url);
        cmd
    };
    let migrated = command().arg("migrate").output().unwrap();
    assert!(migrated.status.success(), "{migrated:?}");
    let mut child = command()
        .args(["audit", "--limit", "5"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader is gone before wstgctl has opened its store and printed.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.is_empty(), "nothing to say: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
