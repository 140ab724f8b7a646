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

use crate::wstg_id::WstgId;

/// Attribution that must accompany the catalogue wherever it is shown.
pub const ATTRIBUTION: &str = "OWASP Web Security Testing Guide (WSTG), OWASP Foundation, \
https://github.com/OWASP/wstg, licensed CC BY-SA 4.0";

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
}

impl CatalogueVersion {
    pub const ALL: [CatalogueVersion; 3] = [
        CatalogueVersion::V4_2,
        CatalogueVersion::Latest,
        CatalogueVersion::TrackerSnapshot2025_03_29,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CatalogueVersion::V4_2 => "4.2",
            CatalogueVersion::Latest => "latest",
            CatalogueVersion::TrackerSnapshot2025_03_29 => "tracker-2025-03-29",
        }
    }

    fn raw_json(self) -> &'static str {
        match self {
            CatalogueVersion::V4_2 => include_str!("../../../catalogue/wstg-4.2.json"),
            CatalogueVersion::Latest => include_str!("../../../catalogue/wstg-latest.json"),
            CatalogueVersion::TrackerSnapshot2025_03_29 => {
                include_str!("../../../catalogue/wstg-tracker-snapshot-2025-03-29.json")
            }
        }
    }
}

impl fmt::Display for CatalogueVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown WSTG catalogue version '{0}' (known: 4.2, latest, tracker-2025-03-29)")]
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
        static CATALOGUES: [OnceLock<Catalogue>; 3] =
            [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let slot = match version {
            CatalogueVersion::V4_2 => &CATALOGUES[0],
            CatalogueVersion::Latest => &CATALOGUES[1],
            CatalogueVersion::TrackerSnapshot2025_03_29 => &CATALOGUES[2],
        };
        slot.get_or_init(|| Catalogue::load(version))
    }

    fn load(version: CatalogueVersion) -> Catalogue {
        // The files are compiled in and covered by tests, so a parse failure
        // is a build defect, not a runtime condition.
        #[allow(clippy::expect_used)]
        let raw: RawCatalogue = serde_json::from_str(version.raw_json())
            .expect("embedded WSTG catalogue is valid JSON");
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
                    crate::wstg_id::is_canonical_shape(&e.id),
                    "{} in {v} is not WSTG-XXXX-NN",
                    e.id
                );
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
}
