//! Autotask's two limits: the rolling hourly request threshold (with its added latency past 50%
//! and 75% and refusal at 100%) and the 3-requests-in-flight thread limit per integration code and
//! endpoint.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// Settings of both limits.
#[derive(Clone, Debug)]
pub struct LimitConfig {
    /// Requests allowed per window (Autotask: 10,000 per rolling hour).
    pub hourly_request_limit: u64,
    /// The rolling window (an hour; tests shorten it).
    pub window: Duration,
    /// Added to every request once the window holds more than half the limit.
    pub latency_past_half: Duration,
    /// Added instead once the window holds more than three quarters of the limit.
    pub latency_past_three_quarters: Duration,
    /// Requests in flight allowed per (integration code, endpoint).
    pub thread_limit: usize,
}

impl Default for LimitConfig {
    fn default() -> Self {
        LimitConfig {
            hourly_request_limit: 10_000,
            window: Duration::from_secs(3600),
            latency_past_half: Duration::from_millis(500),
            latency_past_three_quarters: Duration::from_secs(1),
            thread_limit: 3,
        }
    }
}

/// The outcome of counting one request against the hourly threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Counted; wait `delay` before answering.
    Admitted { count: u64, delay: Duration },
    /// The window is full; not counted.
    Refused,
}

#[derive(Debug)]
pub struct Limits {
    pub config: LimitConfig,
    /// Arrival times of the counted requests still inside the window.
    arrivals: Mutex<VecDeque<Instant>>,
    in_flight: Arc<Mutex<HashMap<(String, String), usize>>>,
}

impl Limits {
    pub fn new(config: LimitConfig) -> Self {
        Limits {
            config,
            arrivals: Mutex::new(VecDeque::new()),
            in_flight: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn trim(&self, arrivals: &mut VecDeque<Instant>, now: Instant) {
        while arrivals.front().is_some_and(|first| now.duration_since(*first) >= self.config.window) {
            arrivals.pop_front();
        }
    }

    /// Requests counted in the current window.
    pub fn current_count(&self) -> u64 {
        let mut arrivals = self.arrivals.lock();
        self.trim(&mut arrivals, Instant::now());
        arrivals.len() as u64
    }

    pub fn admit(&self) -> Admission {
        let now = Instant::now();
        let mut arrivals = self.arrivals.lock();
        self.trim(&mut arrivals, now);
        let limit = self.config.hourly_request_limit;
        if arrivals.len() as u64 >= limit {
            return Admission::Refused;
        }
        arrivals.push_back(now);
        let count = arrivals.len() as u64;
        // Compare count/limit with 3/4 and 1/2 without floating point.
        let delay = if count.saturating_mul(4) > limit.saturating_mul(3) {
            self.config.latency_past_three_quarters
        } else if count.saturating_mul(2) > limit {
            self.config.latency_past_half
        } else {
            Duration::ZERO
        };
        Admission::Admitted { count, delay }
    }

    /// Takes a thread slot, or `None` when the integration code already has `thread_limit`
    /// requests in flight on this endpoint. The slot frees itself when dropped.
    pub fn acquire_thread(&self, integration_code: &str, endpoint: &str) -> Option<ThreadSlot> {
        let key = (integration_code.to_ascii_lowercase(), endpoint.to_owned());
        let mut in_flight = self.in_flight.lock();
        let count = in_flight.entry(key.clone()).or_default();
        if *count >= self.config.thread_limit {
            return None;
        }
        *count += 1;
        Some(ThreadSlot { key, in_flight: Arc::clone(&self.in_flight) })
    }

    pub fn reset(&self) {
        self.arrivals.lock().clear();
    }
}

/// One request in flight; dropping it (even when the client goes away) frees the slot.
#[derive(Debug)]
pub struct ThreadSlot {
    key: (String, String),
    in_flight: Arc<Mutex<HashMap<(String, String), usize>>>,
}

impl Drop for ThreadSlot {
    fn drop(&mut self) {
        let mut in_flight = self.in_flight.lock();
        if let Some(count) = in_flight.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                in_flight.remove(&self.key);
            }
        }
    }
}
