//! Shared state of one simulator instance.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::config::{Faults, SimConfig};
use crate::db::Db;
use crate::latency::LatencyProfile;
use crate::stats::Stats;
use crate::webhooks::Notifier;

/// Knobs a test can turn while the simulator runs (`/__sim/faults`, `/__sim/latency`,
/// `/__sim/tag-step`).
#[derive(Clone, Debug)]
pub struct Knobs {
    pub faults: Faults,
    pub latency: Duration,
    pub latency_profile: Option<Arc<LatencyProfile>>,
    /// How long a PUT/PATCH with `tags` shows the saved finding with no tags before its new
    /// tags are linked (docs/defectdojo.md §9, torn reads). Zero: one step, no window.
    pub tag_step: Duration,
}

pub struct AppState {
    /// All data. Handlers hold the lock only for synchronous work, never across an `.await`.
    db: Mutex<Db>,
    knobs: Mutex<Knobs>,
    pub token: String,
    pub stats: Stats,
    pub webhooks: Notifier,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the data half-written in a way that matters
    // more than refusing every later request would, so poisoning is ignored.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl AppState {
    pub fn new(config: &SimConfig, webhooks: Notifier) -> Self {
        Self {
            db: Mutex::new(Db::seeded()),
            knobs: Mutex::new(Knobs {
                faults: config.faults.clone(),
                latency: config.latency,
                latency_profile: config.latency_profile.clone(),
                tag_step: Duration::ZERO,
            }),
            token: config.token.clone(),
            stats: Stats::default(),
            webhooks,
        }
    }

    pub fn db(&self) -> MutexGuard<'_, Db> {
        lock(&self.db)
    }

    pub fn knobs(&self) -> Knobs {
        lock(&self.knobs).clone()
    }

    pub fn set_faults(&self, faults: Faults) {
        lock(&self.knobs).faults = faults;
    }

    pub fn set_latency(&self, latency: Duration) {
        lock(&self.knobs).latency = latency;
    }

    pub fn set_tag_step(&self, step: Duration) {
        lock(&self.knobs).tag_step = step;
    }

    /// `POST /__sim/reset`: back to a fresh instance (ids restart too), notification webhooks
    /// created through the API included.
    pub fn reset_data(&self) {
        *self.db() = Db::seeded();
        self.webhooks.reset_api();
    }

    /// Sends `event` wherever the real server would (see `Db::webhook_route`), plus the
    /// simulator's own endpoint. Call it without holding the db lock.
    pub fn notify(&self, event: crate::webhooks::Event) {
        let route = self.db().webhook_route(event.name);
        self.webhooks.notify(event, route);
    }
}
