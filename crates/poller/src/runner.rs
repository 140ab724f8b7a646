//! The poll loop: every interval, or at once when a DefectDojo webhook
//! hints, observe each project whose lease this replica holds.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use dojo_client::{status_changed_at, DojoClient, NotesField};
use tokio_util::sync::CancellationToken;
use wstg_domain::ProjectName;
use wstg_domain::{Catalogue, WstgId};
use wstg_queue::{Feed, Queue};
use wstg_settings::{PollFeed, Settings};
use wstg_startup::connect as service;
use wstg_store::{ProjectLinks, Store};

use crate::lease::ProjectLeases;
use crate::observe::{observe_feed, observe_project, FeedOutcome};

#[derive(Debug, Clone)]
pub struct PollerOptions {
    pub interval: Duration,
    /// Least time between two passes, however many hints arrive.
    pub min_gap: Duration,
    /// This replica's name in leases and the heartbeat.
    pub holder: String,
    /// Per test, or one change feed for all held projects.
    pub feed: PollFeed,
    /// With the feed: time between two full reads of each test.
    pub full_scan: Duration,
}

/// Findings whose status changed this long before the newest one already
/// seen are read again, for a while: DefectDojo stamps `last_status_update`
/// before its transaction commits, so a finding stamped earlier can become
/// visible after a later one was read, and several findings can share a
/// stamp. Those read twice are compared with the store's snapshot and queue
/// nothing. Once the newest stamp has stood for `FEED_SETTLE` of our time,
/// everything stamped before it has committed and only findings stamped at
/// or after it are read: an idle feed is then one short page.
const FEED_OVERLAP: chrono::TimeDelta = chrono::TimeDelta::seconds(5);
const FEED_SETTLE: Duration = Duration::from_secs(10);

/// Findings per feed page. Idle, the feed reads one page of findings that
/// did not change; a burst of changes costs one request per this many.
const FEED_PAGE: u32 = 25;

/// What the change feed remembers between passes (this replica's only).
#[derive(Debug, Default)]
struct FeedState {
    /// The newest `last_status_update` read so far, and when we first read it.
    watermark: Option<(DateTime<Utc>, Instant)>,
    /// When each held project's test is next read in full; absent: now.
    next_full: HashMap<String, Instant>,
    /// The product type each held project's product is under, as DefectDojo
    /// said at the project's first full read here.
    product_types: HashMap<String, i64>,
}

/// What one pass did, for metrics, readiness and the heartbeat.
#[derive(Debug, Default)]
struct Tally {
    requests: u32,
    reachable: Option<bool>,
    last_error: Option<String>,
}

impl Tally {
    fn failed(&mut self, error: String) {
        self.reachable.get_or_insert(false);
        self.last_error = Some(error);
    }
}

pub struct Poller {
    dojo: DojoClient,
    store: Store,
    queue: Queue,
    catalogue: &'static Catalogue,
    notes_field: NotesField,
    leases: ProjectLeases,
    heartbeat_key: String,
    opts: PollerOptions,
    /// Keeps DefectDojo's webhook alive when a webhook URL is configured.
    webhook: Option<tokio::sync::Mutex<crate::webhook::WebhookKeeper>>,
    /// Alerts to people, when a webhook is configured (spawned by `run`).
    alerter: Option<wstg_alerts::Alerter>,
    /// Whether DefectDojo answered the last pass that asked it something
    /// (`REACHABLE_*`), for `/readyz`.
    reachable: Arc<AtomicU8>,
    feed: tokio::sync::Mutex<FeedState>,
}

const REACHABLE_UNKNOWN: u8 = 0;
const REACHABLE_YES: u8 = 1;
const REACHABLE_NO: u8 = 2;

