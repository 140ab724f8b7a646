//! The consumer loop: read a batch, group it by item, apply each item once,
//! acknowledge what is done; plus the loops that reclaim messages of dead
//! replicas and promote due retries.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use wstg_domain::{Catalogue, Envelope, EnvelopeError, EventKind, ProjectName, WstgId};
use wstg_queue::{retry::retry_delay, Consumer, Delivery, Queue};
use wstg_settings::Settings;
use wstg_startup::connect as service;

use crate::apply::{Applied, Applier, Trigger};
use crate::bootstrap::{Bootstrapper, HierarchyNames};
use crate::breaker::{self, Breaker};
use crate::error::WorkError;
use crate::item_lock::ItemLocks;

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Unique per replica: the consumer name in the group.
    pub consumer_name: String,
    pub concurrency: usize,
    /// Batches worked on at once: the next batch is read as soon as one of
    /// these is done, so a batch's slowest DefectDojo call no longer holds
    /// the whole replica (docs/benchmarks.md, "The burst").
    pub batches_in_flight: usize,
    pub max_deliveries: u32,
    pub claim_every: Duration,
    /// How often the entries in hand get their idle time reset, so other
    /// replicas only reclaim entries whose holder stopped.
    pub heartbeat_every: Duration,
    /// How long in-flight work may take after SIGTERM before it is left for
    /// another replica to reclaim.
    pub shutdown_deadline: Duration,
}

/// One checklist item: the unit events are grouped by.
type ItemKey = (ProjectName, WstgId);

pub struct Worker {
    pub(crate) queue: Queue,
    pub(crate) applier: Applier,
    /// DefectDojo circuit breaker (crate::breaker).
    pub(crate) breaker: Breaker,
    pub(crate) opts: WorkerOptions,
}

/// A unique consumer name, the queue crate's naming with the pid in the
/// role (`worker-<pid>-<host>-<8 hex>`), so an operator (and the fault
/// suite) can tell which process holds which pending entries.
pub fn default_consumer_name() -> String {
    wstg_queue::unique_consumer_name(&format!("worker-{}", std::process::id()))
}

/// Group members idle this long with nothing pending are replicas that
/// stopped: pruned at start, so `wstgctl status` counts live consumers.
pub const DEAD_CONSUMER_IDLE: Duration = Duration::from_secs(600);

impl Worker {
    pub async fn build(settings: &Settings) -> anyhow::Result<Worker> {
        let w = &settings.worker;
        // Settings the service needs first: a missing DefectDojo token is a
        // configuration error now, not after waiting for Redis.
        let notes_field = service::notes_field(settings)?;
        let dojo = service::dojo(settings, "wstg-worker")?;
        // The store first: a store that cannot open must leave nothing in Redis.
        let store = service::wait_for_store(settings).await?;
        let queue = service::wait_for_queue(settings, |q| {
            q.block = Duration::from_millis(w.block_ms);
            q.batch = w.batch;
            q.claim_min_idle = Duration::from_secs(w.claim_min_idle_secs);
            q.max_deliveries = w.max_deliveries;
        })
        .await?;
        // A lease outlives the slowest DefectDojo call with its retries.
        let lease = settings.dojo.timeout * 3 + Duration::from_secs(5);
        // Leases go through the queue's connection: one door to Redis.
        let locks = ItemLocks::new(queue.connection(), &settings.redis.key_prefix, lease);
        let catalogue = Catalogue::get(settings.catalogue_version);
        let bootstrap = Bootstrapper::new(
            dojo.clone(),
            store.clone(),
            locks.clone(),
            HierarchyNames::from_settings(settings),
        );
        let applier = Applier {
            dojo,
            store,
            locks,
            bootstrap,
            catalogue,
            notes_field,
            policy: settings.poller.conflict_policy,
            queue: queue.clone(),
            dojo_ui: settings.dojo.url.as_str().trim_end_matches('/').to_owned(),
            min_write_interval: Duration::from_millis(settings.worker.item_write_interval_ms),
            lock_wait: lease,
            bridge_tag_refused: Default::default(),
        };
        crate::metrics::register(settings.poller.conflict_policy);
        Ok(Worker {
            queue,
            applier,
            breaker: Breaker::default(),
            opts: WorkerOptions {
                consumer_name: default_consumer_name(),
                concurrency: w.concurrency,
                batches_in_flight: w.batches_in_flight,
                max_deliveries: w.max_deliveries,
                claim_every: Duration::from_secs((w.claim_min_idle_secs / 4).max(1)),
                heartbeat_every: Duration::from_secs((w.claim_min_idle_secs / 3).max(1)),
                shutdown_deadline: Duration::from_secs(w.shutdown_deadline_secs),
            },
        })
    }

