//! `Methodology`: which OWASP guide a project's checklist follows.
//!
//! The catalogue is data per (methodology, version); a project picks one when
//! it is created and keeps it, because an id means nothing outside its guide
//! (`V2.1.1` is "password length" in ASVS 4.0.3 and something else in 5.0).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::catalogue::CatalogueVersion;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Methodology {
    /// OWASP Web Security Testing Guide (the default, as before).
    #[default]
    Wstg,
    /// OWASP Application Security Verification Standard.
    Asvs,
    /// OWASP Mobile Application Security Testing Guide.
    Mastg,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown methodology '{0}' (known: wstg, asvs, mastg)")]
pub struct UnknownMethodology(pub String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{methodology} has no version '{version}' (known: {known})")]
pub struct UnknownMethodologyVersion {
    pub methodology: Methodology,
    pub version: String,
    pub known: String,
}

impl Methodology {
    pub const ALL: [Methodology; 3] = [Methodology::Wstg, Methodology::Asvs, Methodology::Mastg];

    /// The lowercase name stored and accepted (`asvs`).
    pub fn as_str(self) -> &'static str {
        match self {
            Methodology::Wstg => "wstg",
            Methodology::Asvs => "asvs",
            Methodology::Mastg => "mastg",
        }
    }

    /// The name people read (`OWASP ASVS`); also the DefectDojo test type
    /// of a project that follows it (WSTG keeps the configured test type).
    pub fn display_name(self) -> &'static str {
        match self {
            Methodology::Wstg => "OWASP WSTG",
            Methodology::Asvs => "OWASP ASVS",
            Methodology::Mastg => "OWASP MASTG",
        }
    }

    /// What the guide calls its chapters, for the page.
    pub fn chapter_word(self) -> &'static str {
        match self {
            Methodology::Wstg => "category",
            Methodology::Asvs => "chapter",
            Methodology::Mastg => "MASVS category",
        }
    }

    /// The versions shipped for this methodology, default first.
    pub fn versions(self) -> Vec<CatalogueVersion> {
        CatalogueVersion::ALL
            .into_iter()
            .filter(|v| v.methodology() == self)
            .collect()
    }

    /// The catalogue of this methodology at `version` (`None`: its default).
    pub fn catalogue(
        self,
        version: Option<&str>,
    ) -> Result<CatalogueVersion, UnknownMethodologyVersion> {
        let versions = self.versions();
        let Some(version) = version.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(versions[0]);
        };
        let wanted = version.trim_start_matches(['v', 'V']).to_ascii_lowercase();
        versions
            .iter()
            .copied()
            .find(|v| {
                v.version_str() == wanted
                    // "5.0.0" names the 5.0 release; "4.0" names 4.0.3.
                    || wanted.strip_suffix(".0") == Some(v.version_str())
                    || (self != Methodology::Wstg && v.version_str().starts_with(&wanted)
                        && wanted.contains('.'))
                    || (self == Methodology::Wstg && v.as_str().parse::<CatalogueVersion>().ok()
                        == version.parse::<CatalogueVersion>().ok())
            })
            .ok_or_else(|| UnknownMethodologyVersion {
                methodology: self,
                version: version.to_owned(),
                known: versions
                    .iter()
                    .map(|v| v.version_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// Why a project's `--methodology`/`--version` choice was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogueChoiceError {
    #[error(transparent)]
    Methodology(#[from] UnknownMethodology),
    #[error(transparent)]
    Version(#[from] UnknownMethodologyVersion),
    #[error(transparent)]
    Catalogue(#[from] crate::catalogue::UnknownCatalogueVersion),
}

impl CatalogueChoiceError {
    /// The field (or flag, without its dashes) the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            CatalogueChoiceError::Methodology(_) => "methodology",
            _ => "version",
        }
    }
}

/// The catalogue a new project asks for: `None` when it names neither a
/// methodology nor a version (it follows the configured default). A version
/// alone is a catalogue name (`4.2`, `latest`, `asvs-4.0.3`).
pub fn choose_catalogue(
    methodology: Option<&str>,
    version: Option<&str>,
) -> Result<Option<CatalogueVersion>, CatalogueChoiceError> {
    match (methodology, version) {
        (None, None) => Ok(None),
        (None, Some(v)) => Ok(Some(v.parse()?)),
        (Some(m), v) => Ok(Some(m.parse::<Methodology>()?.catalogue(v)?)),
    }
}

impl fmt::Display for Methodology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

impl FromStr for Methodology {
    type Err = UnknownMethodology;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "wstg" | "owasp-wstg" => Ok(Methodology::Wstg),
            "asvs" | "owasp-asvs" => Ok(Methodology::Asvs),
            "mastg" | "owasp-mastg" | "mstg" => Ok(Methodology::Mastg),
            _ => Err(UnknownMethodology(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methodologies_parse_and_pick_their_versions() {
        assert_eq!("ASVS".parse(), Ok(Methodology::Asvs));
        assert!("owasp".parse::<Methodology>().is_err());
        let asvs = Methodology::Asvs;
        assert_eq!(asvs.catalogue(None), Ok(CatalogueVersion::Asvs4_0_3));
        assert_eq!(
            asvs.catalogue(Some("4.0.3")),
            Ok(CatalogueVersion::Asvs4_0_3)
        );
        assert_eq!(
            asvs.catalogue(Some("v4.0.3")),
            Ok(CatalogueVersion::Asvs4_0_3)
        );
        assert_eq!(asvs.catalogue(Some("5.0")), Ok(CatalogueVersion::Asvs5_0));
        assert_eq!(asvs.catalogue(Some("5.0.0")), Ok(CatalogueVersion::Asvs5_0));
        let err = asvs.catalogue(Some("3.0")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "OWASP ASVS has no version '3.0' (known: 4.0.3, 5.0)"
        );
        assert_eq!(
            Methodology::Wstg.catalogue(None),
            Ok(CatalogueVersion::V4_2)
        );
        assert_eq!(
            Methodology::Wstg.catalogue(Some("latest")),
            Ok(CatalogueVersion::Latest)
        );
        assert_eq!(
            Methodology::Wstg.catalogue(Some("tracker-2025-03-29")),
            Ok(CatalogueVersion::TrackerSnapshot2025_03_29)
        );
        assert!(Methodology::Wstg.catalogue(Some("4.0.3")).is_err());
        assert_eq!(
            Methodology::Mastg.catalogue(None),
            Ok(CatalogueVersion::MastgLatest)
        );
    }

    #[test]
    fn a_project_choice_names_the_bad_field() {
        assert_eq!(choose_catalogue(None, None), Ok(None));
        assert_eq!(
            choose_catalogue(Some("asvs"), Some("4.0.3")),
            Ok(Some(CatalogueVersion::Asvs4_0_3))
        );
        assert_eq!(
            choose_catalogue(None, Some("latest")),
            Ok(Some(CatalogueVersion::Latest))
        );
        assert_eq!(
            choose_catalogue(Some("pci"), None).unwrap_err().field(),
            "methodology"
        );
        assert_eq!(
            choose_catalogue(Some("asvs"), Some("9"))
                .unwrap_err()
                .field(),
            "version"
        );
    }
}
