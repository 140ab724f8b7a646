//! `WstgId`: a catalogue item id that is known to exist in its project's
//! catalogue. The name is historical: besides WSTG ids (`WSTG-INFO-01`) it
//! holds ASVS requirement ids (`V2.1.1`) and MASTG test ids
//! (`MASTG-TEST-0001`), each parsed against a catalogue of its methodology.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalogue::{Catalogue, CatalogueVersion};
use crate::methodology::Methodology;

/// A canonical id (`WSTG-INFO-01`, `V2.1.1`, `MASTG-TEST-0001`) that exists
/// in a catalogue. Every canonical form is ASCII without blanks, commas or
/// quotes, so it is safe in Redis keys, URLs and (lowercased) DefectDojo tags.
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
    #[error("'{id}' is not in the {} catalogue", version.label())]
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
    /// Not an id of the project's methodology at all (a WSTG id given to an
    /// ASVS project, say).
    #[error("'{raw}' is not an {} id of the form {form}", version.label())]
    NotAnIdOf {
        raw: String,
        version: CatalogueVersion,
        form: &'static str,
    },
}

/// Whether `s` is the canonical form of an id of `methodology`.
pub fn is_canonical_shape_of(methodology: Methodology, s: &str) -> bool {
    match methodology {
        Methodology::Wstg => is_canonical_shape(s),
        Methodology::Asvs => asvs_canonical(s).as_deref() == Some(s),
        Methodology::Mastg => mastg_canonical(s).as_deref() == Some(s),
    }
}

/// `V2.1.1` from `V2.1.1`, `v2.1.1` or `2.1.1` (ASVS writes both); `None`
/// for anything else. Numbers lose leading zeros (`V02.1.1` is `V2.1.1`).
fn asvs_canonical(s: &str) -> Option<String> {
    let rest = s.strip_prefix(['V', 'v']).unwrap_or(s);
    let parts: Vec<&str> = rest.split('.').collect();
    if parts.len() != 3 {
        return None;
    }
    let mut nums = Vec::with_capacity(3);
    for p in parts {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        nums.push(p.parse::<u16>().ok()?);
    }
    Some(format!("V{}.{}.{}", nums[0], nums[1], nums[2]))
}

