//! Evidence files: what a file attached to an item or a vulnerability is,
//! which kinds are accepted, and how it is named in DefectDojo.
//!
//! The accepted kinds are those DefectDojo 3.2.0 accepts (its extension
//! allow-list, `FILE_UPLOAD_TYPES`, docs/defectdojo.md §16) that a browser
//! can neither run nor render as a page: images, PDF, ZIP and plain text
//! formats. HTML and JavaScript, which DefectDojo also accepts, are refused:
//! served back from the tracker's origin they would be a stored XSS waiting
//! for one missing header.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// DefectDojo's limit on a file's title (`FileUpload.title`, max_length 100).
pub const DOJO_TITLE_MAX: usize = 100;

/// The longest file name kept (characters); longer names are cut, keeping
/// the extension.
pub const NAME_MAX: usize = 80;

/// What every file the bridge uploads is titled with, before its evidence
/// id: how the worker recognises its own upload in a finding's file list
/// (upload once), and the poller tells the bridge's files from DefectDojo's.
pub const DOJO_TITLE_PREFIX: &str = "wstg-evidence ";

/// An accepted kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceType {
    Png,
    Jpeg,
    Pdf,
    Zip,
    Text,
    Json,
    Csv,
    Xml,
    Yaml,
}

impl EvidenceType {
    pub const ALL: [EvidenceType; 9] = [
        EvidenceType::Png,
        EvidenceType::Jpeg,
        EvidenceType::Pdf,
        EvidenceType::Zip,
        EvidenceType::Text,
        EvidenceType::Json,
        EvidenceType::Csv,
        EvidenceType::Xml,
        EvidenceType::Yaml,
    ];

    /// The content type the file is stored and served with.
    pub fn content_type(self) -> &'static str {
        match self {
            EvidenceType::Png => "image/png",
            EvidenceType::Jpeg => "image/jpeg",
            EvidenceType::Pdf => "application/pdf",
            EvidenceType::Zip => "application/zip",
            EvidenceType::Text => "text/plain; charset=utf-8",
            EvidenceType::Json => "application/json",
            EvidenceType::Csv => "text/csv; charset=utf-8",
            EvidenceType::Xml => "application/xml",
            EvidenceType::Yaml => "application/yaml",
        }
    }

    /// The extension DefectDojo's allow-list has for it (with the dot):
    /// the name the file is sent to DefectDojo under ends with it.
    /// (DefectDojo accepts `.jpeg`, not `.jpg`.)
    pub fn dojo_extension(self) -> &'static str {
        match self {
            EvidenceType::Png => ".png",
            EvidenceType::Jpeg => ".jpeg",
            EvidenceType::Pdf => ".pdf",
            EvidenceType::Zip => ".zip",
            EvidenceType::Text => ".txt",
            EvidenceType::Json => ".json",
            EvidenceType::Csv => ".csv",
            EvidenceType::Xml => ".xml",
            EvidenceType::Yaml => ".yml",
        }
    }

    /// Shown as a thumbnail on the page (and served inline).
    pub fn is_image(self) -> bool {
        matches!(self, EvidenceType::Png | EvidenceType::Jpeg)
    }

    /// The type a stored content type names (what [`Self::content_type`] wrote).
    pub fn from_content_type(ct: &str) -> Option<EvidenceType> {
        EvidenceType::ALL
            .into_iter()
            .find(|t| t.content_type() == ct)
    }

    /// The text type a file name's extension names, for files whose bytes
    /// have no magic number.
    fn text_by_extension(name: &str) -> EvidenceType {
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "json" | "har" => EvidenceType::Json,
            "csv" => EvidenceType::Csv,
            "xml" => EvidenceType::Xml,
            "yml" | "yaml" => EvidenceType::Yaml,
            _ => EvidenceType::Text,
        }
    }

    /// Decides the type from the bytes: `sniffed` is the MIME type their
    /// magic number names (the `infer` crate, at the edge), `None` when they
    /// have none. Bytes without a magic number are accepted only as UTF-8
    /// text without NUL bytes; a name's extension then only picks among the
    /// text types. What the client claimed is never trusted.
    pub fn classify(
        sniffed: Option<&str>,
        name: &EvidenceName,
        bytes: &[u8],
    ) -> Result<EvidenceType, TypeRefused> {
        match sniffed {
            Some("image/png") => Ok(EvidenceType::Png),
            Some("image/jpeg") => Ok(EvidenceType::Jpeg),
            Some("application/pdf") => Ok(EvidenceType::Pdf),
            Some("application/zip") => Ok(EvidenceType::Zip),
            Some(other) => Err(TypeRefused::NotAccepted(other.to_owned())),
            None => {
                if bytes.contains(&0) || std::str::from_utf8(bytes).is_err() {
                    return Err(TypeRefused::Binary);
                }
                Ok(EvidenceType::text_by_extension(name.as_str()))
            }
        }
    }
}

