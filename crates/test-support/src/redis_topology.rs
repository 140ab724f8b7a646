//! Redis Cluster and Sentinel setups for the tests that need them, started
//! by the repository's scripts (scripts/redis-cluster.sh,
//! scripts/redis-sentinel.sh) once per test process, in a directory of
//! their own, and stopped when the process ends (the scripts' watcher on
//! `WSTG_STOP_WITH_PID`): `make test` needs nothing started by hand.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts")
}

/// Runs `script start` with its state in a per-process directory and
/// returns the URL it prints.
fn start(script: &str, dir_var: &str, cell: &Mutex<Option<String>>) -> String {
    let mut url = cell.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(u) = url.as_ref() {
        return u.clone();
    }
    let dir = std::env::temp_dir().join(format!(
        "wstg-{}-{}",
        script.trim_end_matches(".sh"),
        std::process::id()
    ));
    let out = Command::new(scripts().join(script))
        .arg("start")
        .env(dir_var, &dir)
        .env("WSTG_STOP_WITH_PID", std::process::id().to_string())
        .output()
        .unwrap_or_else(|e| panic!("running scripts/{script}: {e}"));
    assert!(
        out.status.success(),
        "scripts/{script} start failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    let u = printed
        .lines()
        .last()
        .unwrap_or_else(|| panic!("scripts/{script} printed no URL"))
        .trim()
        .to_owned();
    *url = Some(u.clone());
    u
}

static CLUSTER: Mutex<Option<String>> = Mutex::new(None);
static SENTINEL: Mutex<Option<String>> = Mutex::new(None);

/// The URL of a local 3-master Redis Cluster (`redis+cluster://…`), started
/// on first use. Blocks while it starts (a second or two).
pub fn cluster_url() -> String {
    start("redis-cluster.sh", "WSTG_REDIS_CLUSTER_DIR", &CLUSTER)
}

/// The URL of a local Sentinel-managed primary (`redis+sentinel://…/wstgtest`),
/// started on first use (about 5 s: the sentinels must find the replica and
/// each other).
pub fn sentinel_url() -> String {
    start("redis-sentinel.sh", "WSTG_REDIS_SENTINEL_DIR", &SENTINEL)
}

/// The sentinels' addresses (`host:port`) of a `redis+sentinel://` URL.
pub fn sentinels_of(url: &str) -> Vec<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let hosts = rest.split('/').next().unwrap_or_default();
    let hosts = hosts.rsplit('@').next().unwrap_or_default();
    hosts.split(',').map(str::to_owned).collect()
}

/// The last `lines` lines of each sentinel's log of this process's Sentinel
/// setup, for a test's failure message (why a failover did not happen).
pub fn sentinel_logs(lines: usize) -> String {
    let dir = std::env::temp_dir().join(format!("wstg-redis-sentinel-{}", std::process::id()));
    let mut out = String::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return format!("no sentinel logs in {}", dir.display());
    };
    let mut logs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("sentinel-") && n.ends_with(".log"))
        })
        .collect();
    logs.sort();
    for log in logs {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        out.push_str(&format!("== {}\n", log.display()));
        for l in &all[all.len().saturating_sub(lines)..] {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}
