//! Project names as people type them: normalised, and kept apart from names
//! that look alike.
//!
//! A name is NFKC-normalised first, so the full-width `ｄｅｆａｕｌｔ` and
//! `default` are one project. Two checks then keep look-alikes out:
//!
//! - a name must be written in one script (Unicode TR 39 "single script";
//!   digits, space and `_ - .` are common to all scripts): `dеfault` with a
//!   Cyrillic `е` mixes Latin and Cyrillic and is refused on its own;
//! - a new name whose confusable skeleton (TR 39, of the lowercased name)
//!   equals an existing project's is refused: `DEFAULT` beside `default`,
//!   or an all-Cyrillic `ѕсоре` beside the Latin `scope`.
//!
//! The `unicode-security` crate (the rust-lang maintained implementation of
//! TR 39 used by rustc's own confusable-identifier lint) provides both.
//! Restricting names to ASCII would be simpler, but testers name projects
//! after clients in their own languages; this keeps that and refuses only
//! what can deceive.

use unicode_normalization::UnicodeNormalization;
use unicode_security::{skeleton, MixedScript};
use wstg_domain::ProjectName;

/// Why a project name is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProjectNameError {
    #[error("{0}")]
    Shape(#[from] wstg_domain::project::ProjectNameError),
    #[error("'{0}' mixes letters of several scripts (look-alike letters)")]
    MixedScripts(String),
}

/// NFKC, then the domain's rules (letters, digits, space, `_ - .`; 1 to 64
/// characters). What every project name from outside goes through.
pub fn normalise_project_name(
    raw: &str,
) -> Result<ProjectName, wstg_domain::project::ProjectNameError> {
    let nfkc: String = raw.nfkc().collect();
    ProjectName::parse(&nfkc)
}

/// [`normalise_project_name`], and refused when it mixes scripts: the rule
/// for names being created.
pub fn new_project_name(raw: &str) -> Result<ProjectName, ProjectNameError> {
    let name = normalise_project_name(raw)?;
    if !name.as_str().is_single_script() {
        return Err(ProjectNameError::MixedScripts(name.as_str().to_owned()));
    }
    Ok(name)
}

/// What two names that look alike have in common: the TR 39 skeleton of the
/// lowercased name.
pub fn confusable_key(name: &ProjectName) -> String {
    let lower = name.as_str().to_lowercase();
    skeleton(&lower).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn full_width_letters_are_the_same_name() {
        assert_eq!(
            normalise_project_name("ｄｅｆａｕｌｔ").unwrap().as_str(),
            "default"
        );
    }

    #[test]
    fn mixed_scripts_are_refused_and_single_scripts_kept() {
        // Cyrillic е (U+0435) among Latin letters.
        assert!(matches!(
            new_project_name("d\u{0435}fault"),
            Err(ProjectNameError::MixedScripts(_))
        ));
        assert!(new_project_name("Медицина 2").is_ok());
        assert!(new_project_name("alpha.app-1_x").is_ok());
    }

    #[test]
    fn look_alikes_share_a_key() {
        let key = |s: &str| confusable_key(&ProjectName::parse(s).unwrap());
        assert_eq!(key("default"), key("DEFAULT"));
        // All-Cyrillic "ѕсоре" (single script) against Latin "scope".
        assert_eq!(
            key("\u{0455}\u{0441}\u{043e}\u{0440}\u{0435}"),
            key("scope")
        );
        assert_ne!(key("alpha"), key("beta"));
    }
}
