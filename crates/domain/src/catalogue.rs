//! The OWASP WSTG catalogue as data.
//!
//! Test ids change meaning between WSTG versions (WSTG-APIT-01 is "Testing
//! GraphQL" in 4.2 and something else in later drafts), so the catalogue
//! version is explicit configuration and every id is checked against it.
//!
//! The catalogue files are OWASP's work: OWASP Web Security Testing Guide,
//! OWASP Foundation, <https://github.com/OWASP/wstg>, CC BY-SA 4.0. They are
//! embedded unmodified from `catalogue/` at the repository root.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::methodology::Methodology;
use crate::wstg_id::WstgId;

/// Attribution that must accompany the catalogue wherever it is shown.
pub const ATTRIBUTION: &str = "OWASP Web Security Testing Guide (WSTG), OWASP Foundation, \
https://github.com/OWASP/wstg, licensed CC BY-SA 4.0";

/// Attribution of the ASVS catalogues.
pub const ASVS_ATTRIBUTION: &str = "OWASP Application Security Verification Standard (ASVS), \
OWASP Foundation, https://github.com/OWASP/ASVS, licensed CC BY-SA 4.0";

/// Attribution of the MASTG catalogue.
pub const MASTG_ATTRIBUTION: &str = "OWASP Mobile Application Security Testing Guide (MASTG), \
OWASP Foundation, https://github.com/OWASP/owasp-mastg, licensed CC BY-SA 4.0";

/// The catalogue versions shipped with wstg-bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum CatalogueVersion {
    /// The stable 4.2 release (97 tests). The default.
    #[default]
    #[serde(rename = "4.2")]
    V4_2,
    /// The development "latest" guide.
    #[serde(rename = "latest")]
    Latest,
    /// The master snapshot of 2025-03-29 that the popular WSTG tracker embeds.
    #[serde(rename = "tracker-2025-03-29")]
    TrackerSnapshot2025_03_29,
    /// OWASP ASVS 4.0.3 (278 requirements; the 8 deleted ones are left out).
    #[serde(rename = "asvs-4.0.3")]
    Asvs4_0_3,
    /// OWASP ASVS 5.0.0 (345 requirements).
    #[serde(rename = "asvs-5.0")]
    Asvs5_0,
    /// OWASP MASTG tests (v1 and v2 "beta" tests; MASTG is not versioned).
    #[serde(rename = "mastg")]
    MastgLatest,
}

impl CatalogueVersion {
    pub const ALL: [CatalogueVersion; 6] = [
        CatalogueVersion::V4_2,
        CatalogueVersion::Latest,
        CatalogueVersion::TrackerSnapshot2025_03_29,
        CatalogueVersion::Asvs4_0_3,
        CatalogueVersion::Asvs5_0,
        CatalogueVersion::MastgLatest,
    ];

    /// The guide this catalogue belongs to.
    pub fn methodology(self) -> Methodology {
        match self {
            CatalogueVersion::V4_2
            | CatalogueVersion::Latest
            | CatalogueVersion::TrackerSnapshot2025_03_29 => Methodology::Wstg,
            CatalogueVersion::Asvs4_0_3 | CatalogueVersion::Asvs5_0 => Methodology::Asvs,
            CatalogueVersion::MastgLatest => Methodology::Mastg,
        }
    }

    /// The version within its methodology (`4.0.3`; WSTG's are their names).
    pub fn version_str(self) -> &'static str {
        match self {
            CatalogueVersion::Asvs4_0_3 => "4.0.3",
            CatalogueVersion::Asvs5_0 => "5.0",
            CatalogueVersion::MastgLatest => "latest",
            wstg => wstg.as_str(),
        }
    }

    /// `WSTG 4.2`, `OWASP ASVS 4.0.3`, `OWASP MASTG latest`: what messages
    /// and DefectDojo titles call this catalogue.
    pub fn label(self) -> String {
        match self.methodology() {
            Methodology::Wstg => format!("WSTG {}", self.as_str()),
            m => format!("{} {}", m.display_name(), self.version_str()),
        }
    }

    /// Credit that must accompany this catalogue wherever it is shown.
    pub fn attribution(self) -> &'static str {
        match self.methodology() {
            Methodology::Wstg => ATTRIBUTION,
            Methodology::Asvs => ASVS_ATTRIBUTION,
            Methodology::Mastg => MASTG_ATTRIBUTION,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CatalogueVersion::V4_2 => "4.2",
            CatalogueVersion::Latest => "latest",
            CatalogueVersion::TrackerSnapshot2025_03_29 => "tracker-2025-03-29",
            CatalogueVersion::Asvs4_0_3 => "asvs-4.0.3",
            CatalogueVersion::Asvs5_0 => "asvs-5.0",
            CatalogueVersion::MastgLatest => "mastg",
        }
    }

    fn raw_json(self) -> &'static str {
        match self {
            CatalogueVersion::V4_2 => include_str!("../../../catalogue/wstg-4.2.json"),
            CatalogueVersion::Latest => include_str!("../../../catalogue/wstg-latest.json"),
            CatalogueVersion::TrackerSnapshot2025_03_29 => {
                include_str!("../../../catalogue/wstg-tracker-snapshot-2025-03-29.json")
            }
            CatalogueVersion::Asvs4_0_3 => include_str!("../../../catalogue/asvs-4.0.3.json"),
            CatalogueVersion::Asvs5_0 => include_str!("../../../catalogue/asvs-5.0.json"),
            CatalogueVersion::MastgLatest => include_str!("../../../catalogue/mastg.json"),
        }
    }
}

