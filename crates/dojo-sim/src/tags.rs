//! The finding tag table (tagulous' `Tagulous_Finding_tags`) and the way DefectDojo assigns
//! tags to a finding (docs/defectdojo.md §2, §7, §9).
//!
//! What the recordings show (LIVE 19, 51, 106, 110) and this module reproduces:
//! - there is one table of tag names shared by all findings, each row with a use count; a row
//!   whose count drops to zero is deleted (tagulous deletes unused, unprotected tags);
//! - assigning a new tag list diffs it against the finding's current names *case-sensitively*:
//!   names no longer present are released first, then every name not already on the finding
//!   is looked up case-insensitively: an existing row is reused with *its* spelling, otherwise
//!   a row is created with the spelling sent;
//! - only create (`POST /findings/`) lowercases the names first (`force_lowercase`); PATCH,
//!   PUT and the tag actions keep the case of brand-new names;
//! - a case-insensitive lookup that finds two rows ("wstg" and "WSTG", which only direct ORM
//!   writes can produce) raises `MultipleObjectsReturned`. On create the lookup happens when
//!   the unsaved `Finding(**data)` gets its tags, so the 500 writes nothing (no id is used).
//!   PUT/PATCH go through DRF's `ModelSerializer.update`: the finding is saved first, then
//!   `tags.set(names)` = tagulous' `clear()` (every old tag released, rows reaching count 0
//!   deleted) followed by `add(*names)`, which first get-or-creates every name in order
//!   (case-insensitively; a new row starts at count 0) and only then links them. A twin
//!   lookup there fails half-way: the finding keeps the saved fields, holds no tags at all,
//!   and the rows created before the failing name stay with count 0 ([`TagTable::set`],
//!   recorded in tests/fixtures/recorded/design-leftovers, docs/defectdojo.md §9).

use std::collections::BTreeMap;

/// Two rows match a name case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmbiguousTag(pub String);

#[derive(Clone, Debug, Default)]
pub struct TagTable {
    /// name (exact spelling) -> number of findings using it
    rows: BTreeMap<String, usize>,
}

/// A `tags.set(...)` that failed half-way: what the table holds afterwards (the finding then
/// holds no tags) and the name whose lookup found case twins.
#[derive(Clone, Debug)]
pub struct PartialSet {
    pub table: TagTable,
    pub ambiguous: AmbiguousTag,
}

/// The outcome of an assignment, to be committed only if the whole request succeeds.
#[derive(Clone, Debug)]
pub struct TagAssignment {
    pub table: TagTable,
    pub tags: Vec<String>,
}

impl TagTable {
    #[cfg(test)]
    pub fn count(&self, name: &str) -> Option<usize> {
        self.rows.get(name).copied()
    }

    /// tagulous' case-insensitive `get` of a tag row.
    fn lookup_iexact(&self, name: &str) -> Result<Option<String>, AmbiguousTag> {
        let folded = name.to_lowercase();
        let mut matches = self.rows.keys().filter(|k| k.to_lowercase() == folded);
        match (matches.next(), matches.next()) {
            (None, _) => Ok(None),
            (Some(one), None) => Ok(Some(one.clone())),
            (Some(_), Some(_)) => Err(AmbiguousTag(name.to_string())),
        }
    }

    fn acquire(&mut self, name: &str) {
        *self.rows.entry(name.to_string()).or_insert(0) += 1;
    }

