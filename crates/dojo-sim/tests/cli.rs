//! The `dojo-sim` binary: readiness line, env configuration, clean exit on SIGTERM, and the
//! token never appearing in its output.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const TOKEN: &str = "cli-secret-token-0123456789abcdef01234567";

/// Starts the binary and returns it with the address from its readiness line.
fn start(
    args: &[&str],
    envs: &[(&str, &str)],
) -> (Child, String, BufReader<std::process::ChildStdout>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dojo-sim"));
    cmd.args(args)
        .env_remove("DOJO_SIM_TOKEN")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("binary starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("readiness line");
    let addr = line
        .trim()
        .strip_prefix("dojo-sim listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (child, addr, reader)
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    for _ in 0..250 {
        if let Some(status) = child.try_wait().expect("wait works") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("dojo-sim did not exit within 5 s of SIGTERM");
}

#[tokio::test]
async fn serves_until_sigterm_and_never_logs_the_token() {
    let (mut child, addr, mut stdout) = start(
        &[
            "--addr",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--latency-ms",
            "0",
        ],
        // per-request lines are DEBUG
        &[("DOJO_SIM_TOKEN", TOKEN), ("RUST_LOG", "debug")],
    );
    let client = reqwest::Client::new();
    let res = client
        .get(format!("http://{addr}/api/v2/user_profile/"))
        .header("Authorization", format!("Token {TOKEN}"))
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), 200);
    let res = client
        .post(format!("http://{addr}/api/v2/api-token-auth/"))
        .json(&serde_json::json!({"username": "admin", "password": "pw"}))
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), 200);

    let status = terminate(&mut child);
    assert!(status.success(), "clean exit, got {status}");
    let mut out = String::new();
    stdout.read_to_string(&mut out).expect("stdout readable");
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        stderr.read_to_string(&mut err).expect("stderr readable");
    }
    assert!(
        err.contains("\"path\":\"/api/v2/user_profile/\""),
        "json request log: {err}"
    );
    assert!(!out.contains(TOKEN) && !err.contains(TOKEN), "token leaked");
}

#[tokio::test]
async fn fault_flags_configure_the_faults() {
    let (mut child, addr, _stdout) = start(
        &[
            "--addr",
            "127.0.0.1:0",
            "--token",
            TOKEN,
            "--error-rate",
            "1",
            "--error-status",
            "502",
        ],
        &[],
    );
    let client = reqwest::Client::new();
    let res = client
        .get(format!("http://{addr}/api/v2/findings/"))
        .header("Authorization", format!("Token {TOKEN}"))
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), 502);
    let faults: serde_json::Value = client
        .get(format!("http://{addr}/__sim/faults"))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert_eq!(faults["error_rate"], 1.0);
    assert!(terminate(&mut child).success());
}

#[test]
fn rejects_invalid_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_dojo-sim"))
        .args(["--token", "t", "--error-rate", "1.5"])
        .env_remove("DOJO_SIM_TOKEN")
        .output()
        .expect("binary runs");
    assert!(!out.status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_dojo-sim"))
        .env_remove("DOJO_SIM_TOKEN")
        .output()
        .expect("binary runs");
    assert!(!out.status.success(), "--token is required");
}

/// At the default level a poll is not worth a line (the bridge polls every few
/// seconds), and a log that is not a terminal gets no colour codes.
#[tokio::test]
async fn requests_are_not_logged_at_info_and_files_get_no_colour() {
    let (mut child, addr, _stdout) =
        start(&["--addr", "127.0.0.1:0"], &[("DOJO_SIM_TOKEN", TOKEN)]);
    let res = reqwest::Client::new()
        .get(format!("http://{addr}/api/v2/findings/"))
        .header("Authorization", format!("Token {TOKEN}"))
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), 200);
    let status = terminate(&mut child);
    assert!(status.success(), "clean exit, got {status}");
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        stderr.read_to_string(&mut err).expect("stderr readable");
    }
    assert!(err.contains("dojo-sim ready"), "{err}");
    assert!(
        !err.contains("/api/v2/findings/"),
        "request logged at INFO: {err}"
    );
    assert!(!err.contains('\u{1b}'), "colour codes in a pipe: {err:?}");
}
