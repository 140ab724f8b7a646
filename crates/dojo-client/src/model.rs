//! The DefectDojo records the bridge reads, deserialised tolerantly: unknown
//! fields are ignored, and `null` or a missing field reads as the default.

use serde::{Deserialize, Deserializer};
use wstg_domain::{DojoFlags, DojoItem};

use crate::config::NotesField;

/// `null` (or a missing field, with `#[serde(default)]`) reads as `T::default()`.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A DefectDojo finding, as `GET /api/v2/findings/{id}/` (FindingSerializer)
/// or the create answer (FindingCreateSerializer) returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Finding {
    pub id: i64,
    pub test: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub title: String,
    #[serde(default, deserialize_with = "null_default")]
    pub active: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub verified: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub false_p: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub out_of_scope: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub risk_accepted: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub is_mitigated: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub duplicate: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub under_review: bool,
    /// Tags exactly as DefectDojo returned them (case preserved).
    #[serde(default, deserialize_with = "null_default")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub unique_id_from_tool: Option<String>,
    #[serde(default)]
    pub vuln_id_from_tool: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub mitigation: Option<String>,
    #[serde(default)]
    pub impact: Option<String>,
    #[serde(default)]
    pub steps_to_reproduce: Option<String>,
    #[serde(default)]
    pub severity_justification: Option<String>,
    #[serde(default)]
    pub references: Option<String>,
    /// 0 or absent: none.
    #[serde(default)]
    pub cwe: Option<i64>,
    /// Set by DefectDojo when `is_mitigated` turns true.
    #[serde(default)]
    pub mitigated: Option<String>,
    /// Bumped by every save.
    #[serde(default)]
    pub updated: Option<String>,
    /// Bumped by status-flag changes only (docs/defectdojo.md §1).
    #[serde(default)]
    pub last_status_update: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    /// Read-only summary (`Inactive, Verified, Mitigated`); absent from the
    /// create answer.
    #[serde(default)]
    pub display_status: Option<String>,
    /// The ids of the files attached to the finding (docs/defectdojo.md
    /// §16): free with every listing, so the poller reads a finding's file
    /// list only when these differ from what the store knows.
    #[serde(default, deserialize_with = "null_default")]
    pub files: Vec<i64>,
}

impl Finding {
    /// The status flags.
    pub fn flags(&self) -> DojoFlags {
        DojoFlags {
            active: self.active,
            verified: self.verified,
            false_p: self.false_p,
            out_of_scope: self.out_of_scope,
            risk_accepted: self.risk_accepted,
            is_mitigated: self.is_mitigated,
            duplicate: self.duplicate,
            under_review: self.under_review,
        }
    }

    /// The text of the notes field (`""` when unset).
    pub fn notes(&self, field: NotesField) -> String {
        let v = match field {
            NotesField::Mitigation => &self.mitigation,
            NotesField::Impact => &self.impact,
            NotesField::StepsToReproduce => &self.steps_to_reproduce,
            NotesField::SeverityJustification => &self.severity_justification,
        };
        v.clone().unwrap_or_default()
    }

    /// The DefectDojo side of a checklist item.
    pub fn to_dojo_item(&self, field: NotesField) -> DojoItem {
        DojoItem {
            finding_id: self.id,
            flags: self.flags(),
            tags: self.tags.clone(),
            notes: self.notes(field),
            updated: self.updated.clone(),
            last_status_update: self.last_status_update.clone(),
        }
    }

    /// The WSTG id this finding is about, as a hint to parse against the
    /// catalogue (`WstgId::parse`), uppercase: from `unique_id_from_tool`,
    /// else a tag like `wstg-info-01` (any case: the original design wrote
    /// `WSTG-INFO-01`), else a title prefix `WSTG-XXXX-NN` (the design's
    /// titles are `"<ID>: <title>"` and have no unique id, docs/defectdojo.md §7).
    /// Version-qualified ids (`WSTG-v42-INFO-01`) are returned as they are.
    pub fn wstg_id_hint(&self) -> Option<String> {
        if let Some(u) = self.unique_id_from_tool.as_deref() {
            if looks_like_wstg_id(u.trim()) {
                return Some(u.trim().to_ascii_uppercase());
            }
        }
        if let Some(t) = self.tags.iter().find(|t| looks_like_wstg_id(t)) {
            return Some(t.to_ascii_uppercase());
        }
        let head = self
            .title
            .trim_start()
            .split(|c: char| c.is_whitespace() || c == ':')
            .next()
            .unwrap_or_default();
        looks_like_wstg_id(head).then(|| head.to_ascii_uppercase())
    }
}