impl fmt::Display for CatalogueVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown catalogue version '{0}' (known: 4.2, latest, tracker-2025-03-29, asvs-4.0.3, asvs-5.0, mastg)")]
pub struct UnknownCatalogueVersion(pub String);

impl FromStr for CatalogueVersion {
    type Err = UnknownCatalogueVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "4.2" | "v4.2" | "42" | "v42" => Ok(CatalogueVersion::V4_2),
            "latest" => Ok(CatalogueVersion::Latest),
            "tracker-2025-03-29" | "master-2025-03-29" | "tracker" => {
                Ok(CatalogueVersion::TrackerSnapshot2025_03_29)
            }
            "asvs-4.0.3" | "asvs" => Ok(CatalogueVersion::Asvs4_0_3),
            "asvs-5.0" | "asvs-5.0.0" => Ok(CatalogueVersion::Asvs5_0),
            "mastg" | "mastg-latest" => Ok(CatalogueVersion::MastgLatest),
            _ => Err(UnknownCatalogueVersion(s.to_owned())),
        }
    }
}

/// One WSTG test case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueEntry {
    pub id: String,
    pub category_id: String,
    pub category_name: String,
    pub title: String,
    #[serde(default)]
    pub objectives: Vec<String>,
    /// The guide page for this test.
    #[serde(rename = "reference")]
    pub guide_url: String,
    /// Set when the guide page no longer exists upstream.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub guide_page_removed: bool,
}

#[derive(Deserialize)]
struct RawCatalogue {
    tests: Vec<CatalogueEntry>,
}

/// A loaded catalogue: the ordered list of tests and an index by id.
#[derive(Debug)]
pub struct Catalogue {
    version: CatalogueVersion,
    entries: Vec<CatalogueEntry>,
    by_id: HashMap<String, usize>,
}

