//! `wstgctl project add|list|show`: the projects the ingest accepts, and
//! where each one's findings go in DefectDojo (docs/deploy.md, "Many
//! engagements"). The mapping is stored with the project; what it leaves
//! unset comes from the `dojo.*` name templates.

use clap::{Args, Subcommand};
use serde_json::json;
use wstg_domain::{DojoRef, DojoTarget, TargetFields};
use wstg_settings::Settings;
use wstg_store::{new_project_name, normalise_project_name, ProjectRecord};

use crate::exit::CliError;
use crate::open;
use crate::output::{fields, opt, table, Out};

#[derive(Subcommand)]
pub enum ProjectCommand {
    /// Create a project, optionally mapped to an existing DefectDojo
    /// product and engagement (by id: must exist, nothing is made; by name:
    /// found, else made). Unset parts come from the templates. Its name is
    /// NFKC-normalised; a name mixing scripts or looking like an existing
    /// one is refused. Reads WSTG_DATABASE_URL, WSTG_DEFAULT_PROJECT.
    Add {
        /// The project's name: any text DefectDojo takes as a product name
        /// (1 to 64 characters, no control characters).
        name: String,
        #[command(flatten)]
        mapping: Mapping,
    },
    /// Change the mapping of a created project (the same flags as `add`;
    /// unset flags go back to the templates), allowed until its first
    /// successful sync (exit 3 for an unknown project, 1 once it synced).
    /// Reads WSTG_DATABASE_URL, WSTG_DEFAULT_PROJECT.
    Map {
        /// The project's name.
        name: String,
        #[command(flatten)]
        mapping: Mapping,
    },
    /// Every project, the default one (WSTG_DEFAULT_PROJECT) included, with
    /// its mapping. Reads WSTG_DATABASE_URL.
    List,
    /// One project: its mapping, what it resolves to with the templates,
    /// its DefectDojo ids once the first sync made or found them, and its
    /// item counts (exit 3 if there is no such project). Reads
    /// WSTG_DATABASE_URL, WSTG_DEFAULT_PROJECT, WSTG_DOJO_PRODUCT_TEMPLATE,
    /// WSTG_DOJO_ENGAGEMENT, WSTG_DOJO_PRODUCT_TYPE, WSTG_DOJO_TEST_TITLE.
    Show {
        /// The project's name.
        name: String,
    },
}

/// Where a project's findings go in DefectDojo (`add` and `map`).
#[derive(Args)]
pub struct Mapping {
    /// An existing DefectDojo product (by id) its engagement is in.
    #[arg(long, conflicts_with = "product")]
    product_id: Option<i64>,
    /// The DefectDojo product by name (found, else made); default:
    /// WSTG_DOJO_PRODUCT_TEMPLATE.
    #[arg(long)]
    product: Option<String>,
    /// An existing DefectDojo engagement (by id) the WSTG test goes in;
    /// alone, its product is used.
    #[arg(long, conflicts_with = "engagement")]
    engagement_id: Option<i64>,
    /// The engagement by name, in the product (found, else made);
    /// default: WSTG_DOJO_ENGAGEMENT.
    #[arg(long)]
    engagement: Option<String>,
    /// The product type of a product that has to be made; default:
    /// WSTG_DOJO_PRODUCT_TYPE.
    #[arg(long)]
    product_type: Option<String>,
    /// The WSTG test's title; default: WSTG_DOJO_TEST_TITLE.
    #[arg(long)]
    test_title: Option<String>,
}

impl Mapping {
    fn parse(self) -> Result<DojoTarget, CliError> {
        DojoTarget::parse(&TargetFields {
            product_id: self.product_id,
            product_name: self.product,
            engagement_id: self.engagement_id,
            engagement_name: self.engagement,
            product_type_name: self.product_type,
            test_title: self.test_title,
        })
        .map_err(|e| CliError::Usage(format!("{} {}", flag(e.field), e.reason)))
    }
}

/// The flag behind a `TargetFields` field, for usage errors.
fn flag(field: &str) -> &str {
    match field {
        "product_id" => "--product-id",
        "product_name" => "--product",
        "engagement_id" => "--engagement-id",
        "engagement_name" => "--engagement",
        "product_type_name" => "--product-type",
        "test_title" => "--test-title",
        other => other,
    }
}

fn describe(r: &Option<DojoRef>) -> String {
    match r {
        Some(DojoRef::Id(i)) => format!("id {i}"),
        Some(DojoRef::Name(n)) => format!("'{n}'"),
        None => "the engagement's".to_owned(),
    }
}

