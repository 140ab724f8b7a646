//! The poll loop: every interval, or at once when a DefectDojo webhook
//! hints, observe each project whose lease this replica holds.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dojo_client::{DojoClient, NotesField};
use tokio_util::sync::CancellationToken;
use wstg_domain::Catalogue;
use wstg_queue::{Feed, Queue};
use wstg_settings::Settings;
use wstg_startup::connect as service;
use wstg_store::Store;

use crate::lease::ProjectLeases;
use crate::observe::observe_project;

#[derive(Debug, Clone)]
pub struct PollerOptions {
    pub interval: Duration,
    /// Least time between two passes, however many hints arrive.
    pub min_gap: Duration,
    /// This replica's name in leases and the heartbeat.
    pub holder: String,
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
}

const REACHABLE_UNKNOWN: u8 = 0;
const REACHABLE_YES: u8 = 1;
const REACHABLE_NO: u8 = 2;

impl Poller {
    pub async fn build(settings: &Settings) -> anyhow::Result<Poller> {
        // Settings the service needs first: a missing DefectDojo token is a
        // configuration error now, not after waiting for Redis.
        let notes_field = service::notes_field(settings)?;
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
            opts: PollerOptions {
                interval,
                min_gap: Duration::from_millis(200),
                holder,
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
        let mut requests = 0u32;
        let mut held = Vec::new();
        let mut reachable = None;
        let mut last_error = None;
        if projects.is_empty() {
            requests += 1;
            // A fresh bridge has nothing to poll yet; one cheap read lets the
            // dashboard say from the start whether DefectDojo answers.
            match self.dojo.ping().await {
                Ok(()) => reachable = Some(true),
                Err(e) => {
                    reachable = Some(false);
                    last_error = Some(e.to_string());
                }
            }
        }
        for (project, links) in projects {
            match self.leases.hold(project.as_str()).await {
                Ok(true) => held.push(project.as_str().to_owned()),
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "Redis unavailable; skipping this pass");
                    return held;
                }
            }
            match observe_project(
                &self.dojo,
                &self.store,
                &self.queue,
                self.catalogue,
                self.notes_field,
                &project,
                &links,
                None,
                "poll",
            )
            .await
            {
                Ok(o) => {
                    reachable = Some(true);
                    requests += o.requests;
                    crate::metrics::polled(true, o.findings);
                    tracing::debug!(%project, requests = o.requests, findings = o.findings, emitted = o.emitted, "polled");
                    if o.emitted > 0 {
                        tracing::info!(%project, changed = o.emitted, "DefectDojo changes queued");
                    }
                    // The discussion: its own step and cost (crate::comments).
                    match crate::comments::sync_project_comments(
                        &self.dojo,
                        &self.store,
                        &self.queue,
                        &project,
                        &o.changed,
                    )
                    .await
                    {
                        Ok(c) => requests += c.requests,
                        Err(e) => tracing::warn!(%project, error = %e, "DefectDojo notes not read"),
                    }
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
                        .forget_project_links(&project, links.test_id)
                        .await
                    {
                        tracing::warn!(error = %e, "could not forget the project's links");
                    }
                }
                Err(e) => {
                    crate::metrics::polled(false, 0);
                    reachable.get_or_insert(false);
                    last_error = Some(format!("{e:#}"));
                    tracing::warn!(%project, error = %format!("{e:#}"), "poll failed");
                }
            }
        }
        // A pass that read every project it held (or, with none yet, found
        // DefectDojo answering) is a successful sync: the `sync_stale` alert
        // measures from the last one.
        if reachable == Some(true) && last_error.is_none() {
            if let Err(e) = self.queue.mark_poll_ok(chrono::Utc::now()).await {
                tracing::debug!(error = %e, "last successful pass not recorded");
            }
        }
        // Only a replica that polled something knows whether DefectDojo
        // answers; a standby must not overwrite that with "no idea".
        if let Some(answered) = reachable {
            crate::metrics::pass(started.elapsed(), requests, answered);
            self.reachable.store(
                if answered {
                    REACHABLE_YES
                } else {
                    REACHABLE_NO
                },
                Ordering::Relaxed,
            );
            self.heartbeat(reachable, last_error).await;
        }
        held
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
