//! The DefectDojo circuit breaker of one worker replica.
//!
//! **Closed** (normal): every item is pushed. After
//! [`BreakerConfig::failure_threshold`] consecutive *transient* DefectDojo
//! failures (5xx, 408, 429, timeouts, refused connections) it **opens** for a
//! cool-down of 5 s, doubled after each failed probe up to 60 s (and never
//! shorter than a `Retry-After` DefectDojo sent). When the cool-down ends it is
//! **half open**: exactly one item is pushed as a probe; success closes the
//! breaker, a transient failure opens it again for the doubled cool-down. A
//! permanent answer (a 400, a 404) also closes it: DefectDojo is up and
//! answering. Each replica has its own breaker and publishes it to
//! `P:breaker` (see `wstg_queue::breaker_state`), which `GET /api/wstg/status`
//! and `wstgctl status` show.
//!
//! What happens to work while DefectDojo is known to be down, and why:
//!
//! 1. **The replica stops reading the stream while the breaker is open**
//!    ([`wait_while_open`]). New events and due retries stay in `P:events`,
//!    unread: no DefectDojo call, no attempt counted, no delivery count
//!    raised, nothing parked on a claim timer. This is what stops the
//!    hammering.
//! 2. **An item that fails, or is refused, while the breaker is open or half
//!    open is deferred, not retried** ([`deferral`]): it goes to the delayed
//!    set due when the breaker lets the next probe through (plus up to 1 s of
//!    jitter), with its `attempt` unchanged, through `Queue::retry_later` (so
//!    the deferral and the ack are one step). A failure then says nothing
//!    about the event, only that DefectDojo is away, so it must not spend the
//!    event's retry schedule: a 30 s, or a 4 h, maintenance ends with the
//!    backlog applied and nothing in the dead-letter queue. Only failures while
//!    the breaker is closed (DefectDojo answers others, yet fails this one)
//!    count an attempt on the published schedule (`wstg_queue::retry`), and
//!    only those can exhaust it.
//! 3. **On recovery the backlog drains in the newest state per item**: every
//!    event recorded the tracker's state in the store (newest wins) before its
//!    push was tried, and a push sends the item's latest recorded state. The
//!    deferred copies of older events find their item already pushed and cost
//!    no call.
//!
//! Pausing alone (1) would leave the batch in hand when the breaker opens, and
//! retries promoted meanwhile, burning attempts on a schedule that can stretch
//! to 30 s or 2 min after DefectDojo is back. Deferring alone (2) would keep
//! reading and shuffle the whole stream through the delayed set every
//! cool-down. Together the replica holds nothing and loses nothing while it
//! waits, and resumes within one cool-down (≤ 60 s) of the recovery.
//!
//! A single event that fails transiently while everything else succeeds
//! keeps the breaker closed (any success resets the count), so it runs its
//! retry schedule and is dead-lettered at its end as before.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use wstg_domain::Envelope;
use wstg_queue::{BreakerState, Queue};

use crate::apply::Applied;
use crate::error::WorkError;

/// How often a replica refreshes its published state when nothing changes.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct BreakerConfig {
    /// Consecutive transient failures that open the breaker.
    pub failure_threshold: u32,
    /// The first cool-down.
    pub base_cooldown: Duration,
    /// The longest cool-down (after repeated failed probes).
    pub max_cooldown: Duration,
    /// While a half-open probe runs, other items are deferred this long.
    pub probe_wait: Duration,
    /// Deferred items are spread over this much time after the due moment.
    pub defer_jitter: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            base_cooldown: Duration::from_secs(5),
            max_cooldown: Duration::from_secs(60),
            probe_wait: Duration::from_secs(1),
            defer_jitter: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Closed,
    Open { until: DateTime<Utc> },
    HalfOpen { probing: bool },
}

/// What one guarded call told the breaker about DefectDojo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// DefectDojo answered (a success, or a permanent refusal).
    Success,
    /// DefectDojo is away or overloaded.
    Failure {
        retry_after: Option<Duration>,
        message: String,
    },
    /// Nothing learnt: no call was made, or something else failed.
    Neutral,
}

