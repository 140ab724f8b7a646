//! docs/configuration.md against the settings: every key documented with
//! its variable (and `_FILE` form for a secret), and nothing documented that
//! is not a setting. The table is written by hand; this test keeps it true.

use std::collections::BTreeSet;

use wstg_settings::keys::{self, CONFIG_VAR, NOT_SETTINGS, RENAMED, TEST_PREFIX};

const DOC: &str = include_str!("../../../docs/configuration.md");

/// The lines between `<!-- name:begin -->` and `<!-- name:end -->`.
fn block(name: &str) -> &'static str {
    let begin = format!("<!-- {name}:begin -->");
    let end = format!("<!-- {name}:end -->");
    let start = DOC.find(&begin).unwrap_or_else(|| panic!("no {begin}")) + begin.len();
    let stop = DOC.find(&end).unwrap_or_else(|| panic!("no {end}"));
    &DOC[start..stop]
}

/// The backticked words of a table row's cells.
fn cells(row: &str) -> Vec<Vec<&str>> {
    row.trim()
        .trim_matches('|')
        .split('|')
        .map(|cell| cell.split('`').skip(1).step_by(2).collect())
        .collect()
}

fn rows(block: &str) -> impl Iterator<Item = Vec<Vec<&str>>> {
    block.lines().filter(|l| l.starts_with("| `")).map(cells)
}

#[test]
fn docs_table_lists_every_setting_with_its_variable_and_nothing_else() {
    let mut documented = BTreeSet::new();
    for row in rows(block("settings")) {
        let key = row[0].first().copied().unwrap_or_default();
        let Some(known) = keys::find(key) else {
            panic!("docs/configuration.md documents `{key}`, which is not a setting");
        };
        let mut expected = vec![known.env.as_str()];
        let file = known.file_env();
        expected.extend(file.as_deref());
        assert_eq!(
            row[1], expected,
            "docs/configuration.md: the variables of `{key}` should be {expected:?}"
        );
        assert!(documented.insert(key), "`{key}` is documented twice");
    }
    let missing: Vec<&str> = keys::known()
        .iter()
        .map(|k| k.path.as_str())
        .filter(|k| !documented.contains(k))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/configuration.md does not document {missing:?}"
    );
}

#[test]
fn docs_renamed_table_is_the_settings_own() {
    let documented: Vec<(String, String)> = rows(block("renamed"))
        .map(|row| (row[0][0].to_owned(), row[1][0].to_owned()))
        .collect();
    let expected: Vec<(String, String)> = RENAMED
        .iter()
        .map(|(old, key)| ((*old).to_owned(), keys::env_var(key)))
        .collect();
    assert_eq!(documented, expected);
}

#[test]
fn docs_name_no_variable_that_does_not_exist() {
    let renamed = block("renamed");
    let prose = DOC.replace(renamed, "");
    for line in prose.lines().filter(|l| !l.starts_with("    ")) {
        for word in line.split('`').skip(1).step_by(2) {
            let name = word
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()
                .unwrap_or_default();
            if !name.starts_with("WSTG_") || name == "WSTG_" {
                continue;
            }
            let exists = name == CONFIG_VAR
                || name.starts_with(TEST_PREFIX)
                || NOT_SETTINGS.contains(&name)
                || keys::known()
                    .iter()
                    .any(|k| k.env == name || k.file_env().as_deref() == Some(name));
            assert!(
                exists,
                "docs/configuration.md names `{name}`, which does not exist: {line}"
            );
        }
    }
}
