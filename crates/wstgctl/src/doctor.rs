//! `wstgctl doctor`: what stands between this bridge and a working sync —
//! the token's permissions (and which API needs which), the WSTG test,
//! damaged tag rows, DefectDojo's webhook, Redis persistence and eviction,
//! the store, the dead letters. Exits non-zero when something is broken.

use std::collections::BTreeSet;

use dojo_client::{DojoClient, TestCriteria, API_NEEDS, WEBHOOK_NAME};
use serde::Serialize;
use wstg_domain::{DojoRef, DojoTarget, ProjectName, ResolvedTarget, TargetFields};
use wstg_settings::Settings;
use wstg_startup::connect as service;
use wstg_worker::bootstrap::HierarchyNames;

use crate::exit::CliError;
use crate::open;
use crate::output::Out;

/// One check's outcome, as `--output json` lists them.
#[derive(Debug, Serialize)]
struct Check {
    check: String,
    /// ok, warn or fail.
    result: &'static str,
    detail: String,
}

/// The checks made so far: printed as they come for people, as one JSON
/// list at the end for scripts.
struct Checks {
    out: Out,
    failed: usize,
    done: Vec<Check>,
}

impl Checks {
    fn record(&mut self, result: &'static str, what: &str, detail: &str) -> anyhow::Result<()> {
        if !self.out.is_json() {
            let tag = match result {
                "ok" => "ok  ",
                "warn" => "WARN",
                _ => "FAIL",
            };
            self.out.done(format!("{tag}  {what}: {detail}"), &())?;
        }
        self.done.push(Check {
            check: what.to_owned(),
            result,
            detail: detail.to_owned(),
        });
        Ok(())
    }
    fn ok(&mut self, what: &str, detail: impl AsRef<str>) -> anyhow::Result<()> {
        self.record("ok", what, detail.as_ref())
    }
    fn warn(&mut self, what: &str, detail: impl AsRef<str>) -> anyhow::Result<()> {
        self.record("warn", what, detail.as_ref())
    }
    fn fail(&mut self, what: &str, detail: impl AsRef<str>) -> anyhow::Result<()> {
        self.failed += 1;
        self.record("fail", what, detail.as_ref())
    }
}

pub async fn run(settings: &Settings, out: Out) -> anyhow::Result<()> {
    let mut c = Checks {
        out,
        failed: 0,
        done: Vec::new(),
    };
    // The store (opened, never created or migrated: a missing database or
    // another schema version is a failed check naming `wstgctl migrate`).
    let store = match open::store(settings).await {
        Ok(s) => match s.status_summary(None).await {
            Ok(_) => {
                c.ok(
                    "store",
                    format!(
                        "{}, schema version {} (current)",
                        settings.database.redacted_url(),
                        wstg_store::expected_version()
                    ),
                )?;
                Some(s)
            }
            Err(e) => {
                c.fail(
                    "store",
                    format!("{} unreadable: {e}", settings.database.redacted_url()),
                )?;
                None
            }
        },
        Err(e) => {
            c.fail("store", format!("{e:#}"))?;
            None
        }
    };
    // Redis: the queue must survive a restart and never be evicted.
    match open::queue(settings).await {
        Ok(queue) => {
            let mut conn = queue.connection();
            let get = |name: &'static str| {
                let mut conn = conn.clone();
                async move {
                    redis::cmd("CONFIG")
                        .arg("GET")
                        .arg(name)
                        .query_async::<Vec<String>>(&mut conn)
                        .await
                        .ok()
                        .and_then(|v| v.get(1).cloned())
                }
            };
            match get("appendonly").await.as_deref() {
                Some("yes") => c.ok("redis persistence", "AOF on (appendonly yes)")?,
                Some(v) => c.warn(
                    "redis persistence",
                    format!("appendonly {v}: queued changes made since the last RDB snapshot are lost if Redis restarts; set appendonly yes"),
                )?,
                None => c.warn("redis persistence", "CONFIG GET refused; check that AOF is on")?,
            }
            match get("maxmemory-policy").await.as_deref() {
                Some("noeviction") => c.ok("redis eviction", "noeviction")?,
                Some(v) => c.fail(
                    "redis eviction",
                    format!("maxmemory-policy {v} may evict queued changes; set noeviction"),
                )?,
                None => c.warn(
                    "redis eviction",
                    "CONFIG GET refused; check maxmemory-policy is noeviction",
                )?,
            }
            let _ = &mut conn;
            match queue.stats().await {
                Ok(s) if s.dlq == 0 => c.ok("dead letters", "none")?,
                Ok(s) => c.warn(
                    "dead letters",
                    format!(
                        "{} (wstgctl dlq list; replay after fixing the cause)",
                        s.dlq
                    ),
                )?,
                Err(e) => c.fail("queue", format!("{e}"))?,
            }
        }
        Err(e) => c.fail("redis", format!("{e:#}"))?,
    }
    // DefectDojo.
    match service::dojo(settings, "wstgctl doctor") {
        Ok(dojo) => dojo_checks(&mut c, settings, &dojo, store.as_ref()).await?,
        Err(e) => c.fail("defectdojo", format!("{e:#}"))?,
    }
    if out.is_json() {
        out.done("", &c.done)?;
    }
    if c.failed == 0 {
        Ok(())
    } else {
        Err(CliError::CheckFailed(format!("{} check(s) failed", c.failed)).into())
    }
}

