//! Latency profiles: how long the real DefectDojo takes per operation, with its jitter.
//!
//! A profile is data (`profiles/*.json`, written by `scripts/measure-dojo-latency.py` against
//! the real server): per operation, the times at fixed quantiles. A request draws a uniform
//! number and waits the time interpolated between the two neighbouring quantiles, so the
//! emulator reproduces the measured distribution, tail included. A list of findings also waits
//! `per_finding_ms` for every finding on the page, as the real server serialises each one.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// The profile measured on the real DefectDojo 3.2.0 kit (docs/benchmarks.md).
pub const REAL_PROFILE_JSON: &str = include_str!("../profiles/defectdojo-3.2.0.json");

/// What an `/api/v2` request is, for the latency it costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    GetFinding,
    ListFindings,
    PostFinding,
    PatchFinding,
    CloseFinding,
    PostNote,
    /// Any other read (products, engagements, tests, notes lists, ...).
    GetOther,
}

impl Operation {
    /// Classifies a request by method and path (`/api/v2/findings/12/close/`).
    pub fn of(method: &str, path: &str) -> Self {
        let rest = path.trim_start_matches("/api/v2/").trim_end_matches('/');
        let segs: Vec<&str> = rest.split('/').collect();
        let is_id = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let read = method == "GET" || method == "HEAD";
        match (segs.as_slice(), read) {
            (["findings"], true) => Self::ListFindings,
            (["findings"], false) => Self::PostFinding,
            (["findings", id], true) if is_id(id) => Self::GetFinding,
            (["findings", id], false) if is_id(id) => Self::PatchFinding,
            (["findings", id, "close"], false) if is_id(id) => Self::CloseFinding,
            (["findings", id, "notes"], false) if is_id(id) => Self::PostNote,
            (_, true) => Self::GetOther,
            // Other writes (products, engagements, tests, ...) cost about a finding's create.
            (_, false) => Self::PostFinding,
        }
    }
}

/// One operation's measured times.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperationLatency {
    /// Milliseconds at each of the profile's `quantiles`.
    pub ms: Vec<f64>,
    /// Extra milliseconds per finding in the answer (lists only).
    #[serde(default)]
    pub per_finding_ms: f64,
}

/// A measured latency profile (`profiles/defectdojo-3.2.0.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencyProfile {
    pub name: String,
    /// How, where and when it was measured (free-form, kept for the record).
    #[serde(default)]
    pub measured: serde_json::Value,
    /// Increasing quantiles from 0 to 1, shared by every operation.
    pub quantiles: Vec<f64>,
    pub operations: BTreeMap<Operation, OperationLatency>,
}

impl LatencyProfile {
    pub fn parse(json: &str) -> Result<Self, String> {
        let p: Self = serde_json::from_str(json).map_err(|e| format!("latency profile: {e}"))?;
        p.validate()?;
        Ok(p)
    }

    /// The profile of the real DefectDojo 3.2.0 kit, built into the binary.
    pub fn real() -> Self {
        #[allow(clippy::expect_used)] // checked by a unit test
        Self::parse(REAL_PROFILE_JSON).expect("the built-in profile parses")
    }

    fn validate(&self) -> Result<(), String> {
        let q = &self.quantiles;
        if q.len() < 2 || q[0] != 0.0 || q[q.len() - 1] != 1.0 || q.windows(2).any(|w| w[0] >= w[1])
        {
            return Err("latency profile: quantiles must increase from 0 to 1".into());
        }
        for (op, l) in &self.operations {
            if l.ms.len() != q.len() {
                return Err(format!(
                    "latency profile: {op:?} has {} times for {} quantiles",
                    l.ms.len(),
                    q.len()
                ));
            }
            if l.ms.iter().any(|m| !m.is_finite() || *m < 0.0)
                || l.ms.windows(2).any(|w| w[0] > w[1])
            {
                return Err(format!(
                    "latency profile: {op:?} times must be non-negative and non-decreasing"
                ));
            }
            if !l.per_finding_ms.is_finite() || l.per_finding_ms < 0.0 {
                return Err(format!(
                    "latency profile: {op:?} per_finding_ms must be non-negative"
                ));
            }
        }
        Ok(())
    }

    /// A time drawn from `op`'s distribution at the uniform number `u` (0..1): the inverse of
    /// the measured distribution, linear between quantiles. Operations the profile does not
    /// name cost nothing.
    pub fn at(&self, op: Operation, u: f64) -> Duration {
        let Some(l) = self.operations.get(&op) else {
            return Duration::ZERO;
        };
        let q = &self.quantiles;
        let u = u.clamp(0.0, 1.0);
        let i = q
            .iter()
            .rposition(|&x| x <= u)
            .unwrap_or(0)
            .min(q.len() - 2);
        let f = (u - q[i]) / (q[i + 1] - q[i]);
        let ms = l.ms[i] + (l.ms[i + 1] - l.ms[i]) * f;
        Duration::from_secs_f64(ms / 1000.0)
    }