impl Poller {
    pub async fn build(settings: &Settings) -> anyhow::Result<Poller> {
        // Settings the service needs first: a missing DefectDojo token is a
        // configuration error now, not after waiting for Redis.
        let notes_field = service::notes_field(settings)?;
        crate::evidence::configure(crate::evidence::FileLimits {
            max_file_bytes: settings.limits.evidence_max_file_bytes,
            max_project_bytes: settings.limits.evidence_max_project_bytes,
        });
        let dojo = service::dojo(settings, "wstg-poller")?;
        // The store first: a store that cannot open must leave nothing in Redis.
        let store = service::wait_for_store(settings).await?;
        let queue = service::wait_for_queue(settings, |_| {}).await?;
        let holder = wstg_queue::unique_consumer_name("poller");
        let interval = settings.poller.interval;
        // A dead holder's projects are taken over after three missed passes.
        let ttl = (interval * 3).max(Duration::from_secs(3));
        let leases =
            ProjectLeases::new(queue.connection(), &settings.redis.key_prefix, &holder, ttl);
        let heartbeat_key = queue.keys().poller_heartbeat.clone();
        let alerter = crate::alerts::build(settings, &queue, &store, &holder)?;
        crate::metrics::register();
        Ok(Poller {
            alerter,
            dojo,
            store,
            queue,
            catalogue: Catalogue::get(settings.catalogue_version),
            notes_field,
            leases,
            heartbeat_key,
            webhook: crate::webhook::WebhookKeeper::from_settings(settings)
                .map(tokio::sync::Mutex::new),
            reachable: Arc::new(AtomicU8::new(REACHABLE_UNKNOWN)),
            feed: tokio::sync::Mutex::new(FeedState::default()),
            opts: PollerOptions {
                interval,
                min_gap: Duration::from_millis(200),
                holder,
                feed: settings.poller.feed,
                full_scan: settings.poller.full_scan,
            },
        })
    }

    pub fn holder(&self) -> &str {
        &self.opts.holder
    }

    /// The retention job of this replica, on its store and queue; spawned
    /// beside [`Poller::run`] (crates/poller/src/retention.rs).
    pub fn retention_job(&self, settings: &Settings) -> crate::RetentionJob {
        crate::RetentionJob::new(
            settings,
            self.store.clone(),
            self.queue.clone(),
            &self.opts.holder,
        )
    }

    /// What this poller's `/readyz` checks: Redis and the store; it reports
    /// (never failing readiness, `wstg_ops::readiness` says why) whether
    /// DefectDojo answered its last pass and the workers' breakers as they
    /// publish them.
    pub fn ops_checks(&self) -> wstg_ops::Checks {
        let queue = self.queue.clone();
        let reachable = self.reachable.clone();
        wstg_ops::Checks {
            service: "wstg-poller",
            queue: self.queue.clone(),
            store: self.store.clone(),
            dojo: Arc::new(move || {
                let queue = queue.clone();
                let reachable = match reachable.load(Ordering::Relaxed) {
                    REACHABLE_YES => Some(true),
                    REACHABLE_NO => Some(false),
                    _ => None,
                };
                Box::pin(async move {
                    let breaker = wstg_ops::readiness::workers_breaker(&queue).await;
                    serde_json::json!({ "reachable": reachable, "breaker": breaker })
                })
            }),
        }
    }