async fn dojo_checks(
    c: &mut Checks,
    settings: &Settings,
    dojo: &DojoClient,
    store: Option<&wstg_store::Store>,
) -> anyhow::Result<()> {
    let superuser = match dojo.whoami().await {
        Ok((user, su)) => {
            c.ok(
                "defectdojo token",
                format!(
                    "user {user}{}",
                    if su {
                        " (superuser)"
                    } else {
                        " (not a superuser)"
                    }
                ),
            )?;
            su
        }
        Err(e) => return c.fail("defectdojo token", format!("{e}")),
    };
    for (path, method, why) in API_NEEDS {
        match dojo.can_read(path).await {
            Ok(200) => c.ok("permission", format!("{method} {path} ({why})"))?,
            Ok(s) if path.starts_with("system_settings")
                || path.starts_with("notification")
                || path.starts_with("notifications") =>
            {
                c.warn(
                    "permission",
                    format!("{method} {path} answered {s}: {why}; only a superuser token can manage the webhook"),
                )?
            }
            Ok(s) => c.fail("permission", format!("{method} {path} answered {s}: needed to {why}"))?,
            Err(e) => c.fail("permission", format!("{method} {path}: {e}"))?,
        }
    }
    c.ok(
        "permission",
        "writes (not tried): POST/PATCH findings/ and POST findings/{id}/close/ need the Writer role on the product; \
         POST product_types/, products/, engagements/, tests/, test_types/ (first sync only) need Maintainer or a global role",
    )?;
    // The WSTG test of each project, and the tag rows it carries.
    let names = HierarchyNames::from_settings(settings);
    let mut projects: Vec<(ProjectName, Option<i64>)> = Vec::new();
    if let Some(store) = store {
        for (p, links) in store.projects().await.unwrap_or_default() {
            projects.push((p, Some(links.test_id)));
        }
        // Created projects not synced yet: where their test would be.
        for r in store.registered_projects().await.unwrap_or_default() {
            if !projects.iter().any(|(p, _)| *p == r.name) {
                projects.push((r.name, None));
            }
        }
    }
    if !projects.iter().any(|(p, _)| *p == settings.default_project) {
        projects.push((settings.default_project.clone(), None));
    }
    for (project, linked) in projects {
        let mapping = match store {
            Some(store) => store
                .registered_project(&project)
                .await
                .ok()
                .flatten()
                .map(|r| r.target)
                .unwrap_or_default(),
            None => TargetFields::default(),
        };
        let target =
            match DojoTarget::parse(&mapping).and_then(|t| t.resolve(&project, &names.templates)) {
                Ok(t) => t,
                Err(e) => {
                    c.fail(
                        "wstg test",
                        format!("project {project}: DefectDojo target: {e}"),
                    )?;
                    continue;
                }
            };
        let test = match linked {
            Some(t) => Some(t),
            None => find_test(dojo, &names, &target).await?,
        };
        let Some(test) = test else {
            let show = |r: Option<&DojoRef>| match r {
                Some(DojoRef::Id(i)) => format!("id {i}"),
                Some(DojoRef::Name(n)) => format!("'{n}'"),
                None => "of the engagement".to_owned(),
            };
            c.warn(
                "wstg test",
                format!(
                    "project {project}: none in product {}, engagement {} (types {}; title '{}' or none); the first sync creates it",
                    show(target.product.as_ref()),
                    show(Some(&target.engagement)),
                    std::iter::once(&names.test_type).chain(&names.test_types).cloned().collect::<Vec<_>>().join(", "),
                    target.test_title
                ),
            )?;
            continue;
        };
        c.ok("wstg test", format!("project {project}: test {test}"))?;
        let findings = match dojo.list_test_findings(test).await {
            Ok(p) => p.findings,
            Err(e) => {
                c.fail(
                    "wstg test",
                    format!("project {project}: reading test {test}: {e}"),
                )?;
                continue;
            }
        };
        // tagulous lowercases every tag it writes, so a tag row with an
        // upper-case letter was written past it (the original design's ORM
        // writes, docs/defectdojo.md §7). Beside its lowercase twin, any
        // write of that tag answers 500.
        let damaged: BTreeSet<&str> = findings
            .iter()
            .flat_map(|f| f.tags.iter())
            .filter(|t| t.chars().any(|ch| ch.is_ascii_uppercase()))
            .map(String::as_str)
            .collect();
        if damaged.is_empty() {
            c.ok(
                "tag rows",
                format!("project {project}: no upper-case tag rows"),
            )?;
        } else {
            let list: Vec<String> = damaged.iter().map(|t| format!("'{t}'")).collect();
            c.warn(
                "tag rows",
                format!(
                    "project {project}: upper-case tag rows {} collide with their lowercase twins: DefectDojo answers 500 to any write of such a tag (MultipleObjectsReturned). \
                     Repair in DefectDojo's `manage.py shell`: \
                     from dojo.models import Finding; Tag = Finding.tags.tag_model; \
                     for name in [{}]: bad = Tag.objects.get(name=name); fs = list(Finding.objects.filter(tags=bad)); bad.delete(); [f.tags.add(name.lower()) for f in fs]",
                    list.join(", "),
                    list.join(", ")
                ),
            )?;
        }
    }
    // The webhook.
    let hooks = match dojo.webhooks().await {
        Ok(h) => h,
        Err(e) => {
            return c.warn(
                "webhook",
                format!(
                    "cannot read DefectDojo's webhooks ({e}); {}",
                    if superuser {
                        ""
                    } else {
                        "needs a superuser token"
                    }
                ),
            )
        }
    };
    match &settings.dojo.webhook_url {
        Some(url) => match dojo.webhook_report(url).await {
            Ok(r) if r.healthy() => c.ok(
                "webhook",
                format!("{url}: {} (id {})", r.status.unwrap_or_default(), r.webhook_id.unwrap_or_default()),
            )?,
            Ok(r) => c.fail(
                "webhook",
                format!(
                    "{url}: {}, webhooks {}, unsubscribed [{}]{}; run wstgctl setup-webhook (the poller also re-creates a dead one)",
                    r.status.as_deref().unwrap_or("missing"),
                    if r.enabled { "enabled" } else { "disabled" },
                    r.unsubscribed.join(", "),
                    r.last_error.map(|e| format!(", last error: {e}")).unwrap_or_default()
                ),
            )?,
            Err(e) => c.fail("webhook", format!("{e}"))?,
        },
        None => match hooks.iter().find(|h| h.name.as_deref() == Some(WEBHOOK_NAME)) {
            Some(h) => c.warn(
                "webhook",
                format!(
                    "'{WEBHOOK_NAME}' is {} but WSTG_DOJO_WEBHOOK_URL is not set, so nothing keeps it alive",
                    h.status.as_deref().unwrap_or("unknown")
                ),
            )?,
            None => c.warn(
                "webhook",
                "none: DefectDojo changes are seen at the next poll only (wstgctl setup-webhook --url …)",
            )?,
        },
    }
    Ok(())
}

/// The project's WSTG test by the configured criteria, creating nothing.
async fn find_test(
    dojo: &DojoClient,
    names: &HierarchyNames,
    target: &ResolvedTarget,
) -> anyhow::Result<Option<i64>> {
    let engagement = match &target.engagement {
        DojoRef::Id(e) => dojo.get_engagement(*e).await?.map(|e| e.id),
        DojoRef::Name(name) => {
            let product = match &target.product {
                Some(DojoRef::Id(p)) => dojo.get_product(*p).await?.map(|p| p.id),
                Some(DojoRef::Name(n)) => dojo.product_id(n).await?,
                None => None,
            };
            match product {
                Some(p) => dojo.engagement_id(p, name).await?,
                None => None,
            }
        }
    };
    let Some(engagement) = engagement else {
        return Ok(None);
    };
    let mut criteria = TestCriteria {
        test_types: Vec::new(),
        title: target.test_title.clone(),
    };
    for name in std::iter::once(&names.test_type).chain(&names.test_types) {
        if let Some(id) = dojo.test_type_id(name).await? {
            criteria.test_types.push(id);
        }
    }
    Ok(dojo
        .find_wstg_test(engagement, &criteria)
        .await?
        .map(|(id, _)| id))
}