/// `WSTG-XXXX-NN` or `WSTG-vNN-XXXX-NN`, any case; or an id of the other
/// methodologies (issue 12 item 5): ASVS `V2.1.1`, MASTG `MASTG-TEST-0001`.
/// The project's catalogue decides whether it names an item.
pub fn looks_like_wstg_id(s: &str) -> bool {
    looks_like_wstg_form(s) || looks_like_asvs_id(s) || looks_like_mastg_id(s)
}

/// `V2.1.1`, any case (a lowercase tag is `v2.1.1`).
fn looks_like_asvs_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix(['V', 'v']) else {
        return false;
    };
    let parts: Vec<&str> = rest.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `MASTG-TEST-0001`, any case.
fn looks_like_mastg_id(s: &str) -> bool {
    match s.split('-').collect::<Vec<_>>().as_slice() {
        [m, t, n] => {
            m.eq_ignore_ascii_case("mastg")
                && t.eq_ignore_ascii_case("test")
                && n.len() == 4
                && n.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

fn looks_like_wstg_form(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let cat = |p: &str| p.len() == 4 && p.bytes().all(|b| b.is_ascii_alphabetic());
    let num = |p: &str| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit());
    let version = |p: &str| {
        p.len() >= 2
            && (p.starts_with('v') || p.starts_with('V'))
            && p[1..].bytes().all(|b| b.is_ascii_digit())
    };
    match parts.as_slice() {
        [w, c, n] => w.eq_ignore_ascii_case("wstg") && cat(c) && num(n),
        [w, v, c, n] => w.eq_ignore_ascii_case("wstg") && version(v) && cat(c) && num(n),
        _ => false,
    }
}

/// Findings of a test and what reading them cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingPage {
    pub findings: Vec<Finding>,
    /// HTTP requests made (pages read).
    pub requests: u32,
    /// DefectDojo's `count` of the first page: all findings matching the
    /// query, whether or not they were all read.
    pub count: Option<u64>,
}

/// One page of a DRF `LimitOffsetPagination` list.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Page<T> {
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(
        default = "Vec::new",
        deserialize_with = "null_default_vec",
        bound(deserialize = "T: Deserialize<'de>")
    )]
    pub results: Vec<T>,
}