/// Why a file's bytes are not an accepted kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypeRefused {
    #[error("the file's bytes are {0}, which is not accepted (accepted: PNG, JPEG, PDF, ZIP, UTF-8 text, JSON, CSV, XML, YAML)")]
    NotAccepted(String),
    #[error("the file's bytes are binary data of no accepted kind (accepted: PNG, JPEG, PDF, ZIP, UTF-8 text, JSON, CSV, XML, YAML)")]
    Binary,
}

/// A file name made safe to store, show and send: no directory part, no
/// control or shell-special characters, at most [`NAME_MAX`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EvidenceName(String);

impl EvidenceName {
    /// Sanitises what a client sent; never fails (an empty result is
    /// `evidence`).
    pub fn sanitise(raw: &str) -> EvidenceName {
        let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
        let cleaned: String = base
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ' | '(' | ')') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let trimmed = cleaned.trim_matches(|c: char| c == '.' || c == ' ');
        let name = if trimmed.is_empty() {
            "evidence".to_owned()
        } else {
            trimmed.to_owned()
        };
        EvidenceName(cut_keeping_extension(&name, NAME_MAX))
    }

    /// A name read back from the store (sanitised when it was written).
    pub fn from_stored(name: String) -> EvidenceName {
        EvidenceName(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name the file is sent to DefectDojo under: its stem, with the
    /// extension DefectDojo accepts for `kind` (DefectDojo checks the name's
    /// extension, and names the stored file by it).
    pub fn for_dojo(&self, kind: EvidenceType) -> String {
        let stem = self
            .0
            .rsplit_once('.')
            .map(|(s, _)| s)
            .filter(|s| !s.is_empty())
            .unwrap_or(&self.0);
        format!("{stem}{}", kind.dojo_extension())
    }
}

impl fmt::Display for EvidenceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn cut_keeping_extension(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_owned();
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() && e.chars().count() <= 10 => (s, format!(".{e}")),
        _ => (name, String::new()),
    };
    let keep = max.saturating_sub(ext.chars().count());
    let stem: String = stem.chars().take(keep).collect();
    format!("{stem}{ext}")
}

/// The title of an evidence file in DefectDojo: the prefix, the evidence id
/// (DefectDojo's titles are unique across the whole instance; the id makes
/// ours so), then as much of the name as fits in 100 characters.
pub fn dojo_title(id: Uuid, name: &EvidenceName) -> String {
    let title = format!("{DOJO_TITLE_PREFIX}{id} {}", name.as_str());
    title.chars().take(DOJO_TITLE_MAX).collect()
}

/// The evidence id a DefectDojo file title names, if the bridge made it.
pub fn evidence_id_in_title(title: &str) -> Option<Uuid> {
    let rest = title.strip_prefix(DOJO_TITLE_PREFIX)?;
    let id = rest.get(..36)?;
    Uuid::parse_str(id).ok()
}

/// What a file is attached to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum EvidenceTarget {
    /// The item itself (its finding).
    Item,
    /// One of the item's vulnerabilities (its own finding): the
    /// vulnerability's id. The worker needs only that vulnerability's
    /// finding id to upload.
    Vulnerability(String),
}

