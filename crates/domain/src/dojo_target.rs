//! Where a project's findings go in DefectDojo: its product, engagement,
//! product type and test title, each either stored with the project or
//! built from the settings' name templates.
//!
//! An existing object is named by id (it must exist; nothing is made) or by
//! name (found by exact name, made when missing, as the bridge always did).
//! When a project names both an id and a name for the same object, the id
//! wins: it cannot drift when someone renames the object in DefectDojo.

use serde::{Deserialize, Serialize};

use crate::catalogue::CatalogueVersion;
use crate::project::{is_unprintable, ProjectName};

/// DefectDojo's length limits (models.py: `Product.name`,
/// `Product_Type.name`, `Test.title` are `max_length=255`, `Engagement.name`
/// 300; docs/defectdojo.md §12).
pub const MAX_PRODUCT_NAME: usize = 255;
pub const MAX_PRODUCT_TYPE_NAME: usize = 255;
pub const MAX_ENGAGEMENT_NAME: usize = 300;
pub const MAX_TEST_TITLE: usize = 255;

/// A product or an engagement: an existing one by id, or one by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DojoRef {
    Id(i64),
    Name(String),
}

/// A project's mapping as stored and as asked for (`wstgctl project add`,
/// `POST /api/wstg/admin/projects`): every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetFields {
    pub product_id: Option<i64>,
    pub product_name: Option<String>,
    pub engagement_id: Option<i64>,
    pub engagement_name: Option<String>,
    pub product_type_name: Option<String>,
    pub test_title: Option<String>,
}

/// A parsed mapping: what is unset comes from the templates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DojoTarget {
    pub product: Option<DojoRef>,
    pub engagement: Option<DojoRef>,
    pub product_type: Option<String>,
    pub test_title: Option<String>,
}

/// Why a mapping (or a template) is refused; the field is named for the
/// 400 answer and the CLI's usage error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct TargetError {
    pub field: &'static str,
    pub reason: String,
}

impl TargetError {
    fn new(field: &'static str, reason: impl Into<String>) -> TargetError {
        TargetError {
            field,
            reason: reason.into(),
        }
    }
}

fn id(field: &'static str, v: Option<i64>) -> Result<Option<i64>, TargetError> {
    match v {
        Some(i) if i <= 0 => Err(TargetError::new(field, "must be a positive DefectDojo id")),
        v => Ok(v),
    }
}

/// A DefectDojo name as DRF's `CharField` takes it: trimmed, not empty,
/// within `max` characters, no control or invisible characters. The
/// length is measured as sent, before trimming: the API documents `max`
/// as the field's `maxLength`, and a value over it is refused even when
/// its excess is whitespace.
pub fn dojo_name(field: &'static str, raw: &str, max: usize) -> Result<String, TargetError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(TargetError::new(field, "is empty"));
    }
    if raw.chars().count() > max {
        return Err(TargetError::new(
            field,
            format!("is longer than {max} characters (DefectDojo's limit)"),
        ));
    }
    if let Some(c) = s.chars().find(|c| is_unprintable(*c)) {
        return Err(TargetError::new(
            field,
            format!(
                "holds the control or invisible character U+{:04X}",
                u32::from(c)
            ),
        ));
    }
    Ok(s.to_owned())
}

fn name(
    field: &'static str,
    v: Option<&String>,
    max: usize,
) -> Result<Option<String>, TargetError> {
    v.map(|s| dojo_name(field, s, max)).transpose()
}

impl DojoTarget {
    pub fn parse(f: &TargetFields) -> Result<DojoTarget, TargetError> {
        let product_id = id("product_id", f.product_id)?;
        let engagement_id = id("engagement_id", f.engagement_id)?;
        let product_name = name("product_name", f.product_name.as_ref(), MAX_PRODUCT_NAME)?;
        let engagement_name = name(
            "engagement_name",
            f.engagement_name.as_ref(),
            MAX_ENGAGEMENT_NAME,
        )?;
        Ok(DojoTarget {
            product: product_id
                .map(DojoRef::Id)
                .or(product_name.map(DojoRef::Name)),
            engagement: engagement_id
                .map(DojoRef::Id)
                .or(engagement_name.map(DojoRef::Name)),
            product_type: name(
                "product_type_name",
                f.product_type_name.as_ref(),
                MAX_PRODUCT_TYPE_NAME,
            )?,
            test_title: name("test_title", f.test_title.as_ref(), MAX_TEST_TITLE)?,
        })
    }

    pub fn fields(&self) -> TargetFields {
        let split = |r: &Option<DojoRef>| match r {
            Some(DojoRef::Id(i)) => (Some(*i), None),
            Some(DojoRef::Name(n)) => (None, Some(n.clone())),
            None => (None, None),
        };
        let (product_id, product_name) = split(&self.product);
        let (engagement_id, engagement_name) = split(&self.engagement);
        TargetFields {
            product_id,
            product_name,
            engagement_id,
            engagement_name,
            product_type_name: self.product_type.clone(),
            test_title: self.test_title.clone(),
        }
    }

