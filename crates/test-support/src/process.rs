//! Real processes for system tests: the workspace binaries, started with an
//! environment, waited on until ready, killed with a signal.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The directory holding the workspace binaries (`target/debug`), found from
/// the running test executable (`target/debug/deps/<test>`).
pub fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("WSTG_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    deps.parent().unwrap().to_path_buf()
}

/// The path of workspace binary `name`; panics with a hint if it is missing.
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} not found: build the workspace binaries first (cargo build --workspace --bins)",
        p.display()
    );
    p
}

/// A child process that is killed when dropped.
pub struct Proc {
    pub name: String,
    pub child: Child,
}

impl Proc {
    /// Starts `name` with `env` (added to a cleared-of-WSTG environment) and
    /// `args`; stdout and stderr are inherited unless `quiet`.
    pub fn start(name: &str, args: &[&str], env: &[(String, String)]) -> anyhow::Result<Proc> {
        let mut cmd = Command::new(bin(name));
        cmd.args(args).kill_on_drop(true).stdin(Stdio::null());
        for (k, _) in std::env::vars() {
            if k.starts_with("WSTG_") && !k.starts_with("WSTG_TEST_") && k != "WSTG_BIN_DIR" {
                cmd.env_remove(k);
            }
        }
        cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let Some(dir) = std::env::var_os("WSTG_TEST_LOG_DIR") {
            // Every log line of every process, for a grep afterwards
            // (scripts/grep-test-logs.sh: no secret in any log).
            let path = std::path::Path::new(&dir)
                .join(format!("{name}-{}.log", uuid::Uuid::new_v4().simple()));
            cmd.stdout(Stdio::piped())
                .stderr(std::fs::File::create(path)?);
        } else if std::env::var_os("TEST_LOG").is_none() {
            cmd.stdout(Stdio::piped()).stderr(Stdio::null());
        } else {
            cmd.stdout(Stdio::piped());
        }
        let child = cmd.spawn()?;
        Ok(Proc {
            name: name.to_owned(),
            child,
        })
    }

    /// Waits until the process prints a line containing `needle` on stdout,
    /// and keeps draining stdout afterwards so the child never blocks.
    pub async fn wait_for_line(
        &mut self,
        needle: &str,
        timeout: Duration,
    ) -> anyhow::Result<String> {
        let stdout = self
            .child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("stdout already taken"))?;
        let mut lines = BufReader::new(stdout).lines();
        let found = tokio::time::timeout(timeout, async {
            while let Some(line) = lines.next_line().await? {
                if std::env::var_os("TEST_LOG").is_some() {
                    eprintln!("[{}] {line}", self.name);
                }
                if line.contains(needle) {
                    return Ok::<_, anyhow::Error>(Some(line));
                }
            }
            Ok(None)
        })
        .await
        .map_err(|_| {
            anyhow::anyhow!("{} did not print '{needle}' within {timeout:?}", self.name)
        })??;
        let line = found
            .ok_or_else(|| anyhow::anyhow!("{} exited before printing '{needle}'", self.name))?;
        let name = self.name.clone();
        tokio::spawn(async move {
            while let Ok(Some(l)) = lines.next_line().await {
                if std::env::var_os("TEST_LOG").is_some() {
                    eprintln!("[{name}] {l}");
                }
            }
        });
        Ok(line)
    }

    /// Sends `signal` (e.g. "KILL", "TERM") to the process.
    pub fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let pid = self
            .child
            .id()
            .ok_or_else(|| anyhow::anyhow!("process already exited"))?;
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()?;
        anyhow::ensure!(status.success(), "kill -{signal} {pid} failed");
        Ok(())
    }

    pub async fn wait(&mut self, timeout: Duration) -> anyhow::Result<std::process::ExitStatus> {
        Ok(tokio::time::timeout(timeout, self.child.wait()).await??)
    }
}

/// A free TCP port on 127.0.0.1 (bound and released; good enough for tests
/// that must pass an address to a child process).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
