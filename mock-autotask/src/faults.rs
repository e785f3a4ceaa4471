//! Injected faults (`/__mock/faults`): per endpoint and method, a status code, added latency, a
//! dropped connection or a pause until released, at a rate (seeded, so tests are deterministic)
//! or after N matching requests.
//!
//! When a rule fires (`afterRequests`, `times`, a seeded `rate` drawn only below 1) is the same
//! rule as mock-atria's `faults::decide`, written twice on purpose: the two rule formats differ
//! (here `phase`, `pause`, `body`; there `retryAfterSeconds`, `shortPage`, `duplicateRow`), their
//! listings name the counters differently (`matched`/`hit` vs `seen`/`fired`, which tests read),
//! and serde cannot flatten a shared part into a `deny_unknown_fields` rule, so a shared crate
//! would carry more plumbing than the dozen lines it would save.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use tokio::sync::watch;

/// When a fault acts: before the request is handled, or after (its write applied, its answer
/// replaced or held), which is how a test loses the response of a write that did happen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    #[default]
    Before,
    After,
}

/// One rule as posted to `/__mock/faults`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// Endpoint name as in `/__mock/stats` (`Companies`, `ContractServiceAdjustments`,
    /// `ThresholdInformation`…), any case, or `*` for every endpoint.
    pub endpoint: String,
    /// HTTP method, any case; absent = every method.
    #[serde(default)]
    pub method: Option<String>,
    /// Answer with this status instead (body: `errors` naming the fault, or `body`).
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub body: Option<Json>,
    /// Probability in 0..=1 that a matching request is hit (default 1).
    #[serde(default)]
    pub rate: Option<f64>,
    /// Let this many matching requests through untouched first.
    #[serde(default)]
    pub after_requests: u64,
    /// Stop after hitting this many requests (default: no end).
    #[serde(default)]
    pub times: Option<u64>,
    /// Added latency for hit requests.
    #[serde(default)]
    pub latency_ms: u64,
    /// Close the connection without an HTTP answer.
    #[serde(default)]
    pub drop_connection: bool,
    /// Hold hit requests until `POST /__mock/faults/release`.
    #[serde(default)]
    pub pause: bool,
    #[serde(default)]
    pub phase: Phase,
}

/// A rule with its id and counters, as `GET /__mock/faults` lists it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveRule {
    pub id: u64,
    #[serde(flatten)]
    pub rule: FaultRule,
    pub matched: u64,
    pub hit: u64,
}

/// What the rules that hit one request ask for, combined.
#[derive(Clone, Debug, Default)]
pub struct Hit {
    pub latency: Duration,
    pub pause: bool,
    pub drop_connection: bool,
    pub status: Option<(u16, Option<Json>)>,
}

#[derive(Debug)]
pub struct Faults {
    rules: Mutex<Vec<ActiveRule>>,
    next_id: Mutex<u64>,
    rng: Mutex<StdRng>,
    rng_seed: u64,
    release: watch::Sender<u64>,
    paused: Arc<AtomicUsize>,
}

impl Faults {
    pub fn new(rng_seed: u64) -> Self {
        Faults {
            rules: Mutex::new(Vec::new()),
            next_id: Mutex::new(1),
            rng: Mutex::new(StdRng::seed_from_u64(rng_seed)),
            rng_seed,
            release: watch::channel(0).0,
            paused: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn add(&self, rule: FaultRule) -> Result<u64, String> {
        if let Some(rate) = rule.rate
            && !(0.0..=1.0).contains(&rate)
        {
            return Err(format!("rate must be between 0 and 1; found {rate}"));
        }
        if let Some(status) = rule.status
            && !(100..=999).contains(&status)
        {
            return Err(format!("status must be an HTTP status code; found {status}"));
        }
        let mut next_id = self.next_id.lock();
        let id = *next_id;
        *next_id += 1;
        self.rules.lock().push(ActiveRule { id, rule, matched: 0, hit: 0 });
        Ok(id)
    }

    pub fn list(&self) -> Vec<ActiveRule> {
        self.rules.lock().clone()
    }

    pub fn paused(&self) -> usize {
        self.paused.load(Ordering::SeqCst)
    }

    /// Removes every rule, releases paused requests and reseeds the RNG.
    pub fn clear(&self) {
        self.rules.lock().clear();
        *self.rng.lock() = StdRng::seed_from_u64(self.rng_seed);
        self.release_paused();
    }

    /// Lets every request held by a pause go on.
    pub fn release_paused(&self) {
        self.release.send_modify(|generation| *generation += 1);
    }

    /// Counts the request against the matching rules and returns what hits it.
    pub fn check(&self, endpoint: &str, method: &str, phase: Phase) -> Hit {
        let mut hit = Hit::default();
        let mut rules = self.rules.lock();
        for active in rules.iter_mut() {
            let rule = &active.rule;
            let endpoint_matches = rule.endpoint == "*" || rule.endpoint.eq_ignore_ascii_case(endpoint);
            let method_matches = rule.method.as_ref().is_none_or(|m| m.eq_ignore_ascii_case(method));
            if rule.phase != phase || !endpoint_matches || !method_matches {
                continue;
            }
            active.matched += 1;
            if active.matched <= rule.after_requests || rule.times.is_some_and(|times| active.hit >= times) {
                continue;
            }
            let rate = rule.rate.unwrap_or(1.0);
            if rate < 1.0 && self.rng.lock().random::<f64>() >= rate {
                continue;
            }
            active.hit += 1;
            hit.latency += Duration::from_millis(rule.latency_ms);
            hit.pause |= rule.pause;
            hit.drop_connection |= rule.drop_connection;
            if hit.status.is_none()
                && let Some(status) = rule.status
            {
                hit.status = Some((status, rule.body.clone()));
            }
        }
        hit
    }

    /// Waits until the next `release_paused`.
    pub async fn wait_for_release(&self) {
        let mut receiver = self.release.subscribe();
        let _held = PausedGuard::new(Arc::clone(&self.paused));
        // An error means the sender is gone, which only happens at shutdown: stop holding.
        let _ = receiver.changed().await;
    }
}

/// Counts a held request while it waits, even if its client goes away.
struct PausedGuard(Arc<AtomicUsize>);

impl PausedGuard {
    fn new(counter: Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        PausedGuard(counter)
    }
}

impl Drop for PausedGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