    fn release(&mut self, name: &str) {
        if let Some(count) = self.rows.get_mut(name) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.rows.remove(name);
            }
        }
    }

    /// Replaces a finding's `old` tags with `new` (see the module docs for the rules).
    pub fn assign(
        &self,
        old: &[String],
        new: &[String],
        lowercase: bool,
    ) -> Result<TagAssignment, AmbiguousTag> {
        let mut table = self.clone();
        let wanted: Vec<String> = new
            .iter()
            .map(|n| {
                if lowercase {
                    n.to_lowercase()
                } else {
                    n.clone()
                }
            })
            .collect();

        for name in old.iter().filter(|name| !wanted.contains(name)) {
            table.release(name);
        }

        let mut tags: Vec<String> = Vec::new();
        for name in &wanted {
            let resolved = if old.contains(name) {
                name.clone()
            } else {
                table.lookup_iexact(name)?.unwrap_or_else(|| name.clone())
            };
            if tags.contains(&resolved) {
                continue;
            }
            if !old.contains(&resolved) {
                table.acquire(&resolved);
            }
            tags.push(resolved);
        }
        // a name resolved onto an old spelling that was released above is in use again
        for name in old
            .iter()
            .filter(|n| !wanted.contains(n) && tags.contains(n))
        {
            table.acquire(name);
        }
        Ok(TagAssignment { table, tags })
    }

    /// DRF's `tags.set(new)` on a saved finding (PUT/PATCH): clear, then get-or-create every
    /// name in order, then link them (see the module docs). Names keep the spelling sent
    /// unless a row matches case-insensitively.
    pub fn set(&self, old: &[String], new: &[String]) -> Result<TagAssignment, PartialSet> {
        let mut table = self.clone();
        for name in old {
            table.release(name);
        }
        let mut resolved: Vec<String> = Vec::new();
        for name in new {
            match table.lookup_iexact(name) {
                Ok(Some(existing)) => resolved.push(existing),
                Ok(None) => {
                    table.rows.insert(name.clone(), 0);
                    resolved.push(name.clone());
                }
                Err(ambiguous) => return Err(PartialSet { table, ambiguous }),
            }
        }
        let mut tags: Vec<String> = Vec::new();
        for name in resolved {
            if !tags.contains(&name) {
                table.acquire(&name);
                tags.push(name);
            }
        }
        Ok(TagAssignment { table, tags })
    }

    /// Releases every tag of a deleted finding.
    pub fn release_all(&mut self, tags: &[String]) {
        for name in tags {
            self.release(name);
        }
    }

    /// An ORM-style write that bypasses tagulous' case handling: rows are matched by exact
    /// name, so case twins can appear (docs/defectdojo.md §7, the original design's UPPER-case
    /// tags).
    pub fn acquire_exact(&mut self, tags: &[String]) {
        for name in tags {
            self.acquire(name);
        }
    }

    /// `Tag.objects.get_or_create(name=...)` for each name, as the original design did: the
    /// lookup is exact (case-sensitive), so "WSTG" is created beside an existing "wstg"; a new
    /// row is used by nobody yet (count 0) and stays until a finding uses and releases it.
    pub fn create_rows_exact(&mut self, names: &[String]) {
        for name in names {
            self.rows.entry(name.clone()).or_insert(0);
        }
    }

    /// Every row with its use count, ordered by name (bytewise).
    pub fn rows(&self) -> impl Iterator<Item = (&str, usize)> {
        self.rows
            .iter()
            .map(|(name, count)| (name.as_str(), *count))
    }
}

/// Tag names as the read serializers list them: ordered by name, bytewise (LIVE 52, 107).
pub fn sorted(tags: &[String]) -> Vec<String> {
    let mut out = tags.to_vec();
    out.sort();
    out
}