impl Catalogue {
    /// The catalogue for `version`, parsed once per process.
    pub fn get(version: CatalogueVersion) -> &'static Catalogue {
        static CATALOGUES: [OnceLock<Catalogue>; CatalogueVersion::ALL.len()] =
            [const { OnceLock::new() }; CatalogueVersion::ALL.len()];
        let slot = match version {
            CatalogueVersion::V4_2 => &CATALOGUES[0],
            CatalogueVersion::Latest => &CATALOGUES[1],
            CatalogueVersion::TrackerSnapshot2025_03_29 => &CATALOGUES[2],
            CatalogueVersion::Asvs4_0_3 => &CATALOGUES[3],
            CatalogueVersion::Asvs5_0 => &CATALOGUES[4],
            CatalogueVersion::MastgLatest => &CATALOGUES[5],
        };
        slot.get_or_init(|| Catalogue::load(version))
    }

    fn load(version: CatalogueVersion) -> Catalogue {
        // The files are compiled in and covered by tests, so a parse failure
        // is a build defect, not a runtime condition.
        #[allow(clippy::expect_used)]
        let raw: RawCatalogue =
            serde_json::from_str(version.raw_json()).expect("embedded catalogue is valid JSON");
        // The tracker snapshot lists WSTG-INPV-13 twice: the removed "Buffer
        // Overflow" page and "Format String Injection", which replaced it.
        // An id must name one test, so a removed page gives way to a live one.
        let mut entries: Vec<CatalogueEntry> = Vec::with_capacity(raw.tests.len());
        let mut by_id = HashMap::new();
        for entry in raw.tests {
            match by_id.get(&entry.id) {
                None => {
                    by_id.insert(entry.id.clone(), entries.len());
                    entries.push(entry);
                }
                Some(&i) if entries[i].guide_page_removed && !entry.guide_page_removed => {
                    entries[i] = entry;
                }
                Some(_) => {}
            }
        }
        Catalogue {
            version,
            entries,
            by_id,
        }
    }

    pub fn version(&self) -> CatalogueVersion {
        self.version
    }

    pub fn methodology(&self) -> Methodology {
        self.version.methodology()
    }

    /// The chapters (WSTG categories, ASVS chapters, MASVS categories) as
    /// `(id, name)`, in catalogue order.
    pub fn chapters(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        for e in &self.entries {
            if !out.iter().any(|(id, _)| *id == e.category_id) {
                out.push((&e.category_id, &e.category_name));
            }
        }
        out
    }

    pub fn entries(&self) -> &[CatalogueEntry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entry(&self, id: &WstgId) -> Option<&CatalogueEntry> {
        self.by_id.get(id.as_str()).map(|&i| &self.entries[i])
    }

    pub(crate) fn contains(&self, canonical_id: &str) -> bool {
        self.by_id.contains_key(canonical_id)
    }

    /// Parses a tracker-supplied id against this catalogue.
    pub fn parse_id(&self, raw: &str) -> Result<WstgId, crate::wstg_id::WstgIdError> {
        WstgId::parse(raw, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_catalogue_loads_with_its_documented_size() {
        assert_eq!(Catalogue::get(CatalogueVersion::V4_2).len(), 97);
        assert_eq!(Catalogue::get(CatalogueVersion::Latest).len(), 113);
        assert_eq!(
            Catalogue::get(CatalogueVersion::TrackerSnapshot2025_03_29).len(),
            109
        );
        let snapshot = Catalogue::get(CatalogueVersion::TrackerSnapshot2025_03_29);
        let inpv13 = snapshot.parse_id("WSTG-INPV-13").unwrap();
        assert_eq!(
            snapshot.entry(&inpv13).unwrap().title,
            "Testing for Format String Injection"
        );
    }

    #[test]
    fn ids_are_unique_and_canonical_in_every_catalogue() {
        for v in CatalogueVersion::ALL {
            let c = Catalogue::get(v);
            assert_eq!(c.by_id.len(), c.len(), "duplicate id in {v}");
            for e in c.entries() {
                assert!(
                    crate::wstg_id::is_canonical_shape_of(v.methodology(), &e.id),
                    "{} in {v} is not a canonical {} id",
                    e.id,
                    v.methodology()
                );
                // Every id survives its own parse (Redis keys, tags and
                // URLs use this form).
                assert_eq!(c.parse_id(&e.id).map(|i| i.to_string()), Ok(e.id.clone()));
            }
        }
    }

    #[test]
    fn versions_parse_from_their_names_and_reject_others() {
        for v in CatalogueVersion::ALL {
            assert_eq!(v.as_str().parse::<CatalogueVersion>(), Ok(v));
        }
        assert!("4.1".parse::<CatalogueVersion>().is_err());
    }

    fn chapter_counts(v: CatalogueVersion) -> Vec<(String, usize)> {
        let c = Catalogue::get(v);
        c.chapters()
            .into_iter()
            .map(|(id, _)| {
                let n = c.entries().iter().filter(|e| e.category_id == id).count();
                (id.to_owned(), n)
            })
            .collect()
    }

    #[test]
    fn asvs_4_0_3_has_278_requirements_in_chapters_v1_to_v14() {
        let c = Catalogue::get(CatalogueVersion::Asvs4_0_3);
        assert_eq!(c.len(), 278);
        assert_eq!(c.methodology(), Methodology::Asvs);
        let chapters: Vec<String> = chapter_counts(c.version())
            .into_iter()
            .map(|c| c.0)
            .collect();
        let expected: Vec<String> = (1..=14).map(|n| format!("V{n}")).collect();
        assert_eq!(chapters, expected);
        assert_eq!(chapter_counts(c.version())[1], ("V2".to_owned(), 57));
        let id = c.parse_id("V2.1.1").unwrap();
        assert!(c
            .entry(&id)
            .unwrap()
            .title
            .contains("at least 12 characters"));
        // Deleted requirements are no checklist items.
        assert!(matches!(
            c.parse_id("V1.4.2"),
            Err(crate::wstg_id::WstgIdError::NotInCatalogue { .. })
        ));
    }

    #[test]
    fn asvs_5_0_has_345_requirements_in_chapters_v1_to_v17() {
        let c = Catalogue::get(CatalogueVersion::Asvs5_0);
        assert_eq!(c.len(), 345);
        let chapters: Vec<String> = chapter_counts(c.version())
            .into_iter()
            .map(|c| c.0)
            .collect();
        let expected: Vec<String> = (1..=17).map(|n| format!("V{n}")).collect();
        assert_eq!(chapters, expected);
        assert_eq!(c.chapters()[5], ("V6", "Authentication"));
    }

    #[test]
    fn mastg_has_178_tests_in_the_eight_masvs_categories() {
        let c = Catalogue::get(CatalogueVersion::MastgLatest);
        assert_eq!(c.len(), 178);
        let ids: Vec<&str> = c.chapters().into_iter().map(|c| c.0).collect();
        assert_eq!(
            ids,
            [
                "MASVS-STORAGE",
                "MASVS-CRYPTO",
                "MASVS-AUTH",
                "MASVS-NETWORK",
                "MASVS-PLATFORM",
                "MASVS-CODE",
                "MASVS-RESILIENCE",
                "MASVS-PRIVACY"
            ]
        );
        assert!(c.parse_id("MASTG-TEST-0001").is_ok());
    }

    #[test]
    fn each_catalogue_names_its_methodology_and_credit() {
        assert_eq!(CatalogueVersion::Asvs4_0_3.label(), "OWASP ASVS 4.0.3");
        assert_eq!(CatalogueVersion::V4_2.label(), "WSTG 4.2");
        assert!(CatalogueVersion::MastgLatest
            .attribution()
            .contains("MASTG"));
        assert!(CatalogueVersion::Asvs5_0
            .attribution()
            .contains("CC BY-SA 4.0"));
    }
}