/// `MASTG-TEST-0001` from any case; `None` for anything else.
fn mastg_canonical(s: &str) -> Option<String> {
    let upper = s.to_ascii_uppercase();
    match upper.split('-').collect::<Vec<_>>().as_slice() {
        ["MASTG", "TEST", num] if num.len() == 4 && num.bytes().all(|b| b.is_ascii_digit()) => {
            Some(format!("MASTG-TEST-{num}"))
        }
        _ => None,
    }
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
    ///
    /// ASVS ids are `V2.1.1` (or `2.1.1`), optionally qualified with the
    /// version as ASVS recommends (`v4.0.3-2.1.1`); MASTG ids are
    /// `MASTG-TEST-0001`.
    pub fn parse(raw: &str, catalogue: &Catalogue) -> Result<WstgId, WstgIdError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(WstgIdError::Empty);
        }
        match catalogue.methodology() {
            Methodology::Wstg => Self::parse_wstg(trimmed, catalogue),
            Methodology::Asvs => Self::parse_asvs(trimmed, catalogue),
            Methodology::Mastg => {
                let canonical = mastg_canonical(trimmed).ok_or_else(|| WstgIdError::NotAnIdOf {
                    raw: trimmed.to_owned(),
                    version: catalogue.version(),
                    form: "MASTG-TEST-NNNN (e.g. MASTG-TEST-0001)",
                })?;
                Self::known(canonical, catalogue)
            }
        }
    }

    fn known(canonical: String, catalogue: &Catalogue) -> Result<WstgId, WstgIdError> {
        if !catalogue.contains(&canonical) {
            return Err(WstgIdError::NotInCatalogue {
                id: canonical,
                version: catalogue.version(),
            });
        }
        Ok(WstgId(canonical))
    }

    fn parse_asvs(trimmed: &str, catalogue: &Catalogue) -> Result<WstgId, WstgIdError> {
        let not_an_id = || WstgIdError::NotAnIdOf {
            raw: trimmed.to_owned(),
            version: catalogue.version(),
            form: "V<chapter>.<section>.<requirement> (e.g. V2.1.1)",
        };
        let id = match trimmed.split_once('-') {
            None => trimmed,
            Some((qualifier, id)) => {
                let q = qualifier.strip_prefix(['v', 'V']).unwrap_or(qualifier);
                let is_version =
                    !q.is_empty() && q.bytes().all(|b| b.is_ascii_digit() || b == b'.');
                if !is_version || asvs_canonical(id).is_none() {
                    return Err(not_an_id());
                }
                let ours = catalogue.version().version_str();
                if q != ours && q.strip_suffix(".0") != Some(ours) {
                    return Err(WstgIdError::WrongVersion {
                        raw: trimmed.to_owned(),
                        qualifier: format!("v{q}"),
                        version: catalogue.version(),
                    });
                }
                id
            }
        };
        Self::known(asvs_canonical(id).ok_or_else(not_an_id)?, catalogue)
    }

    fn parse_wstg(trimmed: &str, catalogue: &Catalogue) -> Result<WstgId, WstgIdError> {
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
        Self::known(canonical, catalogue)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lowercase form DefectDojo stores as a tag (`wstg-info-01`,
    /// `v2.1.1`, `mastg-test-0001`: DefectDojo refuses only blanks, commas
    /// and quotes in a tag, docs/defectdojo.md §2).
    pub fn tag(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    /// The category the id itself names (`INFO`, ASVS's chapter `V2`);
    /// MASTG ids name none (`MASTG`): the catalogue entry has the category.
    pub fn category(&self) -> &str {
        if self.0.starts_with("WSTG-") {
            &self.0[5..9]
        } else if self.0.starts_with("MASTG-") {
            "MASTG"
        } else {
            self.0.split('.').next().unwrap_or(&self.0)
        }
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
    fn asvs_ids_parse_against_an_asvs_catalogue_only() {
        let asvs = Catalogue::get(CatalogueVersion::Asvs4_0_3);
        for raw in [
            "V2.1.1",
            "v2.1.1",
            " 2.1.1 ",
            "v4.0.3-2.1.1",
            "V4.0.3-V2.1.1",
        ] {
            assert_eq!(
                WstgId::parse(raw, asvs).map(|i| i.0),
                Ok("V2.1.1".into()),
                "{raw}"
            );
        }
        let err = WstgId::parse("WSTG-INFO-01", asvs).unwrap_err();
        assert_eq!(
            err.to_string(),
            "'WSTG-INFO-01' is not an OWASP ASVS 4.0.3 id of the form V<chapter>.<section>.<requirement> (e.g. V2.1.1)"
        );
        assert!(matches!(
            WstgId::parse("v5.0-2.1.1", asvs),
            Err(WstgIdError::WrongVersion { .. })
        ));
        assert_eq!(
            WstgId::parse("V99.1.1", asvs).unwrap_err().to_string(),
            "'V99.1.1' is not in the OWASP ASVS 4.0.3 catalogue"
        );
        for raw in [
            "V2.1",
            "V2.1.1.1",
            "V2..1",
            "V2.1.x",
            "V2.1.1,V2.1.2",
            "V 2.1.1",
        ] {
            assert!(
                matches!(WstgId::parse(raw, asvs), Err(WstgIdError::NotAnIdOf { .. })),
                "{raw}"
            );
        }
        // ASVS ids are no WSTG ids either.
        assert!(WstgId::parse("V2.1.1", v42()).is_err());
        let asvs5 = Catalogue::get(CatalogueVersion::Asvs5_0);
        assert!(WstgId::parse("v5.0.0-V6.2.1", asvs5).is_ok());
    }

    #[test]
    fn mastg_ids_parse_against_the_mastg_catalogue() {
        let mastg = Catalogue::get(CatalogueVersion::MastgLatest);
        let id = WstgId::parse("mastg-test-0001", mastg).unwrap();
        assert_eq!(id.as_str(), "MASTG-TEST-0001");
        assert_eq!(id.tag(), "mastg-test-0001");
        assert!(matches!(
            WstgId::parse("WSTG-INFO-01", mastg),
            Err(WstgIdError::NotAnIdOf { .. })
        ));
        assert!(matches!(
            WstgId::parse("MASTG-TEST-9999", mastg),
            Err(WstgIdError::NotInCatalogue { .. })
        ));
    }

    #[test]
    fn tag_and_category() {
        let asvs = Catalogue::get(CatalogueVersion::Asvs4_0_3);
        let id = WstgId::parse("V14.2.1", asvs).unwrap();
        assert_eq!(id.tag(), "v14.2.1");
        assert_eq!(id.category(), "V14");
        let id = WstgId::parse("WSTG-ATHN-03", v42()).unwrap();
        assert_eq!(id.tag(), "wstg-athn-03");
        assert_eq!(id.category(), "ATHN");
    }
}
