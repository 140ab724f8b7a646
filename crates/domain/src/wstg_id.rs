//! `WstgId`: a WSTG test id that is known to exist in the configured catalogue.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalogue::{Catalogue, CatalogueVersion};

/// A canonical WSTG id (`WSTG-INFO-01`) that exists in a catalogue.
///
/// It can only be built by parsing against a catalogue, so holding one means
/// the id was checked. Deserialising (from our own queue or store) trusts the
/// stored value, which was checked when it was first accepted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WstgId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WstgIdError {
    #[error("is empty")]
    Empty,
    #[error("'{0}' is not a WSTG id of the form WSTG-XXXX-NN (e.g. WSTG-INFO-01)")]
    Malformed(String),
    #[error("'{id}' is not in the WSTG {version} catalogue")]
    NotInCatalogue {
        id: String,
        version: CatalogueVersion,
    },
    #[error("'{raw}' is qualified for WSTG {qualifier}, but this bridge uses the WSTG {version} catalogue")]
    WrongVersion {
        raw: String,
        qualifier: String,
        version: CatalogueVersion,
    },
}

pub(crate) fn is_canonical_shape(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 12
        && s.starts_with("WSTG-")
        && b[5..9].iter().all(u8::is_ascii_uppercase)
        && b[9] == b'-'
        && b[10..12].iter().all(u8::is_ascii_digit)
}

/// `WSTG-<letters>-<two digits>`: an id's form, whatever the category's
/// length (the catalogue's are four letters).
fn has_id_form(s: &str) -> bool {
    match s.split('-').collect::<Vec<_>>().as_slice() {
        ["WSTG", cat, num] => {
            !cat.is_empty()
                && cat.bytes().all(|b| b.is_ascii_uppercase())
                && num.len() == 2
                && num.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

impl WstgId {
    /// Parses `raw` (case-insensitive, surrounding blanks ignored) against
    /// `catalogue`. The OWASP version-qualified form `WSTG-v42-INFO-02` is
    /// accepted when its version is the catalogue's.
    pub fn parse(raw: &str, catalogue: &Catalogue) -> Result<WstgId, WstgIdError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(WstgIdError::Empty);
        }
        let upper = trimmed.to_ascii_uppercase();
        let canonical = match upper.split('-').collect::<Vec<_>>().as_slice() {
            ["WSTG", cat, num] => format!("WSTG-{cat}-{num}"),
            ["WSTG", qualifier, cat, num] if qualifier.starts_with('V') => {
                let expected = match catalogue.version() {
                    CatalogueVersion::V4_2 => Some("V42"),
                    _ => None,
                };
                if expected != Some(*qualifier) {
                    return Err(WstgIdError::WrongVersion {
                        raw: trimmed.to_owned(),
                        qualifier: qualifier.to_ascii_lowercase(),
                        version: catalogue.version(),
                    });
                }
                format!("WSTG-{cat}-{num}")
            }
            _ => return Err(WstgIdError::Malformed(trimmed.to_owned())),
        };
        if !is_canonical_shape(&canonical) {
            // `WSTG-FOO-99` has the form of an id (letters, two digits) and
            // names no test: say that, not "malformed", which sends the user
            // looking for a typo in the format.
            if has_id_form(&canonical) {
                return Err(WstgIdError::NotInCatalogue {
                    id: canonical,
                    version: catalogue.version(),
                });
            }
            return Err(WstgIdError::Malformed(trimmed.to_owned()));
        }
        if !catalogue.contains(&canonical) {
            return Err(WstgIdError::NotInCatalogue {
                id: canonical,
                version: catalogue.version(),
            });
        }
        Ok(WstgId(canonical))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lowercase form DefectDojo stores as a tag (`wstg-info-01`).
    pub fn tag(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    /// The category part (`INFO`).
    pub fn category(&self) -> &str {
        &self.0[5..9]
    }
}

impl fmt::Display for WstgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for WstgId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v42() -> &'static Catalogue {
        Catalogue::get(CatalogueVersion::V4_2)
    }

    #[test]
    fn parses_canonical_and_loose_spellings() {
        for raw in [
            "WSTG-INFO-01",
            "wstg-info-01",
            "  Wstg-Info-01 ",
            "WSTG-v42-INFO-01",
        ] {
            assert_eq!(
                WstgId::parse(raw, v42()).map(|i| i.0),
                Ok("WSTG-INFO-01".into())
            );
        }
    }

    #[test]
    fn rejects_malformed_ids_with_the_reason() {
        for raw in [
            "INFO-01",
            "WSTG-INFO-1",
            "WSTG-INF0-01",
            "WSTG_INFO_01",
            "WSTG-INFO-01-02",
        ] {
            assert!(
                matches!(WstgId::parse(raw, v42()), Err(WstgIdError::Malformed(_))),
                "{raw}"
            );
        }
        assert_eq!(WstgId::parse(" ", v42()), Err(WstgIdError::Empty));
    }

    #[test]
    fn an_id_missing_from_the_catalogue_names_the_version() {
        let err = WstgId::parse("WSTG-APIT-02", v42()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "'WSTG-APIT-02' is not in the WSTG 4.2 catalogue"
        );
        let latest = Catalogue::get(CatalogueVersion::Latest);
        assert!(WstgId::parse("WSTG-APIT-02", latest).is_ok());
        // The form of an id with a category no catalogue has: unknown, not
        // malformed.
        assert_eq!(
            WstgId::parse("wstg-foo-99", v42()).unwrap_err().to_string(),
            "'WSTG-FOO-99' is not in the WSTG 4.2 catalogue"
        );
    }

    #[test]
    fn a_qualifier_for_another_version_is_rejected() {
        let latest = Catalogue::get(CatalogueVersion::Latest);
        assert!(matches!(
            WstgId::parse("WSTG-v42-INFO-01", latest),
            Err(WstgIdError::WrongVersion { .. })
        ));
    }

    #[test]
    fn tag_and_category() {
        let id = WstgId::parse("WSTG-ATHN-03", v42()).unwrap();
        assert_eq!(id.tag(), "wstg-athn-03");
        assert_eq!(id.category(), "ATHN");
    }
}
