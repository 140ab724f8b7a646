//! Client configuration: where DefectDojo is, how to authenticate, and the
//! few choices that shape what the bridge writes into a finding.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

/// How to reach DefectDojo and what to write.
///
/// `Debug` never shows the token.
#[derive(Clone)]
pub struct DojoConfig {
    /// The DefectDojo root, e.g. `http://127.0.0.1:8080` (a path prefix such as
    /// `https://host/dojo/` is kept). The API lives under `api/v2/` below it.
    pub base_url: Url,
    /// The 40-hex API v2 key, sent as `Authorization: Token <key>`.
    pub token: SecretString,
    /// Whole-request timeout (default 10 s).
    pub timeout: Duration,
    /// TCP/TLS connect timeout (default 3 s).
    pub connect_timeout: Duration,
    /// The finding text field that holds the tracker notes.
    pub notes_field: NotesField,
    /// The severity of the findings the bridge creates.
    pub severity: Severity,
    /// `limit` of list requests. 200 makes a WSTG test (~100 findings) one request.
    pub page_size: u32,
}

impl DojoConfig {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
    pub const DEFAULT_PAGE_SIZE: u32 = 200;

    /// A configuration with the defaults for everything but where and who.
    pub fn new(base_url: Url, token: SecretString) -> DojoConfig {
        DojoConfig {
            base_url,
            token,
            timeout: Self::DEFAULT_TIMEOUT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            notes_field: NotesField::default(),
            severity: Severity::default(),
            page_size: Self::DEFAULT_PAGE_SIZE,
        }
    }
}

impl fmt::Debug for DojoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DojoConfig")
            .field("base_url", &self.base_url.as_str())
            .field("token", &"[REDACTED]")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("notes_field", &self.notes_field)
            .field("severity", &self.severity)
            .field("page_size", &self.page_size)
            .finish()
    }
}

/// The finding text field that carries the tracker notes.
///
/// Only nullable, free-text fields that the bridge does not otherwise write
/// can hold notes. `description` is excluded on purpose: DefectDojo requires
/// it on create and refuses it blank (`Finding.description` has no
/// `blank=True`, dojo/finding/models.py:167), so it cannot hold empty notes,
/// and the bridge writes the WSTG objectives there. `references` holds the
/// guide URL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum NotesField {
    /// `mitigation`: the original design's choice (docs/defectdojo.md §7).
    #[default]
    Mitigation,
    Impact,
    StepsToReproduce,
    SeverityJustification,
}

impl NotesField {
    pub const ALL: [NotesField; 4] = [
        NotesField::Mitigation,
        NotesField::Impact,
        NotesField::StepsToReproduce,
        NotesField::SeverityJustification,
    ];

    /// The DefectDojo field name (`mitigation`).
    pub fn as_field(self) -> &'static str {
        match self {
            NotesField::Mitigation => "mitigation",
            NotesField::Impact => "impact",
            NotesField::StepsToReproduce => "steps_to_reproduce",
            NotesField::SeverityJustification => "severity_justification",
        }
    }
}

impl fmt::Display for NotesField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_field())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotesFieldError {
    #[error("'{0}' cannot hold the notes: {1}")]
    Reserved(String, &'static str),
    #[error("'{0}' is not a finding text field (expected one of: mitigation, impact, steps_to_reproduce, severity_justification)")]
    Unknown(String),
}

impl FromStr for NotesField {
    type Err = NotesFieldError;

    /// Parses the snake_case DefectDojo field name (case and surrounding
    /// blanks ignored, `-` accepted for `_`).
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let key = raw.trim().to_ascii_lowercase().replace('-', "_");
        match key.as_str() {
            "mitigation" => Ok(NotesField::Mitigation),
            "impact" => Ok(NotesField::Impact),
            "steps_to_reproduce" => Ok(NotesField::StepsToReproduce),
            "severity_justification" => Ok(NotesField::SeverityJustification),
            "description" => Err(NotesFieldError::Reserved(
                raw.to_owned(),
                "DefectDojo requires it and refuses it blank, and it holds the WSTG objectives",
            )),
            "references" => Err(NotesFieldError::Reserved(
                raw.to_owned(),
                "it holds the WSTG guide URL",
            )),
            _ => Err(NotesFieldError::Unknown(raw.to_owned())),
        }
    }
}

/// The severity of the item findings: the domain's one type, which the
/// vulnerabilities use too.
pub use wstg_domain::vulnerability::{Severity, UnknownSeverity};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_field_parses_its_own_names_and_rejects_reserved_ones() {
        for f in NotesField::ALL {
            assert_eq!(f.as_field().parse::<NotesField>(), Ok(f));
            assert_eq!(f.to_string(), f.as_field());
        }
        assert_eq!(NotesField::default().as_field(), "mitigation");
        assert_eq!(
            " Steps-To-Reproduce ".parse::<NotesField>(),
            Ok(NotesField::StepsToReproduce)
        );
        assert!(matches!(
            "description".parse::<NotesField>(),
            Err(NotesFieldError::Reserved(..))
        ));
        assert!(matches!(
            "references".parse::<NotesField>(),
            Err(NotesFieldError::Reserved(..))
        ));
        assert!(matches!(
            "notes".parse::<NotesField>(),
            Err(NotesFieldError::Unknown(_))
        ));
    }

    #[test]
    fn severity_spellings_and_numerical_values() {
        assert_eq!(Severity::default(), Severity::Info);
        assert_eq!("medium".parse::<Severity>(), Ok(Severity::Medium));
        assert_eq!(Severity::Medium.numerical(), "S2");
        assert_eq!(Severity::Info.numerical(), "S4");
        assert_eq!(Severity::Critical.numerical(), "S0");
        assert!("bogus".parse::<Severity>().is_err());
    }

    #[test]
    fn config_debug_hides_the_token() {
        let token = "0123456789abcdef0123456789abcdef01234567";
        let cfg = DojoConfig::new(
            Url::parse("http://127.0.0.1:8080").unwrap(),
            SecretString::from(token),
        );
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains(token), "{dbg}");
        assert!(dbg.contains("REDACTED"));
        assert_eq!(cfg.page_size, 200);
        assert_eq!(cfg.timeout, Duration::from_secs(10));
        assert_eq!(cfg.connect_timeout, Duration::from_secs(3));
    }
}