fn null_default_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Named {
    pub id: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ProductRec {
    pub id: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    #[serde(default)]
    pub prod_type: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct EngagementRec {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub product: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TestRec {
    pub id: i64,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub engagement: Option<i64>,
    #[serde(default)]
    pub test_type: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct IdOnly {
    pub id: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn finding(v: serde_json::Value) -> Finding {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn reads_a_recorded_finding_tolerating_nulls_and_extra_fields() {
        // Shape of recorded/25-finding-retrieve.json, trimmed.
        let f = finding(json!({
            "id": 1, "test": 1, "mitigated": null, "request_response": {"req_resp": []},
            "title": "WSTG-INFO-01 Conduct Search Engine Discovery", "severity": "Medium",
            "description": "Checklist item", "mitigation": null, "impact": null,
            "active": true, "verified": false, "false_p": false, "duplicate": false,
            "out_of_scope": false, "risk_accepted": false, "under_review": null,
            "is_mitigated": false, "unique_id_from_tool": "WSTG-INFO-01",
            "tags": ["wstg", "wstg-info-01"], "updated": "2026-11-22T06:16:51.977309Z",
            "last_status_update": "2026-11-22T06:16:51.977427Z", "prefetch": {}
        }));
        assert_eq!(f.id, 1);
        assert!(f.active && !f.under_review);
        assert_eq!(f.notes(NotesField::Mitigation), "");
        let item = f.to_dojo_item(NotesField::Mitigation);
        assert_eq!(item.finding_id, 1);
        assert_eq!(item.tags, vec!["wstg", "wstg-info-01"]);
        assert_eq!(
            item.last_status_update.as_deref(),
            Some("2026-11-22T06:16:51.977427Z")
        );
        // Nulls everywhere optional.
        let f = finding(json!({"id": 2, "test": 3, "title": null, "tags": null, "active": null}));
        assert_eq!(f.title, "");
        assert!(f.tags.is_empty());
        assert!(!f.active);
    }

    #[test]
    fn notes_come_from_the_configured_field() {
        let f = finding(json!({
            "id": 1, "test": 1, "mitigation": "m", "impact": "i",
            "steps_to_reproduce": "s", "severity_justification": "j"
        }));
        assert_eq!(f.notes(NotesField::Mitigation), "m");
        assert_eq!(f.notes(NotesField::Impact), "i");
        assert_eq!(f.notes(NotesField::StepsToReproduce), "s");
        assert_eq!(f.notes(NotesField::SeverityJustification), "j");
        assert_eq!(f.to_dojo_item(NotesField::Impact).notes, "i");
    }

    #[test]
    fn ids_of_other_methodologies_are_hinted_too() {
        let f = finding(json!({
            "id": 1, "test": 1, "tags": ["wstg", "wstg-status:done", "v2.1.1"]
        }));
        assert_eq!(f.wstg_id_hint().as_deref(), Some("V2.1.1"));
        let f =
            finding(json!({"id": 1, "test": 1, "title": "MASTG-TEST-0001 Testing Local Storage"}));
        assert_eq!(f.wstg_id_hint().as_deref(), Some("MASTG-TEST-0001"));
        assert!(!looks_like_wstg_id("v2.1"));
        assert!(!looks_like_wstg_id("version"));
    }

    #[test]
    fn wstg_id_hint_prefers_unique_id_then_tag_then_title() {
        let f = finding(json!({
            "id": 1, "test": 1, "unique_id_from_tool": "WSTG-INFO-02",
            "tags": ["wstg-info-03"], "title": "WSTG-INFO-04 X"
        }));
        assert_eq!(f.wstg_id_hint().as_deref(), Some("WSTG-INFO-02"));
        // The original design: upper-case tags, empty unique id.
        let f = finding(json!({
            "id": 1, "test": 1, "unique_id_from_tool": "",
            "tags": ["WSTG", "WSTG-ATHN-03"], "title": "WSTG-ATHN-03: WSTG-ATHN-03 Test"
        }));
        assert_eq!(f.wstg_id_hint().as_deref(), Some("WSTG-ATHN-03"));
        // Status tags and the bridge tag are not ids; the lowercase id tag is.
        let f = finding(json!({
            "id": 1, "test": 1, "tags": ["wstg", "wstg-status:done", "wstg-conf-01"]
        }));
        assert_eq!(f.wstg_id_hint().as_deref(), Some("WSTG-CONF-01"));
        // Title prefix, with colon or blank, any case.
        for title in [
            "WSTG-INFO-01: Conduct OSINT Reconnaissance",
            "Wstg-Info-01 Conduct",
            "WSTG-INFO-01",
        ] {
            let f = finding(json!({"id": 1, "test": 1, "title": title}));
            assert_eq!(f.wstg_id_hint().as_deref(), Some("WSTG-INFO-01"), "{title}");
        }
        let f = finding(json!({"id": 1, "test": 1, "title": "WSTG-v42-INFO-01 x"}));
        assert_eq!(f.wstg_id_hint().as_deref(), Some("WSTG-V42-INFO-01"));
        // Not at the start, or not an id: nothing.
        for title in ["About WSTG-INFO-01", "WSTG-INFO-1 x", "WSTG-INF0-01", ""] {
            let f = finding(json!({"id": 1, "test": 1, "title": title}));
            assert_eq!(f.wstg_id_hint(), None, "{title}");
        }
        // A unique id that is not a WSTG id does not win over a tag.
        let f = finding(json!({
            "id": 1, "test": 1, "unique_id_from_tool": "scanner-123", "tags": ["wstg-info-05"]
        }));
        assert_eq!(f.wstg_id_hint().as_deref(), Some("WSTG-INFO-05"));
    }

    #[test]
    fn pages_read_with_missing_or_null_parts() {
        let p: Page<Named> = serde_json::from_value(json!({
            "count": 1, "next": null, "previous": null,
            "results": [{"id": 3, "name": "Pen Test", "static_tool": false}]
        }))
        .unwrap();
        assert_eq!(p.results[0].id, 3);
        assert!(p.next.is_none());
        let p: Page<Named> = serde_json::from_value(json!({"results": null})).unwrap();
        assert!(p.results.is_empty());
    }
}
