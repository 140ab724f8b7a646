//! Everything wstgctl prints goes through here: `--output table` (for
//! people) or `--output json` (for scripts: one JSON document on stdout,
//! whose fields are the stable contract), and errors on stderr in the same
//! format. A closed pipe (`wstgctl dlq list | head`) ends the command
//! quietly instead of panicking.

use std::io::Write;

use comfy_table::{presets, ContentArrangement, Table};
use serde::Serialize;

use crate::exit::{CliError, ExitClass};

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// One JSON document for scripts.
    Json,
}

/// Where a command's result goes, in the chosen format.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    pub format: Format,
}

impl Out {
    pub fn is_json(self) -> bool {
        self.format == Format::Json
    }

    /// `value` as JSON, or the table `table` makes of it.
    pub fn show<T: Serialize>(
        self,
        value: &T,
        table: impl FnOnce(&T) -> Table,
    ) -> anyhow::Result<()> {
        match self.format {
            Format::Json => write(&serde_json::to_string_pretty(value)?),
            Format::Table => write(&render(&table(value))),
        }
    }

    /// What a command did: `text` for people, `value` for scripts.
    pub fn done<T: Serialize>(self, text: impl AsRef<str>, value: &T) -> anyhow::Result<()> {
        match self.format {
            Format::Json => write(&serde_json::to_string_pretty(value)?),
            Format::Table => write(text.as_ref()),
        }
    }

    /// An error on stderr: `wstgctl: …`, or in JSON
    /// `{"error": {"kind", "exit_code", "message"}}`.
    pub fn error(self, class: ExitClass, error: &anyhow::Error) {
        let message = format!("{error:#}");
        let text = match self.format {
            Format::Json => serde_json::json!({
                "error": { "kind": class.name(), "exit_code": class.code(), "message": message }
            })
            .to_string(),
            Format::Table => format!("wstgctl: {message}"),
        };
        // Nothing more to do if stderr is gone too.
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }
}

/// A table with a header and no borders: columns line up, and `grep`,
/// `awk` and `cut` still work on its lines.
pub fn table<I, R>(header: &[&str], rows: I) -> Table
where
    I: IntoIterator<Item = R>,
    R: IntoIterator<Item = String>,
{
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().copied());
    for row in rows {
        t.add_row(row.into_iter().collect::<Vec<_>>());
    }
    // Two spaces between columns, none before the first: lines start with
    // the first column, so `grep ^WSTG-INFO` works.
    for column in t.column_iter_mut() {
        column.set_padding((0, 2));
    }
    t
}

/// A table's text with no trailing blanks on any line.
fn render(t: &Table) -> String {
    t.lines()
        .map(|l| l.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A two-column table of names and values (one object).
pub fn fields<I>(rows: I) -> Table
where
    I: IntoIterator<Item = (&'static str, String)>,
{
    table(
        &["FIELD", "VALUE"],
        rows.into_iter().map(|(k, v)| [k.to_owned(), v]),
    )
}

/// An optional value in a table cell.
pub fn opt(v: Option<impl ToString>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn write(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(CliError::ClosedPipe.into()),
        Err(e) => Err(e.into()),
    }
}