pub async fn run(settings: &Settings, out: Out, command: ProjectCommand) -> anyhow::Result<()> {
    match command {
        ProjectCommand::Add { name, mapping } => {
            let target = mapping.parse()?;
            let name = new_project_name(&name)?;
            // Refused now rather than at the first sync: a template that
            // makes a name DefectDojo would not take.
            target
                .resolve(&name, &settings.dojo.templates)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            let store = open::store(settings).await?;
            let record = store
                .add_project(&name, &target, &settings.default_project)
                .await?;
            show_record(out, &record)
        }
        ProjectCommand::Map { name, mapping } => {
            let target = mapping.parse()?;
            let name = normalise_project_name(&name)?;
            target
                .resolve(&name, &settings.dojo.templates)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            let store = open::store(settings).await?;
            let record = store.set_project_target(&name, &target).await?;
            show_record(out, &record)
        }
        ProjectCommand::List => {
            let store = open::store(settings).await?;
            let projects = store.registered_projects().await?;
            let list = json!({
                "default_project": settings.default_project.as_str(),
                "projects": projects,
            });
            out.show(&list, |_| {
                let default = [
                    settings.default_project.to_string(),
                    "-".to_owned(),
                    "-".to_owned(),
                    "(default)".to_owned(),
                ];
                table(
                    &["PROJECT", "PRODUCT", "ENGAGEMENT", "CREATED"],
                    std::iter::once(default.to_vec()).chain(projects.iter().map(|p| {
                        let t = &p.target;
                        let either = |id: Option<i64>, name: &Option<String>| match (id, name) {
                            (Some(i), _) => format!("id {i}"),
                            (None, Some(n)) => format!("'{n}'"),
                            (None, None) => "-".to_owned(),
                        };
                        vec![
                            p.name.to_string(),
                            either(t.product_id, &t.product_name),
                            either(t.engagement_id, &t.engagement_name),
                            p.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                        ]
                    })),
                )
            })
        }
        ProjectCommand::Show { name } => {
            let store = open::store(settings).await?;
            let project = open::existing_project(&store, settings, &name).await?;
            let record = store.registered_project(&project).await?;
            let mapping = record
                .as_ref()
                .map(|r| r.target.clone())
                .unwrap_or_default();
            let resolved = DojoTarget::parse(&mapping)
                .and_then(|t| t.resolve(&project, &settings.dojo.templates))
                .map_err(|e| CliError::Usage(format!("project {project}: {e}")))?;
            let links = store.project_links(&project).await?;
            let summary = store.status_summary(Some(&project)).await?;
            let ref_json = |r: &Option<DojoRef>| match r {
                Some(DojoRef::Id(i)) => json!({ "id": i }),
                Some(DojoRef::Name(n)) => json!({ "name": n }),
                None => json!(null),
            };
            let shown = json!({
                "name": project.as_str(),
                "default": project == settings.default_project,
                "created_at": record.as_ref().map(|r| r.created_at),
                "mapping": mapping,
                "resolved": {
                    "product": ref_json(&resolved.product),
                    "engagement": ref_json(&Some(resolved.engagement.clone())),
                    "product_type": resolved.product_type,
                    "test_title": resolved.test_title,
                },
                "dojo": links,
                "items": {
                    "total": summary.total_items,
                    "synced": summary.synced_items,
                    "pending": summary.pending_items,
                    "failed": summary.failed_items,
                    "in_conflict": summary.items_in_conflict,
                },
            });
            out.show(&shown, |_| {
                let id = |f: fn(&wstg_store::ProjectLinks) -> i64| {
                    links
                        .as_ref()
                        .map(|l| f(l).to_string())
                        .unwrap_or_else(|| "- (not synced yet)".to_owned())
                };
                fields([
                    ("name", project.to_string()),
                    ("product", describe(&resolved.product)),
                    ("engagement", describe(&Some(resolved.engagement.clone()))),
                    ("product type (if made)", resolved.product_type.clone()),
                    ("test title", resolved.test_title.clone()),
                    ("DefectDojo product id", id(|l| l.product_id)),
                    ("DefectDojo engagement id", id(|l| l.engagement_id)),
                    ("DefectDojo test id", id(|l| l.test_id)),
                    (
                        "items",
                        format!(
                            "{} ({} synced, {} pending, {} failed)",
                            summary.total_items,
                            summary.synced_items,
                            summary.pending_items,
                            summary.failed_items
                        ),
                    ),
                ])
            })
        }
    }
}

fn show_record(out: Out, record: &ProjectRecord) -> anyhow::Result<()> {
    let t = &record.target;
    out.show(record, |r| {
        fields([
            ("name", r.name.to_string()),
            ("product id", opt(t.product_id)),
            ("product", opt(t.product_name.clone())),
            ("engagement id", opt(t.engagement_id)),
            ("engagement", opt(t.engagement_name.clone())),
            ("product type", opt(t.product_type_name.clone())),
            ("test title", opt(t.test_title.clone())),
            ("created at", r.created_at.to_rfc3339()),
        ])
    })
}