/// tagulous' parsing of a tag-string filter value (`?tags=`/`?not_tags=`), followed by the
/// form field's `force_lowercase`: comma-separated if there is a comma, otherwise
/// space-separated; double quotes group; empty names dropped (dojo/filters.py:294-311).
pub fn parse_filter_value(value: &str) -> Vec<String> {
    let has_comma = {
        let mut in_quotes = false;
        value.chars().any(|c| {
            if c == '"' {
                in_quotes = !in_quotes;
            }
            c == ',' && !in_quotes
        })
    };
    let mut names = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    for c in value.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => names.push(std::mem::take(&mut current)),
            ' ' if !in_quotes && !has_comma => names.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    names.push(current);
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let name = name.trim().to_lowercase();
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    /// Replays LIVE 19, 24, 51 and 106/110 on the table alone.
    #[test]
    fn reproduces_recorded_case_quirk() {
        let t = TagTable::default();
        let a = t
            .assign(&[], &s(&["WSTG", "WSTG-INFO-01"]), true)
            .expect("ok");
        assert_eq!(a.tags, s(&["wstg", "wstg-info-01"]));
        let t = a.table;
        let b = t.assign(&[], &s(&["WSTG", "probe"]), true).expect("ok");
        assert_eq!(b.tags, s(&["wstg", "probe"]));
        let t = b.table;

        // LIVE 51: finding 1 is the only user of wstg-info-01, so it is deleted and recreated
        // with the PATCHed spelling; "wstg" is still used by finding 2 and keeps its spelling.
        let c = t
            .assign(
                &s(&["wstg", "wstg-info-01"]),
                &s(&["WSTG", "WSTG-INFO-01", "wstg-status:in-progress"]),
                false,
            )
            .expect("ok");
        assert_eq!(
            c.tags,
            s(&["wstg", "WSTG-INFO-01", "wstg-status:in-progress"])
        );
        assert_eq!(c.table.count("wstg"), Some(2));
        assert_eq!(c.table.count("wstg-info-01"), None);

        // LIVE 110: sending lowercase fixes it
        let d = c
            .table
            .assign(&c.tags, &s(&["wstg", "wstg-info-01"]), false)
            .expect("ok");
        assert_eq!(d.tags, s(&["wstg", "wstg-info-01"]));
        assert_eq!(d.table.count("WSTG-INFO-01"), None);
        assert_eq!(d.table.count("wstg-status:in-progress"), None);
    }

    #[test]
    fn existing_spelling_wins_for_new_names() {
        let t = TagTable::default();
        let a = t.assign(&[], &s(&["NewTag-X"]), false).expect("ok");
        let b = a.table.assign(&[], &s(&["NEWTAG-x"]), true).expect("ok");
        assert_eq!(b.tags, s(&["NewTag-X"]));
        assert_eq!(b.table.count("NewTag-X"), Some(2));
    }

    #[test]
    fn case_twins_are_ambiguous() {
        let mut t = TagTable::default();
        t.acquire_exact(&s(&["WSTG"]));
        t.acquire_exact(&s(&["wstg"]));
        assert_eq!(
            t.assign(&[], &s(&["wstg"]), true).map(|a| a.tags),
            Err(AmbiguousTag("wstg".into()))
        );
        // a name the finding already carries is not looked up again
        assert!(t.assign(&s(&["wstg"]), &s(&["wstg"]), false).is_ok());
    }

    /// Replays tests/fixtures/recorded/design-leftovers steps 20-31 on the table alone.
    #[test]
    fn set_clears_first_and_fails_half_way_on_twins() {
        let mut t = TagTable::default();
        t.acquire_exact(&s(&["wstg", "wstg-info-02"]));
        t.acquire_exact(&s(&["WSTG", "WSTG-INFO-01"]));
        t.acquire_exact(&s(&["WSTG", "WSTG-INFO-03"]));
        t.acquire_exact(&s(&["WSTG", "WSTG-INFO-05"]));

        // step 20: the colliding name first -> nothing created, old tags released
        let err = t
            .set(
                &s(&["WSTG", "WSTG-INFO-01"]),
                &s(&["wstg", "wstg-info-01", "wstg-status:done"]),
            )
            .map(|a| a.tags)
            .expect_err("twins");
        assert_eq!(err.ambiguous, AmbiguousTag("wstg".into()));
        let t = err.table;
        assert_eq!(t.count("WSTG"), Some(2));
        assert_eq!(t.count("WSTG-INFO-01"), None);
        assert_eq!(t.count("wstg-info-01"), None);

        // step 23: the colliding name last -> the names before it exist with count 0
        let err = t
            .set(
                &s(&["WSTG", "WSTG-INFO-03"]),
                &s(&["wstg-info-03", "wstg-status:done", "wstg"]),
            )
            .map(|a| a.tags)
            .expect_err("twins");
        let t = err.table;
        assert_eq!(t.count("WSTG"), Some(1));
        assert_eq!(t.count("WSTG-INFO-03"), None);
        assert_eq!(t.count("wstg-info-03"), Some(0));
        assert_eq!(t.count("wstg-status:done"), Some(0));

        // step 29: the finding's own "wstg" is released first, so it resolves onto "WSTG"
        let a = t
            .set(
                &s(&["wstg", "wstg-info-02"]),
                &s(&["wstg", "wstg-info-02", "wstg-status:in_progress"]),
            )
            .expect("one row left");
        assert_eq!(
            a.tags,
            s(&["WSTG", "wstg-info-02", "wstg-status:in_progress"])
        );
        assert_eq!(a.table.count("wstg"), None);
        assert_eq!(a.table.count("WSTG"), Some(2));
    }

    #[test]
    fn filter_values_are_parsed_and_lowercased() {
        assert_eq!(parse_filter_value("WSTG-INFO-01"), s(&["wstg-info-01"]));
        assert_eq!(parse_filter_value("a,B"), s(&["a", "b"]));
        assert_eq!(parse_filter_value("a b"), s(&["a", "b"]));
        assert_eq!(parse_filter_value("a b, c"), s(&["a b", "c"]));
    }
}