    /// The target with every unset part taken from `t`, for `project`.
    pub fn resolve(
        &self,
        project: &ProjectName,
        t: &TargetTemplates,
    ) -> Result<ResolvedTarget, TargetError> {
        let render = |field, tpl: &NameTemplate, max| {
            dojo_name(field, &tpl.render(project, t.catalogue), max)
        };
        let product = match (&self.product, &self.engagement) {
            (Some(p), _) => Some(p.clone()),
            // An engagement by id brings its product.
            (None, Some(DojoRef::Id(_))) => None,
            (None, _) => Some(match &t.default_product {
                Some(p) if *project == t.default_project => DojoRef::Name(p.clone()),
                _ => DojoRef::Name(render(
                    "dojo.product_template",
                    &t.product,
                    MAX_PRODUCT_NAME,
                )?),
            }),
        };
        let engagement = match &self.engagement {
            Some(e) => e.clone(),
            None => DojoRef::Name(render(
                "dojo.engagement",
                &t.engagement,
                MAX_ENGAGEMENT_NAME,
            )?),
        };
        let product_type = match &self.product_type {
            Some(p) => p.clone(),
            None => render("dojo.product_type", &t.product_type, MAX_PRODUCT_TYPE_NAME)?,
        };
        let test_title = match &self.test_title {
            Some(p) => p.clone(),
            None => render("dojo.test_title", &t.test_title, MAX_TEST_TITLE)?,
        };
        Ok(ResolvedTarget {
            product,
            engagement,
            product_type,
            test_title,
        })
    }
}

/// Every part of a project's target, decided: what the bootstrap looks up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTarget {
    /// `None` only beside an engagement by id: the engagement's product.
    pub product: Option<DojoRef>,
    pub engagement: DojoRef,
    /// Used only when the product is made.
    pub product_type: String,
    pub test_title: String,
}

/// The settings' names of the parts a project does not map itself.
#[derive(Debug, Clone)]
pub struct TargetTemplates {
    pub product: NameTemplate,
    pub engagement: NameTemplate,
    pub product_type: NameTemplate,
    pub test_title: NameTemplate,
    /// `dojo.product`: the default project's product (a DefectDojo with
    /// history), which wins over the product template for that project.
    pub default_product: Option<String>,
    pub default_project: ProjectName,
    pub catalogue: CatalogueVersion,
}

/// A name with placeholders: `{project}` (the project's name) and
/// `{catalogue}` (the catalogue version, e.g. `v4.2`). `{{` and `}}` are a
/// literal brace; any other `{...}` is refused when the settings load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameTemplate(Vec<Piece>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Project,
    Catalogue,
}