struct Inner {
    phase: Phase,
    failures: u32,
    cooldown: Duration,
    opened_at: Option<DateTime<Utc>>,
    trips: u64,
    last_error: Option<String>,
}

/// Cheap to clone; clones share one state.
#[derive(Clone)]
pub struct Breaker {
    cfg: Arc<BreakerConfig>,
    inner: Arc<Mutex<Inner>>,
    changed: Arc<watch::Sender<u64>>,
}

/// Leave to make one call. A half-open probe that is dropped unrecorded (the
/// call was cancelled at shutdown) frees the probe slot.
pub struct Permit {
    breaker: Breaker,
    probe: bool,
    recorded: bool,
}

impl Permit {
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    pub fn record(mut self, outcome: Outcome) {
        self.recorded = true;
        self.breaker.record(self.probe, outcome);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.recorded {
            self.breaker.record(self.probe, Outcome::Neutral);
        }
    }
}

impl Breaker {
    pub fn new(cfg: BreakerConfig) -> Breaker {
        let cooldown = cfg.base_cooldown;
        Breaker {
            cfg: Arc::new(cfg),
            inner: Arc::new(Mutex::new(Inner {
                phase: Phase::Closed,
                failures: 0,
                cooldown,
                opened_at: None,
                trips: 0,
                last_error: None,
            })),
            changed: Arc::new(watch::channel(0).0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves a consistent state (every
        // update is a plain assignment), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn notify(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    pub fn phase(&self) -> Phase {
        self.lock().phase
    }

    /// Asks to call DefectDojo. `Err(t)`: not now; defer the work to `t`.
    pub fn permit(&self) -> Result<Permit, DateTime<Utc>> {
        let now = Utc::now();
        let mut i = self.lock();
        let probe = match i.phase {
            Phase::Closed => false,
            Phase::Open { until } if now < until => return Err(until),
            Phase::Open { .. } | Phase::HalfOpen { probing: false } => {
                i.phase = Phase::HalfOpen { probing: true };
                true
            }
            Phase::HalfOpen { probing: true } => return Err(now + self.probe_wait()),
        };
        drop(i);
        if probe {
            tracing::info!("DefectDojo circuit breaker half open: probing with one item");
            self.notify();
        }
        Ok(Permit {
            breaker: self.clone(),
            probe,
            recorded: false,
        })
    }

    fn probe_wait(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.cfg.probe_wait).unwrap_or_default()
    }

    fn record(&self, probe: bool, outcome: Outcome) {
        let now = Utc::now();
        let mut i = self.lock();
        let before = i.phase;
        match outcome {
            Outcome::Success => {
                i.failures = 0;
                if i.phase != Phase::Closed {
                    i.phase = Phase::Closed;
                    i.cooldown = self.cfg.base_cooldown;
                    i.opened_at = None;
                    tracing::info!("DefectDojo answers again: circuit breaker closed");
                }
            }
            Outcome::Neutral => {
                if probe && i.phase == (Phase::HalfOpen { probing: true }) {
                    i.phase = Phase::HalfOpen { probing: false };
                }
            }
            Outcome::Failure {
                retry_after,
                message,
            } => {
                i.failures = i.failures.saturating_add(1);
                i.last_error = Some(message);
                let open_for = match i.phase {
                    Phase::HalfOpen { .. } => {
                        i.cooldown = (i.cooldown * 2).min(self.cfg.max_cooldown);
                        Some(i.cooldown)
                    }
                    Phase::Closed if i.failures >= self.cfg.failure_threshold => {
                        i.cooldown = self.cfg.base_cooldown;
                        i.opened_at = Some(now);
                        i.trips += 1;
                        Some(i.cooldown)
                    }
                    _ => None,
                };
                if let Some(cooldown) = open_for {
                    let cooldown = cooldown.max(retry_after.unwrap_or_default());
                    let until = now + chrono::Duration::from_std(cooldown).unwrap_or_default();
                    i.phase = Phase::Open { until };
                    tracing::warn!(
                        failures = i.failures,
                        cooldown_secs = cooldown.as_secs_f64(),
                        last_error = i.last_error.as_deref().unwrap_or(""),
                        "DefectDojo failing: circuit breaker open, not reading new work until {until}"
                    );
                }
            }
        }
        let changed = i.phase != before;
        drop(i);
        if changed {
            self.notify();
        }
    }

    /// Runs `call` (one item's push) if the breaker lets it through, and
    /// learns from its result. Refused: [`WorkError::BreakerOpen`].
    pub async fn guard<F>(&self, call: F) -> Result<Applied, WorkError>
    where
        F: Future<Output = Result<Applied, WorkError>>,
    {
        let permit = self
            .permit()
            .map_err(|until| WorkError::BreakerOpen { until })?;
        let result = call.await;
        permit.record(outcome_of(&result));
        result
    }

    /// [`Breaker::guard`] for other work (a vulnerability's sync): `asked`
    /// says whether a success asked anything of DefectDojo.
    pub async fn guard_other<F, T>(
        &self,
        call: F,
        asked: impl Fn(&T) -> bool,
    ) -> Result<T, WorkError>
    where
        F: Future<Output = Result<T, WorkError>>,
    {
        let permit = self
            .permit()
            .map_err(|until| WorkError::BreakerOpen { until })?;
        let result = call.await;
        let outcome = match &result {
            Ok(v) if asked(v) => outcome_of(&Ok(Applied::Updated { finding_id: 0 })),
            Ok(_) => outcome_of(&Ok(Applied::AlreadyInSync)),
            Err(e) => error_outcome(e),
        };
        permit.record(outcome);
        result
    }

    /// `Some(t)`: the breaker is open until `t`; do not take new work.
    pub fn paused_until(&self) -> Option<DateTime<Utc>> {
        match self.lock().phase {
            Phase::Open { until } if Utc::now() < until => Some(until),
            _ => None,
        }
    }

    /// When work that failed (transiently) now should come back, if the
    /// breaker is not closed: when it next lets a probe through.
    pub fn defer_until(&self) -> Option<DateTime<Utc>> {
        let now = Utc::now();
        match self.lock().phase {
            Phase::Closed => None,
            Phase::Open { until } => Some(until.max(now)),
            Phase::HalfOpen { .. } => Some(now + self.probe_wait()),
        }
    }

    /// The state to publish for consumer `consumer`.
    pub fn snapshot(&self, consumer: &str) -> BreakerState {
        let now = Utc::now();
        let i = self.lock();
        let (state, reopen_at) = match i.phase {
            Phase::Closed => ("closed", None),
            Phase::Open { until } if now < until => ("open", Some(until)),
            Phase::Open { until } => ("half_open", Some(until)),
            Phase::HalfOpen { .. } => ("half_open", None),
        };
        BreakerState {
            consumer: consumer.to_owned(),
            state: state.to_owned(),
            failures: i.failures,
            opened_at: i.opened_at,
            reopen_at,
            cooldown_secs: i.cooldown.as_secs(),
            trips: i.trips,
            last_error: i.last_error.clone(),
            updated_at: now,
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn jitter(&self) -> chrono::Duration {
        let max = u64::try_from(self.cfg.defer_jitter.as_millis()).unwrap_or(u64::MAX);
        let ms = if max == 0 {
            0
        } else {
            rand::thread_rng().gen_range(0..=max)
        };
        chrono::Duration::milliseconds(i64::try_from(ms).unwrap_or(0))
    }
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker::new(BreakerConfig::default())
    }
}

/// What a push result says about DefectDojo.
pub fn outcome_of(result: &Result<Applied, WorkError>) -> Outcome {
    match result {
        // Nothing was asked of DefectDojo.
        Ok(Applied::AlreadyInSync | Applied::Deferred { .. }) => Outcome::Neutral,
        Ok(_) => Outcome::Success,
        Err(e) => error_outcome(e),
    }
}

/// What a failed call says about DefectDojo.
fn error_outcome(e: &WorkError) -> Outcome {
    match e {
        WorkError::Dojo(e) if e.is_retryable() => Outcome::Failure {
            retry_after: e.retry_after(),
            message: e.to_string(),
        },
        // A refusal, a 404, a bad token: DefectDojo is up and answering.
        WorkError::Dojo(_) => Outcome::Success,
        // The store, Redis, a busy item, a permanent local error.
        _ => Outcome::Neutral,
    }
}

/// When the event that failed with `err` should be deferred to, without
/// counting an attempt, because the failure is the outage's and not the
/// event's: the breaker refused the call, or the call failed transiently
/// while the breaker is open or half open. `None`: retry or dead-letter as
/// usual.
pub fn deferral(breaker: &Breaker, err: &WorkError) -> Option<DateTime<Utc>> {
    let at = match err {
        WorkError::BreakerOpen { until } => Some(*until),
        WorkError::Dojo(e) if e.is_retryable() => breaker.defer_until(),
        _ => None,
    }?;
    Some(at + breaker.jitter())
}

/// Puts `env` (attempt unchanged) in the delayed set, due at `due`, and acks
/// its delivery `stream_id` in the same step. True when the event is safe.
pub async fn defer(queue: &Queue, env: &Envelope, stream_id: &str, due: DateTime<Utc>) -> bool {
    match queue.retry_later(stream_id, env, due).await {
        Ok(_) => {
            tracing::debug!(event_id = %env.event_id, %due, "deferred while DefectDojo is away");
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, event_id = %env.event_id, "could not defer");
            false
        }
    }
}

/// If the breaker is open, waits (up to a second, or until shutdown) and
/// returns true: the caller takes no new work and asks again.
pub async fn wait_while_open(breaker: &Breaker, shutdown: &CancellationToken) -> bool {
    let Some(until) = breaker.paused_until() else {
        return false;
    };
    let wait = (until - Utc::now())
        .to_std()
        .unwrap_or_default()
        .min(Duration::from_secs(1));
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = tokio::time::sleep(wait) => {}
    }
    true
}

/// Publishes the breaker to `P:breaker` on every change and every
/// [`HEARTBEAT`]; removes the entry when `shutdown` is cancelled.
pub async fn publish_loop(
    breaker: Breaker,
    queue: Queue,
    consumer: String,
    shutdown: CancellationToken,
) {
    let mut changes = breaker.subscribe();
    loop {
        let snapshot = breaker.snapshot(&consumer);
        crate::metrics::breaker(&snapshot.state);
        if let Err(e) = queue.publish_breaker(&snapshot).await {
            tracing::debug!(error = %e, "could not publish the breaker state");
        }
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            _ = changes.changed() => {}
            _ = tokio::time::sleep(HEARTBEAT) => {}
        }
    }
    if let Err(e) = queue.remove_breaker(&consumer).await {
        tracing::debug!(error = %e, "could not remove the breaker state");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use dojo_client::{DojoError, Sent};

    fn fast() -> Breaker {
        Breaker::new(BreakerConfig {
            failure_threshold: 3,
            base_cooldown: Duration::from_millis(40),
            max_cooldown: Duration::from_millis(100),
            probe_wait: Duration::from_millis(10),
            defer_jitter: Duration::ZERO,
        })
    }

    fn failure() -> Outcome {
        Outcome::Failure {
            retry_after: None,
            message: "HTTP 500".into(),
        }
    }

    fn fail(b: &Breaker, n: u32) {
        for _ in 0..n {
            b.permit().unwrap().record(failure());
        }
    }

    async fn until_half_open(b: &Breaker) -> Permit {
        loop {
            if let Ok(p) = b.permit() {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn opens_after_consecutive_failures_and_probes_once() {
        let b = fast();
        fail(&b, 2);
        b.permit().unwrap().record(Outcome::Success);
        fail(&b, 2);
        assert_eq!(b.phase(), Phase::Closed, "a success resets the count");
        fail(&b, 1);
        assert!(matches!(b.phase(), Phase::Open { .. }));
        assert!(b.paused_until().is_some());
        assert!(b.permit().is_err(), "open: no calls");
        assert_eq!(b.snapshot("w").state, "open");
        assert_eq!(b.snapshot("w").trips, 1);

        let probe = until_half_open(&b).await;
        assert!(probe.is_probe());
        assert!(b.permit().is_err(), "one probe at a time");
        assert_eq!(b.snapshot("w").state, "half_open");
        probe.record(Outcome::Success);
        assert_eq!(b.phase(), Phase::Closed);
        assert!(!b.permit().unwrap().is_probe());
    }

    #[tokio::test]
    async fn a_failed_probe_doubles_the_cooldown_up_to_the_cap() {
        let b = fast();
        fail(&b, 3);
        let probe = until_half_open(&b).await;
        probe.record(failure());
        assert_eq!(b.snapshot("w").cooldown_secs, 0);
        {
            let i = b.lock();
            assert_eq!(i.cooldown, Duration::from_millis(80));
        }
        until_half_open(&b).await.record(failure());
        assert_eq!(b.lock().cooldown, Duration::from_millis(100), "capped");
        assert_eq!(b.snapshot("w").trips, 1, "one outage, one trip");
        assert!(b.snapshot("w").opened_at.is_some());
    }

    #[tokio::test]
    async fn a_dropped_or_neutral_probe_frees_the_slot() {
        let b = fast();
        fail(&b, 3);
        drop(until_half_open(&b).await);
        let p = b.permit().unwrap();
        assert!(p.is_probe(), "the slot came back");
        p.record(Outcome::Neutral);
        assert!(b.permit().unwrap().is_probe());
    }

    #[test]
    fn retry_after_lengthens_the_cooldown() {
        let b = fast();
        fail(&b, 2);
        b.permit().unwrap().record(Outcome::Failure {
            retry_after: Some(Duration::from_secs(30)),
            message: "429".into(),
        });
        let until = b.paused_until().unwrap();
        assert!(until - Utc::now() > chrono::Duration::seconds(29));
    }

    #[test]
    fn outcomes_classify_dojo_answers() {
        let transient = WorkError::Dojo(DojoError::Transient {
            status: Some(503),
            retry_after: None,
            message: "down".into(),
            sent: Sent::Answered,
        });
        assert!(matches!(
            outcome_of(&Err(transient)),
            Outcome::Failure { .. }
        ));
        let refused = WorkError::Dojo(DojoError::Permanent {
            status: 400,
            message: "bad".into(),
            body: serde_json::Value::Null,
        });
        assert_eq!(outcome_of(&Err(refused)), Outcome::Success);
        assert_eq!(outcome_of(&Ok(Applied::AlreadyInSync)), Outcome::Neutral);
        assert_eq!(
            outcome_of(&Ok(Applied::Created { finding_id: 1 })),
            Outcome::Success
        );
        assert_eq!(
            outcome_of(&Err(WorkError::Busy("x".into()))),
            Outcome::Neutral
        );
        // A local race or a re-made test is not a DefectDojo outage.
        assert_eq!(
            outcome_of(&Err(WorkError::Retry("x".into()))),
            Outcome::Neutral
        );
    }

    #[test]
    fn a_timed_out_write_has_an_unknown_outcome_a_refused_connection_not() {
        let t = |status, sent, message: &str| {
            WorkError::Dojo(DojoError::Transient {
                status,
                retry_after: None,
                message: message.into(),
                sent,
            })
        };
        assert!(t(None, Sent::Unknown, "no answer within 2000 ms").outcome_unknown());
        assert!(t(None, Sent::Unknown, "connection reset by peer").outcome_unknown());
        assert!(t(Some(504), Sent::Unknown, "gateway timeout").outcome_unknown());
        // Typed, not read from the text: the wording no longer matters.
        assert!(!t(None, Sent::Never, "no answer within 2000 ms").outcome_unknown());
        assert!(!t(Some(500), Sent::Answered, "boom").outcome_unknown());
        assert!(!WorkError::Busy("x".into()).outcome_unknown());
    }

    #[test]
    fn deferral_only_while_not_closed() {
        let b = fast();
        let transient = WorkError::Dojo(DojoError::Transient {
            status: None,
            retry_after: None,
            message: "timeout".into(),
            sent: Sent::Unknown,
        });
        assert_eq!(deferral(&b, &transient), None, "closed: the schedule");
        fail(&b, 3);
        let until = b.paused_until().unwrap();
        assert_eq!(deferral(&b, &transient), Some(until));
        assert_eq!(deferral(&b, &WorkError::BreakerOpen { until }), Some(until));
        assert_eq!(deferral(&b, &WorkError::Permanent("x".into())), None);
    }
}