    /// Runs until `shutdown`, then gives up its leases.
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let alerts = crate::alerts::spawn(self.alerter.take(), &shutdown);
        let start = self
            .queue
            .feed_last_id(Feed::PollHints)
            .await
            .unwrap_or_else(|_| "$".to_owned());
        let mut hints = None;
        let mut hint_from = start;
        let mut next_pass = tokio::time::Instant::now();
        let mut held: Vec<String> = Vec::new();
        tracing::info!(holder = %self.opts.holder, interval = ?self.opts.interval, "poller running");
        while !shutdown.is_cancelled() {
            let now = tokio::time::Instant::now();
            if now >= next_pass {
                held = self.pass().await;
                self.keep_webhook().await;
                next_pass = now + self.opts.interval;
                // Hints that arrive while a pass runs are served by the next.
            }
            // Wait for the next pass or a webhook hint.
            let reader = match hints.as_mut() {
                Some(r) => r,
                None => match self
                    .queue
                    .feed_reader(
                        Feed::PollHints,
                        hint_from.clone(),
                        Duration::from_millis(500),
                    )
                    .await
                {
                    Ok(r) => hints.insert(r),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read poll hints; polling on the interval only");
                        tokio::select! {
                            _ = shutdown.cancelled() => break,
                            _ = tokio::time::sleep_until(next_pass) => {}
                        }
                        continue;
                    }
                },
            };
            let wait = next_pass.saturating_duration_since(tokio::time::Instant::now());
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
                got = reader.next() => match got {
                    Ok(entries) if !entries.is_empty() => {
                        hint_from = reader.last_id().to_owned();
                        tracing::debug!(hints = entries.len(), "poll hint: polling now");
                        next_pass = tokio::time::Instant::now().max(next_pass - self.opts.interval + self.opts.min_gap);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "poll hint read failed; reconnecting");
                        hints = None;
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        }
        for project in held {
            self.leases.release(&project).await;
        }
        if let Some(job) = alerts {
            let _ = job.await;
        }
        tracing::info!("poller stopped");
        Ok(())
    }

    /// One replica (the holder of lease `dojo:webhook`, a name no project can have) checks DefectDojo's webhook.
    async fn keep_webhook(&self) {
        let Some(keeper) = &self.webhook else { return };
        if let Ok(true) = self.leases.hold("dojo:webhook").await {
            keeper
                .lock()
                .await
                .after_pass(&self.dojo, &self.queue)
                .await;
        }
    }

    /// One pass over every project this replica holds. Returns them.
    pub async fn pass(&self) -> Vec<String> {
        let projects = match self.store.projects().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "store unavailable; skipping this pass");
                return Vec::new();
            }
        };
        let started = Instant::now();
        let mut tally = Tally::default();
        let mut held = Vec::new();
        if projects.is_empty() {
            tally.requests += 1;
            // A fresh bridge has nothing to poll yet; one cheap read lets the
            // dashboard say from the start whether DefectDojo answers.
            match self.dojo.ping().await {
                Ok(()) => tally.reachable = Some(true),
                Err(e) => tally.failed(e.to_string()),
            }
        }
        let mut mine = Vec::new();
        for (project, links) in projects {
            match self.leases.hold(project.as_str()).await {
                Ok(true) => {
                    held.push(project.as_str().to_owned());
                    mine.push((project, links));
                }
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "Redis unavailable; skipping this pass");
                    return held;
                }
            }
        }
        match self.opts.feed {
            PollFeed::PerTest => {
                for (project, links) in &mine {
                    self.full_scan(project, links, &mut tally).await;
                }
            }
            PollFeed::PerProductType => self.feed_pass(&mine, &mut tally).await,
        }
        // A pass that read every project it held (or, with none yet, found
        // DefectDojo answering) is a successful sync: the `sync_stale` alert
        // measures from the last one.
        if tally.reachable == Some(true) && tally.last_error.is_none() {
            if let Err(e) = self.queue.mark_poll_ok(chrono::Utc::now()).await {
                tracing::debug!(error = %e, "last successful pass not recorded");
            }
        }
        // Only a replica that polled something knows whether DefectDojo
        // answers; a standby must not overwrite that with "no idea".
        if let Some(answered) = tally.reachable {
            crate::metrics::pass(started.elapsed(), tally.requests, answered);
            self.reachable.store(
                if answered {
                    REACHABLE_YES
                } else {
                    REACHABLE_NO
                },
                Ordering::Relaxed,
            );
            self.heartbeat(tally.reachable, tally.last_error).await;
        }
        held
    }

    /// The product-type feed (docs/sync-rules.md, polling): one list for all
    /// of `mine`, read down to the watermark, handed to the projects it
    /// names; then the full reads that are due (a project this replica has
    /// not read in full yet, one whose last full read is `full_scan` old, one
    /// the feed could not judge alone).
    async fn feed_pass(&self, mine: &[(ProjectName, ProjectLinks)], tally: &mut Tally) {
        let mut state = self.feed.lock().await;
        let now = Instant::now();
        let is_mine = |p: &String| mine.iter().any(|(m, _)| m.as_str() == p);
        state.next_full.retain(|p, _| is_mine(p));
        state.product_types.retain(|p, _| is_mine(p));
        if mine.is_empty() {
            return;
        }
        // The projects whose discussion this pass looked at (crate::comments).
        let mut noted: BTreeSet<usize> = BTreeSet::new();
        let mut due: Vec<usize> = (0..mine.len())
            .filter(|i| {
                state
                    .next_full
                    .get(mine[*i].0.as_str())
                    .is_none_or(|t| *t <= now)
            })
            .collect();
        let product_types: BTreeSet<i64> = mine
            .iter()
            .map(|(p, l)| {
                state
                    .product_types
                    .get(p.as_str())
                    .copied()
                    .unwrap_or(l.product_type_id)
            })
            .collect();
        let test_types: BTreeSet<i64> = mine.iter().map(|(_, l)| l.test_type_id).collect();
        let of_test: HashMap<i64, usize> = mine
            .iter()
            .enumerate()
            .map(|(i, (_, l))| (l.test_id, i))
            .collect();
        let since = state.watermark.map(|(w, seen)| {
            if seen.elapsed() >= FEED_SETTLE {
                w
            } else {
                w - FEED_OVERLAP
            }
        });
        let product_types: Vec<i64> = product_types.into_iter().collect();
        let test_types: Vec<i64> = test_types.into_iter().collect();
        match self
            .dojo
            .list_feed(&product_types, &test_types, since, FEED_PAGE)
            .await
        {
            Ok(page) => {
                tally.requests += page.requests;
                tally.reachable = Some(true);
                let newest = page.findings.iter().filter_map(status_changed_at).max();
                let mut per_project: BTreeMap<usize, Vec<&dojo_client::Finding>> = BTreeMap::new();
                for f in &page.findings {
                    // Other tests (scanner imports, other projects' replicas,
                    // products the bridge does not link) are not ours.
                    if let Some(i) = of_test.get(&f.test) {
                        per_project.entry(*i).or_default().push(f);
                    }
                }
                let mut complete = true;
                for (i, findings) in per_project {
                    if due.contains(&i) {
                        continue;
                    }
                    let (project, links) = &mine[i];
                    let Some(catalogue) = self.catalogue_of(project).await else {
                        complete = false;
                        continue;
                    };
                    // A vulnerability the bridge made sits in the project's
                    // test, so the feed shows its changes: read the project's
                    // vulnerabilities then (scanner findings tagged with an
                    // id, in other tests, wait for the full read).
                    if findings.iter().any(|f| {
                        wstg_domain::vulnerability::is_marked_vulnerability(
                            f.unique_id_from_tool.as_deref(),
                            &f.tags,
                        )
                    }) {
                        self.vulnerability_pass(project, links, catalogue, tally)
                            .await;
                    }
                    match observe_feed(
                        &self.store,
                        &self.queue,
                        catalogue,
                        self.notes_field,
                        project,
                        &findings,
                        "poll",
                    )
                    .await
                    {
                        Ok(FeedOutcome::Emitted(n, changed)) => {
                            crate::metrics::polled(true, findings.len());
                            if n > 0 {
                                tracing::info!(%project, changed = n, "DefectDojo changes queued");
                            }
                            // A finding the feed re-read may carry a new
                            // note too (notes move `updated`): its notes are
                            // read here, or the full read would see nothing
                            // left to compare.
                            self.comments_pass(project, &changed, tally).await;
                            noted.insert(i);
                        }
                        Ok(FeedOutcome::NeedsFullScan) => due.push(i),
                        Err(e) => {
                            // The watermark stays: the next pass reads these again.
                            complete = false;
                            tally.failed(format!("{e:#}"));
                            tracing::warn!(%project, error = %format!("{e:#}"), "feed not applied");
                        }
                    }
                }
                if complete {
                    if let Some(newest) = newest {
                        if state.watermark.is_none_or(|(w, _)| newest > w) {
                            state.watermark = Some((newest, Instant::now()));
                        }
                    }
                }
                tracing::debug!(requests = page.requests, findings = page.findings.len(), watermark = ?state.watermark, "change feed read");
            }
            Err(e) => {
                // Nothing is lost: the watermark stays where it was.
                crate::metrics::polled(false, 0);
                tally.failed(format!("{e:#}"));
                tracing::warn!(error = %format!("{e:#}"), "change feed read failed");
                return;
            }
        }
        // First full reads are spread over one `full_scan` so that later
        // passes each read a few tests, not all of them at once.
        let first = due
            .iter()
            .filter(|i| !state.next_full.contains_key(mine[**i].0.as_str()))
            .count()
            .max(1) as u32;
        let mut k = 0u32;
        noted.extend(due.iter().copied());
        for i in due {
            let (project, links) = &mine[i];
            let never = !state.next_full.contains_key(project.as_str());
            if never {
                // Before the first full read, so that a change made in
                // between is seen either by that read or by the next feed.
                tally.requests += 1;
                match self.dojo.product_type_of(links.product_id).await {
                    Ok(Some(pt)) => {
                        if pt != links.product_type_id {
                            tracing::info!(%project, product_type = pt, linked = links.product_type_id, "the project's product is under another product type; the feed follows it");
                        }
                        state.product_types.insert(project.as_str().to_owned(), pt);
                    }
                    Ok(None) => {}
                    // The full read below says whether DefectDojo answers
                    // (or the test is gone); the linked product type stays.
                    Err(e) => {
                        tracing::warn!(%project, error = %format!("{e:#}"), "product type not read; the feed uses the linked one");
                    }
                }
            }
            if self.full_scan(project, links, tally).await {
                let wait = if never {
                    k += 1;
                    self.opts.full_scan * k / first
                } else {
                    self.opts.full_scan
                };
                state
                    .next_full
                    .insert(project.as_str().to_owned(), Instant::now() + wait);
            }
        }
        // Every other project: comments waiting to be posted (written before
        // their item had a finding, or whose post failed) go to the workers;
        // no DefectDojo request.
        for (i, (project, _)) in mine.iter().enumerate() {
            if !noted.contains(&i) {
                self.comments_pass(project, &[], tally).await;
            }
        }
    }

    /// Reads `project`'s test in full and queues its changes. True on success.
    /// The catalogue `project`'s ids are read against (issue 12 item 5).
    /// `None` when the store cannot say: read against another catalogue,
    /// the project's findings would look deleted, so it is skipped this
    /// pass instead.
    async fn catalogue_of(&self, project: &ProjectName) -> Option<&'static Catalogue> {
        match self.store.project_catalogue(project).await {
            Ok(chosen) => Some(chosen.map_or(self.catalogue, Catalogue::get)),
            Err(e) => {
                tracing::warn!(error = %e, %project, "store unavailable; project skipped this pass");
                None
            }
        }
    }

    /// Vulnerabilities under the project's items (issue 12 item 1): one
    /// request of its own (crate::vulnerabilities), made with each full read
    /// and when the feed shows a vulnerability finding changed.
    async fn vulnerability_pass(
        &self,
        project: &ProjectName,
        links: &ProjectLinks,
        catalogue: &'static Catalogue,
        tally: &mut Tally,
    ) {
        match crate::vulnerabilities::observe_vulnerabilities(
            &self.dojo,
            &self.store,
            &self.queue,
            catalogue,
            project,
            links,
        )
        .await
        {
            Ok(v) => tally.requests += v.requests,
            Err(e) => {
                // DefectDojo answered the item read: a failure here says
                // nothing of its reachability.
                tally.last_error = Some(format!("{e:#}"));
                tracing::warn!(%project, error = %format!("{e:#}"), "vulnerability poll failed");
            }
        }
    }

    /// The discussion of the findings seen changed, and the hand-over of
    /// unsent comments: its own step and cost (crate::comments; a DefectDojo
    /// request per changed finding only).
    async fn comments_pass(
        &self,
        project: &ProjectName,
        changed: &[(WstgId, i64)],
        tally: &mut Tally,
    ) {
        match crate::comments::sync_project_comments(
            &self.dojo,
            &self.store,
            &self.queue,
            project,
            changed,
        )
        .await
        {
            Ok(c) => tally.requests += c.requests,
            Err(e) => tracing::warn!(%project, error = %e, "DefectDojo notes not read"),
        }
    }

    async fn full_scan(
        &self,
        project: &ProjectName,
        links: &ProjectLinks,
        tally: &mut Tally,
    ) -> bool {
        let Some(catalogue) = self.catalogue_of(project).await else {
            return false;
        };
        match observe_project(
            &self.dojo,
            &self.store,
            &self.queue,
            catalogue,
            self.notes_field,
            project,
            links,
            None,
            "poll",
        )
        .await
        {
            Ok(o) => {
                tally.reachable = Some(true);
                tally.requests += o.requests;
                crate::metrics::polled(true, o.findings);
                tracing::debug!(%project, requests = o.requests, findings = o.findings, emitted = o.emitted, "polled");
                if o.emitted > 0 {
                    tracing::info!(%project, changed = o.emitted, "DefectDojo changes queued");
                }
                self.vulnerability_pass(project, links, catalogue, tally)
                    .await;
                // Notes move only `updated`: the full reads see them.
                self.comments_pass(project, &o.changed, tally).await;
                true
            }
            Err(e)
                if e.downcast_ref::<dojo_client::DojoError>()
                    .is_some_and(|d| d.is_missing_test()) =>
            {
                // The test was deleted in DefectDojo: stop polling it; the
                // next tracker change bootstraps the project again.
                tracing::warn!(%project, test_id = links.test_id, "the project's DefectDojo test is gone; forgetting its links");
                if let Err(e) = self
                    .store
                    .forget_project_links(project, links.test_id)
                    .await
                {
                    tracing::warn!(error = %e, "could not forget the project's links");
                }
                true
            }
            Err(e) => {
                crate::metrics::polled(false, 0);
                tally.failed(format!("{e:#}"));
                tracing::warn!(%project, error = %format!("{e:#}"), "poll failed");
                false
            }
        }
    }

    /// Publishes liveness and DefectDojo reachability for the dashboard.
    async fn heartbeat(&self, reachable: Option<bool>, last_error: Option<String>) {
        let beat = serde_json::json!({
            "holder": self.opts.holder,
            "at": chrono::Utc::now(),
            "dojo_reachable": reachable,
            "last_error": last_error,
            "interval_secs": self.opts.interval.as_secs(),
        });
        let ttl = (self.opts.interval * 3).max(Duration::from_secs(3));
        let r: Result<(), _> = redis::cmd("SET")
            .arg(&self.heartbeat_key)
            .arg(beat.to_string())
            .arg("PX")
            .arg(ttl.as_millis() as u64)
            .query_async(&mut self.queue.connection())
            .await;
        if let Err(e) = r {
            tracing::debug!(error = %e, "heartbeat not written");
        }
    }
}