    pub fn sample(&self, op: Operation, rng: &mut impl Rng) -> Duration {
        self.at(op, rng.gen::<f64>())
    }

    /// The extra time a page of `findings` findings costs.
    pub fn per_findings(&self, op: Operation, findings: usize) -> Duration {
        let per = self.operations.get(&op).map_or(0.0, |l| l.per_finding_ms);
        Duration::from_secs_f64(per * findings as f64 / 1000.0)
    }
}

/// `--latency-profile real|zero|<file.json>`: no profile, the built-in one, or one from a file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileChoice(pub Option<Arc<LatencyProfile>>);

impl FromStr for ProfileChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "zero" => Ok(Self(None)),
            "real" => Ok(Self(Some(Arc::new(LatencyProfile::real())))),
            path => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("reading latency profile {path}: {e}"))?;
                Ok(Self(Some(Arc::new(LatencyProfile::parse(&text)?))))
            }
        }
    }
}

impl fmt::Display for ProfileChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("zero"),
            Some(p) => f.write_str(&p.name),
        }
    }
}

/// The number of findings a list answered: the findings list puts it in the answer's
/// extensions so the pipeline can charge the per-finding time.
#[derive(Clone, Copy, Debug)]
pub struct ListedFindings(pub usize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_profile_parses_and_names_every_operation() {
        let p = LatencyProfile::real();
        for op in [
            Operation::GetFinding,
            Operation::ListFindings,
            Operation::PostFinding,
            Operation::PatchFinding,
            Operation::CloseFinding,
            Operation::PostNote,
            Operation::GetOther,
        ] {
            assert!(p.operations.contains_key(&op), "{op:?}");
        }
    }

    #[test]
    fn requests_are_classified_by_method_and_path() {
        assert_eq!(
            Operation::of("GET", "/api/v2/findings/"),
            Operation::ListFindings
        );
        assert_eq!(
            Operation::of("GET", "/api/v2/findings/7/"),
            Operation::GetFinding
        );
        assert_eq!(
            Operation::of("PATCH", "/api/v2/findings/7/"),
            Operation::PatchFinding
        );
        assert_eq!(
            Operation::of("POST", "/api/v2/findings/7/close/"),
            Operation::CloseFinding
        );
        assert_eq!(
            Operation::of("POST", "/api/v2/findings/7/notes/"),
            Operation::PostNote
        );
        assert_eq!(
            Operation::of("POST", "/api/v2/findings/"),
            Operation::PostFinding
        );
        assert_eq!(Operation::of("GET", "/api/v2/tests/"), Operation::GetOther);
    }

    #[test]
    fn draws_follow_the_measured_quantiles() {
        let p = LatencyProfile::parse(
            r#"{"name":"t","quantiles":[0,0.5,1],"operations":{"get_finding":{"ms":[10,20,100]},
               "list_findings":{"ms":[1,1,1],"per_finding_ms":0.5}}}"#,
        )
        .unwrap();
        assert_eq!(p.at(Operation::GetFinding, 0.0), Duration::from_millis(10));
        assert_eq!(p.at(Operation::GetFinding, 0.25), Duration::from_millis(15));
        assert_eq!(p.at(Operation::GetFinding, 0.5), Duration::from_millis(20));
        assert_eq!(p.at(Operation::GetFinding, 1.0), Duration::from_millis(100));
        assert_eq!(p.at(Operation::PostNote, 0.7), Duration::ZERO);
        assert_eq!(
            p.per_findings(Operation::ListFindings, 200),
            Duration::from_millis(100)
        );
        // The median of many draws is the profile's median.
        let mut rng = rand::thread_rng();
        let mut draws: Vec<Duration> = (0..2001)
            .map(|_| p.sample(Operation::GetFinding, &mut rng))
            .collect();
        draws.sort();
        let median = draws[1000].as_secs_f64() * 1000.0;
        assert!((17.0..23.0).contains(&median), "{median}");
    }

    #[test]
    fn bad_profiles_are_refused() {
        assert!(
            LatencyProfile::parse(r#"{"name":"t","quantiles":[0.1,1],"operations":{}}"#).is_err()
        );
        assert!(LatencyProfile::parse(
            r#"{"name":"t","quantiles":[0,1],"operations":{"get_finding":{"ms":[5,1]}}}"#
        )
        .is_err());
        assert_eq!(
            "zero".parse::<ProfileChoice>().unwrap(),
            ProfileChoice(None)
        );
        assert!("real".parse::<ProfileChoice>().unwrap().0.is_some());
        assert!("/nonexistent.json".parse::<ProfileChoice>().is_err());
    }
}