impl EvidenceTarget {
    pub fn kind(&self) -> &'static str {
        match self {
            EvidenceTarget::Item => "item",
            EvidenceTarget::Vulnerability(_) => "vulnerability",
        }
    }
}

/// Where a file came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceOrigin {
    /// Uploaded to the tracker.
    Tracker,
    /// Added to the finding in DefectDojo, copied by the poller.
    Dojo,
}

impl EvidenceOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceOrigin::Tracker => "tracker",
            EvidenceOrigin::Dojo => "dojo",
        }
    }
}

/// How a file stands against DefectDojo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceState {
    /// Not yet in DefectDojo.
    Pending,
    /// On the finding (`dojo_file_id`).
    Uploaded,
    /// Was on the finding and was removed there; kept in the tracker, not
    /// uploaded again (docs/sync-rules.md, "Evidence").
    RemovedInDojo,
}

impl EvidenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceState::Pending => "pending",
            EvidenceState::Uploaded => "uploaded",
            EvidenceState::RemovedInDojo => "removed_in_dojo",
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_lose_directories_and_special_characters() {
        let cases = [
            ("shot.png", "shot.png"),
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\me\\req.txt", "req.txt"),
            ("a<b>\"c\";rm -rf.txt", "a_b__c__rm -rf.txt"),
            ("", "evidence"),
            ("...", "evidence"),
            ("\u{202e}gnp.exe", "_gnp.exe"),
        ];
        for (raw, want) in cases {
            assert_eq!(EvidenceName::sanitise(raw).as_str(), want, "{raw:?}");
        }
        let long = format!("{}.png", "a".repeat(200));
        let n = EvidenceName::sanitise(&long);
        assert_eq!(n.as_str().chars().count(), NAME_MAX);
        assert!(n.as_str().ends_with(".png"));
    }

    #[test]
    fn types_come_from_the_bytes_not_the_name() {
        let png = EvidenceName::sanitise("x.txt");
        assert_eq!(
            EvidenceType::classify(Some("image/png"), &png, b""),
            Ok(EvidenceType::Png)
        );
        let exe = EvidenceName::sanitise("x.png");
        assert!(matches!(
            EvidenceType::classify(Some("application/x-executable"), &exe, b""),
            Err(TypeRefused::NotAccepted(_))
        ));
        assert_eq!(
            EvidenceType::classify(None, &exe, b"\x00\x01"),
            Err(TypeRefused::Binary)
        );
        assert_eq!(
            EvidenceType::classify(None, &EvidenceName::sanitise("r.json"), b"{}"),
            Ok(EvidenceType::Json)
        );
        assert_eq!(
            EvidenceType::classify(None, &exe, b"GET / HTTP/1.1"),
            Ok(EvidenceType::Text)
        );
    }

    #[test]
    fn dojo_names_and_titles() {
        let n = EvidenceName::sanitise("photo.jpg");
        assert_eq!(n.for_dojo(EvidenceType::Jpeg), "photo.jpeg");
        assert_eq!(
            EvidenceName::sanitise("noext").for_dojo(EvidenceType::Text),
            "noext.txt"
        );
        let id = Uuid::now_v7();
        let t = dojo_title(id, &EvidenceName::sanitise(&"z".repeat(200)));
        assert_eq!(t.chars().count(), DOJO_TITLE_MAX);
        assert_eq!(evidence_id_in_title(&t), Some(id));
        assert_eq!(evidence_id_in_title("screenshot.png"), None);
        for t in EvidenceType::ALL {
            assert_eq!(EvidenceType::from_content_type(t.content_type()), Some(t));
        }
    }
}