    /// What this worker's `/readyz` checks: Redis, the store, and (reported,
    /// never failing readiness; `wstg_ops::readiness` says why) its
    /// DefectDojo breaker.
    pub fn ops_checks(&self) -> wstg_ops::Checks {
        let breaker = self.breaker.clone();
        let consumer = self.opts.consumer_name.clone();
        wstg_ops::Checks {
            service: "wstg-worker",
            queue: self.queue.clone(),
            store: self.applier.store.clone(),
            dojo: Arc::new(move || {
                // No last_error: health answers are unauthenticated.
                let s = breaker.snapshot(&consumer);
                Box::pin(async move {
                    serde_json::json!({
                        "breaker": s.state,
                        "failures": s.failures,
                        "reopen_at": s.reopen_at,
                    })
                })
            }),
        }
    }

    pub fn options_mut(&mut self) -> &mut WorkerOptions {
        &mut self.opts
    }

    pub fn applier(&self) -> &Applier {
        &self.applier
    }

    /// Runs until `shutdown` is cancelled, then finishes in-flight work
    /// within the deadline and acknowledges only what was done.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let this = Arc::new(self);
        match this.queue.prune_consumers(DEAD_CONSUMER_IDLE).await {
            Ok(n) if n > 0 => tracing::info!(pruned = n, "dead consumers removed from the group"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not prune dead consumers"),
        }
        // The queue crate's mover: every 50 ms, since a deferred write is due
        // at the end of its item's write interval and this is how late it
        // may start. One promote is one short Lua call.
        let promoter = {
            let queue = this.queue.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                queue
                    .run_delayed_mover(shutdown, Duration::from_millis(50))
                    .await
            })
        };
        let publisher = tokio::spawn(breaker::publish_loop(
            this.breaker.clone(),
            this.queue.clone(),
            this.opts.consumer_name.clone(),
            shutdown.clone(),
        ));
        let result = this.consume_loop(shutdown.clone()).await;
        shutdown.cancel();
        let _ = promoter.await;
        let _ = publisher.await;
        result
    }

    async fn consume_loop(self: &Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut consumer = self.connect_consumer(&shutdown).await?;
        let mut last_claim = tokio::time::Instant::now() - self.opts.claim_every;
        let mut backoff = Duration::from_millis(100);
        // One permit per batch in flight: a batch is read only with a free one.
        let slots = Arc::new(Semaphore::new(self.opts.batches_in_flight.max(1)));
        let held = Held::default();
        let mut batches: JoinSet<()> = JoinSet::new();
        let heartbeat = tokio::spawn(heartbeat_loop(
            self.queue.clone(),
            self.opts.consumer_name.clone(),
            held.clone(),
            self.opts.heartbeat_every,
        ));
        tracing::info!(consumer = %self.opts.consumer_name, batches_in_flight = self.opts.batches_in_flight, "worker consuming");
        while !shutdown.is_cancelled() {
            // DefectDojo is failing: take no new work until the breaker's
            // cool-down ends (crate::breaker explains why).
            if breaker::wait_while_open(&self.breaker, &shutdown).await {
                continue;
            }
            reap(&mut batches);
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break,
                p = slots.clone().acquire_owned() => p?,
            };
            let batch = if last_claim.elapsed() >= self.opts.claim_every {
                last_claim = tokio::time::Instant::now();
                // Entries this replica holds in a running batch stay with it
                // (they are ours already; claiming them would apply them twice).
                consumer.claim_stale().await.map(|d| held.not_held(d))
            } else {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    r = consumer.read() => r,
                }
            };
            let deliveries = match batch {
                Ok(d) => {
                    backoff = Duration::from_millis(100);
                    d
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "queue read failed");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    if let Ok(c) = self.queue.consumer(&self.opts.consumer_name).await {
                        consumer = c;
                    }
                    continue;
                }
            };
            if deliveries.is_empty() {
                continue;
            }
            let ids: Vec<String> = deliveries.iter().map(|d| d.id.clone()).collect();
            held.add(&ids);
            let (this, held) = (self.clone(), held.clone());
            batches.spawn(async move {
                let done = this.handle_batch(deliveries).await;
                if let Err(e) = ack_with_retry(&this.queue, &done).await {
                    // Unacknowledged messages are redelivered and applied
                    // again, which is harmless: application is idempotent.
                    tracing::warn!(error = %e, "acknowledgement failed");
                }
                // Done or not: what is still pending is reclaimed like any
                // entry whose holder stopped.
                held.remove(&ids);
                drop(permit);
            });
        }
        // In-flight work gets a deadline once shutdown starts; what does not
        // finish stays unacknowledged and is reclaimed elsewhere.
        let drain = async { while batches.join_next().await.is_some() {} };
        if tokio::time::timeout(self.opts.shutdown_deadline, drain)
            .await
            .is_err()
        {
            tracing::warn!(
                entries = held.len(),
                "shutdown deadline passed; unfinished messages left for other replicas"
            );
            batches.abort_all();
        }
        heartbeat.abort();
        tracing::info!("worker stopped");
        Ok(())
    }

    async fn connect_consumer(&self, shutdown: &CancellationToken) -> anyhow::Result<Consumer> {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.queue.consumer(&self.opts.consumer_name).await {
                Ok(c) => return Ok(c),
                Err(e) if !shutdown.is_cancelled() => {
                    tracing::warn!(error = %e, "cannot open a queue consumer yet");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Applies a batch and returns the ids that may be acknowledged.
    pub async fn handle_batch(&self, deliveries: Vec<Delivery>) -> Vec<String> {
        let mut ack = Vec::with_capacity(deliveries.len());
        let mut groups: Vec<(ItemKey, Vec<(String, Envelope)>)> = Vec::new();
        let mut index: HashMap<ItemKey, usize> = HashMap::new();
        let mut vulns: Vec<(String, Envelope)> = Vec::new();
        for d in deliveries {
            let exceeded = d.exceeded(self.opts.max_deliveries);
            let event_id = d.event_id();
            let env = match d.envelope {
                Ok(env) => env,
                Err(refused) => {
                    // Permanent either way: retrying cannot make a newer
                    // release's event readable (it is replayed after the
                    // upgrade) nor a broken payload an event.
                    let why = match &refused {
                        EnvelopeError::UnsupportedVersion { .. } => refused.to_string(),
                        EnvelopeError::Malformed(_) => format!("undecodable: {refused}"),
                    };
                    tracing::error!(stream_id = %d.id, ?event_id, reason = %why, "message dead-lettered unapplied");
                    if self
                        .queue
                        .dead_letter_raw(&d.raw, &d.id, &why)
                        .await
                        .is_ok()
                    {
                        crate::metrics::dead_lettered("undecodable");
                        ack.push(d.id);
                    }
                    continue;
                }
            };
            if exceeded {
                let why = format!("delivered {} times without completing", d.deliveries);
                tracing::error!(event_id = %env.event_id, "{why}; dead-lettered");
                if self.dead_letter(&env, &d.id, &why, "poison").await {
                    ack.push(d.id);
                }
                continue;
            }
            let key = match &env.kind {
                EventKind::TrackerChange(c) => (env.project.clone(), c.wstg_id.clone()),
                EventKind::Reconcile {
                    wstg_id: Some(id), ..
                } => (env.project.clone(), id.clone()),
                EventKind::PushItem { wstg_id } => (env.project.clone(), wstg_id.clone()),
                EventKind::Evidence { wstg_id, .. } => (env.project.clone(), wstg_id.clone()),
                EventKind::SyncComments { wstg_id } => (env.project.clone(), wstg_id.clone()),
                EventKind::Reconcile { wstg_id: None, .. } => {
                    // Whole-project reconciliation is the poller's pass
                    // (wstgctl sync runs it); per-item events follow from it.
                    ack.push(d.id);
                    continue;
                }
                // Vulnerabilities have their own leases (crate::vulnerability).
                EventKind::Vulnerability { .. } => {
                    vulns.push((d.id, env));
                    continue;
                }
            };
            let slot = *index.entry(key.clone()).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            });
            groups[slot].1.push((d.id, env));
        }
        let recorded = self.record_batch(&groups).await;
        let done: Vec<Vec<String>> = futures::stream::iter(groups)
            .map(|((project, wstg_id), events)| {
                self.handle_item(project, wstg_id, events, recorded)
            })
            .buffer_unordered(self.opts.concurrency)
            .collect()
            .await;
        ack.extend(done.into_iter().flatten());
        let vulns: Vec<Option<String>> = futures::stream::iter(vulns)
            .map(
                |(id, env)| async move { self.handle_vulnerability(&id, &env).await.then_some(id) },
            )
            .buffer_unordered(self.opts.concurrency)
            .collect()
            .await;
        ack.extend(vulns.into_iter().flatten());
        ack
    }

    /// Records every tracker change of a batch in one store transaction, so
    /// a batch costs one commit (one fsync on SQLite) instead of one per
    /// change: at 0 ms DefectDojo latency the per-change commits were most
    /// of the worker's own time (docs/benchmarks.md, "The burst"). True when
    /// all are durable; false sends each item back to recording its events
    /// one by one, where a change that cannot be recorded is retried or
    /// dead-lettered alone. Nothing is acknowledged before this returns.
    async fn record_batch(&self, groups: &[(ItemKey, Vec<(String, Envelope)>)]) -> bool {
        let changes: Vec<_> = groups
            .iter()
            .flat_map(|((project, _), events)| {
                events.iter().filter_map(move |(_, env)| match &env.kind {
                    EventKind::TrackerChange(change) => Some((project, change, env.event_id)),
                    _ => None,
                })
            })
            .collect();
        if changes.is_empty() {
            return true;
        }
        match self.applier.store.record_tracker_changes(&changes).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(changes = changes.len(), error = %e, "could not record the batch's tracker changes at once; recording them one by one");
                false
            }
        }
    }

    /// Records every event of one item (unless `recorded`: the batch's
    /// changes are already durable), pushes the item once, and decides the
    /// fate of the events on failure. Returns the ids safe to ack.
    async fn handle_item(
        &self,
        project: ProjectName,
        wstg_id: WstgId,
        events: Vec<(String, Envelope)>,
        recorded: bool,
    ) -> Vec<String> {
        let span = tracing::info_span!(
            "apply_item",
            %project,
            %wstg_id,
            events = events.len(),
            event_id = tracing::field::Empty,
        );
        self.handle_item_in_span(project, wstg_id, events, recorded)
            .instrument(span)
            .await
    }

    async fn handle_item_in_span(
        &self,
        project: ProjectName,
        wstg_id: WstgId,
        events: Vec<(String, Envelope)>,
        recorded: bool,
    ) -> Vec<String> {
        let mut ack = Vec::with_capacity(events.len());
        let mut latest: Option<(String, Envelope)> = None;
        let mut observation: Option<(String, Envelope)> = None;
        let mut comments: Option<(String, Envelope)> = None;
        for (id, env) in events {
            let change = match &env.kind {
                EventKind::TrackerChange(change) => change,
                EventKind::Reconcile { .. } => {
                    // Only the newest observation of an item matters.
                    if let Some((older, _)) = observation.replace((id, env)) {
                        ack.push(older);
                    }
                    continue;
                }
                EventKind::Evidence { evidence_id, .. } => {
                    // One file to upload (crate::evidence); the item's own
                    // push is not involved.
                    let result = self
                        .breaker
                        .guard(self.applier.sync_evidence(&project, &wstg_id, *evidence_id))
                        .await;
                    match result {
                        Ok(applied) => {
                            tracing::info!(event_id = %env.event_id, evidence = %evidence_id, ?applied, "evidence applied");
                            ack.push(id);
                        }
                        Err(e) => {
                            tracing::warn!(event_id = %env.event_id, evidence = %evidence_id, error = %e, "evidence not applied");
                            if self.retry_or_dead_letter(&env, &id, &e).await {
                                ack.push(id);
                            }
                        }
                    }
                    continue;
                }
                EventKind::Vulnerability { .. } => {
                    ack.push(id);
                    continue;
                }
                EventKind::SyncComments { .. } => {
                    // Carried out after the item (crate::comments).
                    comments = Some((id, env));
                    continue;
                }
                EventKind::PushItem { .. } => {
                    // A deferred push: the state to push is already recorded.
                    ack.push(id.clone());
                    if latest.is_none() {
                        latest = Some((id, env));
                    }
                    continue;
                }
            };
            if recorded {
                ack.push(id.clone());
                latest = Some((id, env));
                continue;
            }
            match self
                .applier
                .store
                .record_tracker_change(&project, change, env.event_id)
                .await
            {
                Ok(_) => {
                    ack.push(id.clone());
                    latest = Some((id, env));
                }
                Err(e) => {
                    // Not recorded: keep the event itself for later.
                    tracing::warn!(event_id = %env.event_id, error = %e, "could not record tracker change");
                    if self
                        .retry_or_dead_letter(&env, &id, &WorkError::Store(e))
                        .await
                    {
                        ack.push(id);
                    }
                }
            }
        }
        if let Some((obs_id, obs_env)) = observation {
            if self
                .reconcile_item(&project, &wstg_id, &obs_id, &obs_env)
                .await
            {
                ack.push(obs_id);
            }
        }
        if let Some((c_id, c_env)) = comments {
            if self.sync_comments(&project, &wstg_id, &c_env, &c_id).await {
                ack.push(c_id);
            }
        }
        let Some((last_id, last_env)) = latest else {
            return ack;
        };
        tracing::Span::current().record("event_id", tracing::field::display(last_env.event_id));
        match self
            .breaker
            .guard(
                self.applier
                    .push_item(&project, &wstg_id, last_env.event_id),
            )
            .await
        {
            Ok(Applied::Deferred { due }) => {
                // Recorded; one deferred push carries them (crate::apply).
                if self.defer_push(&project, &wstg_id, due).await {
                    crate::metrics::applied("coalesced");
                    ack
                } else {
                    crate::metrics::applied("failed");
                    Vec::new()
                }
            }
            Ok(applied) => {
                tracing::info!(event_id = %last_env.event_id, ?applied, "item applied");
                if matches!(applied, Applied::Created { .. } | Applied::Matched { .. }) {
                    // Files attached before the item had a finding (crate::evidence).
                    self.applier
                        .queue_pending_evidence(&project, &wstg_id)
                        .await;
                }
                crate::metrics::applied(crate::metrics::outcome_of(&applied));
                ack
            }
            Err(e) => {
                tracing::warn!(event_id = %last_env.event_id, error = %e, retryable = e.is_retryable(), "item not applied");
                // The events are recorded; one retry (or dead letter) of the
                // newest carries the item. If even that cannot be stored,
                // nothing is acknowledged and the messages are redelivered.
                if self.retry_or_dead_letter(&last_env, &last_id, &e).await {
                    ack
                } else {
                    Vec::new()
                }
            }
        }
    }

    /// Posts the item's tracker comments (crate::comments). True when the
    /// event may be acknowledged (done, or retried later).
    async fn sync_comments(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        env: &Envelope,
        stream_id: &str,
    ) -> bool {
        match crate::comments::sync_item_comments(&self.applier, project, wstg_id).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(event_id = %env.event_id, error = %e, "comments not synced");
                self.retry_or_dead_letter(env, stream_id, &e).await
            }
        }
    }

    /// Coalescing: an item written less than the write interval ago gets one
    /// deferred push at the end of the interval, in the durable delayed set
    /// (waiting deferrals of an item collapse into one); its events are
    /// acknowledged now, since their state is recorded. The consumer never
    /// sleeps, so other items are not held up. False when the deferral could
    /// not be stored (the events are then not acknowledged and come back).
    async fn defer_push(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        due: chrono::DateTime<Utc>,
    ) -> bool {
        let (event_id, kind) = EventKind::push_item(project, wstg_id);
        let mut env = Envelope::new(project.clone(), kind, Utc::now());
        env.event_id = event_id;
        match self.queue.defer(&env, due).await {
            Ok(_) => {
                tracing::debug!(%due, "write deferred to coalesce changes");
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not defer a write");
                false
            }
        }
    }

    /// Applies a reconciliation event (the poller saw the item change in
    /// DefectDojo, or an operator asked to look again). True when it may be
    /// acknowledged.
    async fn reconcile_item(
        &self,
        project: &ProjectName,
        wstg_id: &WstgId,
        stream_id: &str,
        env: &Envelope,
    ) -> bool {
        let trigger = match &env.kind {
            EventKind::Reconcile {
                observed: Some(o), ..
            } => Trigger::Observed(o.clone()),
            _ => Trigger::Recheck,
        };
        match self
            .applier
            .sync_item(project, wstg_id, trigger, env.event_id)
            .await
        {
            Ok(applied) => {
                tracing::info!(event_id = %env.event_id, ?applied, "item reconciled");
                crate::metrics::applied(crate::metrics::outcome_of(&applied));
                true
            }
            Err(e) => {
                tracing::warn!(event_id = %env.event_id, error = %e, "reconciliation failed");
                self.retry_or_dead_letter(env, stream_id, &e).await
            }
        }
    }

    /// Schedules a retry with backoff, or dead-letters when the error is
    /// permanent or the schedule is exhausted. True when the event is safe.
    pub(crate) async fn retry_or_dead_letter(
        &self,
        env: &Envelope,
        stream_id: &str,
        err: &WorkError,
    ) -> bool {
        // DefectDojo is away (breaker not closed): wait for it, attempt uncounted.
        if let Some(due) = breaker::deferral(&self.breaker, err) {
            let ok = breaker::defer(&self.queue, env, stream_id, due).await;
            crate::metrics::applied(if ok { "deferred" } else { "failed" });
            return ok;
        }
        let attempt = env.attempt + 1;
        let delay = if err.is_retryable() {
            retry_delay(attempt, err.retry_after(), &mut rand::thread_rng())
        } else {
            None
        };
        match delay {
            Some(delay) => {
                let mut next = env.clone();
                next.attempt = attempt;
                let due = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                // Scheduled and acked in one step: no window for a crash to
                // leave both the retry and the pending delivery.
                match self.queue.retry_later(stream_id, &next, due).await {
                    Ok(_) => {
                        crate::metrics::applied("retry");
                        true
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not schedule retry");
                        crate::metrics::applied("failed");
                        false
                    }
                }
            }
            None => {
                let mut dead = env.clone();
                dead.attempt = attempt;
                let why = err.dead_letter_text();
                let reason = if err.is_retryable() {
                    "exhausted"
                } else {
                    "permanent"
                };
                let ok = self.dead_letter(&dead, stream_id, &why, reason).await;
                crate::metrics::applied(if ok { "dead_letter" } else { "failed" });
                // A file's or a vulnerability's failure is its own, not the item's.
                let item_event = !matches!(
                    env.kind,
                    EventKind::Evidence { .. } | EventKind::Vulnerability { .. }
                );
                if let (true, true, Some(wstg_id)) = (ok, item_event, env.wstg_id()) {
                    if let Err(e) = self
                        .applier
                        .record_failure(&env.project, wstg_id, env.event_id, &why)
                        .await
                    {
                        tracing::warn!(error = %e, "could not record the failure");
                    }
                }
                ok
            }
        }
    }

    async fn dead_letter(
        &self,
        env: &Envelope,
        stream_id: &str,
        why: &str,
        reason: &'static str,
    ) -> bool {
        match self.queue.dead_letter(env, stream_id, why).await {
            Ok(_) => {
                crate::metrics::dead_lettered(reason);
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "could not dead-letter");
                false
            }
        }
    }
}