impl NameTemplate {
    pub fn parse(raw: &str) -> Result<NameTemplate, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = raw;
        while let Some(c) = rest.chars().next() {
            if let Some(r) = rest.strip_prefix("{{") {
                text.push('{');
                rest = r;
            } else if let Some(r) = rest.strip_prefix("}}") {
                text.push('}');
                rest = r;
            } else if c == '{' {
                let end = rest
                    .find('}')
                    .ok_or_else(|| format!("'{raw}' has a '{{' without its '}}'"))?;
                let piece = match &rest[1..end] {
                    "project" => Piece::Project,
                    "catalogue" => Piece::Catalogue,
                    other => {
                        return Err(format!(
                            "'{raw}' has the unknown placeholder {{{other}}} \
                             (known: {{project}}, {{catalogue}}; write {{{{ for a brace)"
                        ))
                    }
                };
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(piece);
                rest = &rest[end + 1..];
            } else if c == '}' {
                return Err(format!("'{raw}' has a '}}' without its '{{' (write }}}})"));
            } else {
                text.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(NameTemplate(pieces))
    }

    /// A template that is its text, braces and all (names from settings
    /// that predate templates are parsed, not taken literally; this is for
    /// fixed names).
    pub fn literal(text: &str) -> NameTemplate {
        NameTemplate(vec![Piece::Text(text.to_owned())])
    }

    pub fn render(&self, project: &ProjectName, catalogue: CatalogueVersion) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Project => project.as_str().to_owned(),
                Piece::Catalogue => catalogue.to_string(),
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn templates() -> TargetTemplates {
        TargetTemplates {
            product: NameTemplate::parse("{project}").unwrap(),
            engagement: NameTemplate::parse("WSTG Security Testing").unwrap(),
            product_type: NameTemplate::parse("WSTG").unwrap(),
            test_title: NameTemplate::parse("OWASP WSTG {catalogue} checklist").unwrap(),
            default_product: None,
            default_project: ProjectName::default_project(),
            catalogue: CatalogueVersion::default(),
        }
    }

    fn p(s: &str) -> ProjectName {
        ProjectName::parse(s).unwrap()
    }

    #[test]
    fn templates_render_and_refuse_unknown_placeholders() {
        let t = NameTemplate::parse("{project} – {catalogue} {{x}}").unwrap();
        assert_eq!(
            t.render(&p("R&D (web)"), CatalogueVersion::default()),
            format!("R&D (web) – {} {{x}}", CatalogueVersion::default())
        );
        assert!(NameTemplate::parse("{client}").is_err());
        assert!(NameTemplate::parse("a {project").is_err());
        assert!(NameTemplate::parse("a } b").is_err());
        // A project name holding braces is not re-expanded.
        assert_eq!(
            NameTemplate::parse("{project}")
                .unwrap()
                .render(&p("{catalogue}"), CatalogueVersion::default()),
            "{catalogue}"
        );
    }

    #[test]
    fn unset_parts_come_from_templates_as_before() {
        let r = DojoTarget::default()
            .resolve(&p("Alpha / 2"), &templates())
            .unwrap();
        assert_eq!(r.product, Some(DojoRef::Name("Alpha / 2".into())));
        assert_eq!(r.engagement, DojoRef::Name("WSTG Security Testing".into()));
        assert_eq!(r.product_type, "WSTG");
        assert_eq!(
            r.test_title,
            format!("OWASP WSTG {} checklist", CatalogueVersion::default())
        );
        // dojo.product names the default project's product only.
        let mut t = templates();
        t.default_product = Some("Medical Register App".into());
        let d = DojoTarget::default();
        assert_eq!(
            d.resolve(&ProjectName::default_project(), &t)
                .unwrap()
                .product,
            Some(DojoRef::Name("Medical Register App".into()))
        );
        assert_eq!(
            d.resolve(&p("other"), &t).unwrap().product,
            Some(DojoRef::Name("other".into()))
        );
    }

    #[test]
    fn ids_win_over_names_and_over_templates() {
        let f = TargetFields {
            product_id: Some(7),
            product_name: Some("ignored".into()),
            engagement_name: Some("Q3 pentest".into()),
            test_title: Some("Checklist".into()),
            ..TargetFields::default()
        };
        let target = DojoTarget::parse(&f).unwrap();
        let r = target.resolve(&p("x"), &templates()).unwrap();
        assert_eq!(r.product, Some(DojoRef::Id(7)));
        assert_eq!(r.engagement, DojoRef::Name("Q3 pentest".into()));
        assert_eq!(r.test_title, "Checklist");
        assert_eq!(target.fields().product_name, None);
    }

    #[test]
    fn an_engagement_by_id_brings_its_product_unless_one_is_named() {
        let by_id = |product_id| {
            DojoTarget::parse(&TargetFields {
                engagement_id: Some(12),
                product_id,
                ..TargetFields::default()
            })
            .unwrap()
            .resolve(&p("x"), &templates())
            .unwrap()
        };
        let r = by_id(None);
        assert_eq!((r.product, r.engagement), (None, DojoRef::Id(12)));
        assert_eq!(by_id(Some(3)).product, Some(DojoRef::Id(3)));
    }

    #[test]
    fn bad_fields_are_named() {
        let bad = |f: TargetFields| DojoTarget::parse(&f).unwrap_err().field;
        assert_eq!(
            bad(TargetFields {
                engagement_id: Some(0),
                ..TargetFields::default()
            }),
            "engagement_id"
        );
        assert_eq!(
            bad(TargetFields {
                product_name: Some("x".repeat(256)),
                ..TargetFields::default()
            }),
            "product_name"
        );
        // The documented maxLength counts what was sent: padding that
        // trimming would remove still makes the value too long.
        assert_eq!(
            bad(TargetFields {
                product_name: Some(format!(" {}", "*".repeat(255))),
                ..TargetFields::default()
            }),
            "product_name"
        );
        assert_eq!(
            bad(TargetFields {
                test_title: Some("a\u{7}".into()),
                ..TargetFields::default()
            }),
            "test_title"
        );
        assert_eq!(
            bad(TargetFields {
                product_type_name: Some("  ".into()),
                ..TargetFields::default()
            }),
            "product_type_name"
        );
    }

    #[test]
    fn a_rendered_name_over_the_limit_names_the_template() {
        let mut t = templates();
        t.product = NameTemplate::parse(&format!("{}{{project}}", "x".repeat(250))).unwrap();
        let e = DojoTarget::default()
            .resolve(&p("abcdefg"), &t)
            .unwrap_err();
        assert_eq!(e.field, "dojo.product_template");
    }
}
