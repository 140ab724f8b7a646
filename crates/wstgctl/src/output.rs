//! Everything wstgctl prints goes through here, so a closed pipe
//! (`wstgctl dlq list | head`) ends the command quietly instead of panicking.

use std::io::Write;

/// stdout was closed by the reader; not a failure of the command.
#[derive(Debug, thiserror::Error)]
#[error("stdout was closed")]
pub struct ClosedPipe;

fn write(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(ClosedPipe.into()),
        Err(e) => Err(e.into()),
    }
}

/// One line of text.
pub fn line(text: impl AsRef<str>) -> anyhow::Result<()> {
    write(text.as_ref())
}

/// A value as pretty JSON.
pub fn json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    write(&serde_json::to_string_pretty(v)?)
}