/// Logs batches that ended by panicking (their entries stay pending and are
/// reclaimed; the loop goes on).
fn reap(batches: &mut JoinSet<()>) {
    while let Some(r) = batches.try_join_next() {
        if let Err(e) = r {
            if e.is_panic() {
                tracing::error!(error = %e, "a batch panicked; its entries are left for reclaiming");
            }
        }
    }
}

/// The entries this replica is working on, shared by its batches, the
/// heartbeat and the reclaim filter, with when each was taken.
#[derive(Clone, Default)]
struct Held(Arc<std::sync::Mutex<HashMap<String, tokio::time::Instant>>>);

impl Held {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, tokio::time::Instant>> {
        // A panic while holding this lock cannot leave the map half
        // updated: each call is one insert or remove loop.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn add(&self, ids: &[String]) {
        let now = tokio::time::Instant::now();
        self.lock().extend(ids.iter().map(|id| (id.clone(), now)));
    }
    fn remove(&self, ids: &[String]) {
        let mut map = self.lock();
        for id in ids {
            map.remove(id);
        }
    }
    fn len(&self) -> usize {
        self.lock().len()
    }
    /// The entries taken less than `max_hold` ago.
    fn recent(&self, max_hold: Duration) -> Vec<String> {
        self.lock()
            .iter()
            .filter(|(_, since)| since.elapsed() < max_hold)
            .map(|(id, _)| id.clone())
            .collect()
    }
    fn not_held(&self, deliveries: Vec<Delivery>) -> Vec<Delivery> {
        let map = self.lock();
        deliveries
            .into_iter()
            .filter(|d| !map.contains_key(&d.id))
            .collect()
    }
}

/// Keeps the entries in hand from looking abandoned: a batch waiting behind
/// an item's lease, or behind earlier batches, can hold an entry longer
/// than `claim_min_idle`, and another replica would then take it over while
/// this one still works on it. It runs through the shutdown deadline too
/// (the loop aborts it once in-flight work is over). An entry held longer
/// than ten times `claim_min_idle` (`every` is a third of it) is no longer
/// renewed: a batch stuck that long is treated like a dead holder's, and
/// reclaimed.
async fn heartbeat_loop(queue: Queue, consumer: String, held: Held, every: Duration) {
    let max_hold = every * 30;
    loop {
        tokio::time::sleep(every).await;
        let ids = held.recent(max_hold);
        if ids.is_empty() {
            continue;
        }
        if let Err(e) = queue.touch_held(&consumer, &ids).await {
            tracing::warn!(error = %e, "could not renew the entries in hand");
        }
    }
}

async fn ack_with_retry(queue: &Queue, ids: &[String]) -> Result<(), wstg_queue::QueueError> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut last = None;
    for pause in [0u64, 10, 20, 40] {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        match queue.ack(ids).await {
            Ok(()) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(unreachable_ack_error))
}

fn unreachable_ack_error() -> wstg_queue::QueueError {
    wstg_queue::QueueError::Decode("acknowledgement failed".to_owned())
}
