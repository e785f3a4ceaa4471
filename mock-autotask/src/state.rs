//! `MockConfig` (what a mock starts from) and `AppState` (what its handlers share): the store,
//! the ledger of writes, limits, faults and request statistics.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use serde_json::Value as Json;

use crate::faults::Faults;
use crate::limits::{LimitConfig, Limits};
use crate::seed::{AutotaskSnapshot, SeedError};
use crate::store::Store;

pub const DEFAULT_USERNAME: &str = "fred@cspservices.com";
pub const DEFAULT_SECRET: &str = "mock-secret";
pub const DEFAULT_INTEGRATION_CODE: &str = "MOCK-INTEGRATION-CODE";

/// The API user the mock accepts.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub username: String,
    pub secret: String,
    pub integration_code: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            username: DEFAULT_USERNAME.to_owned(),
            secret: DEFAULT_SECRET.to_owned(),
            integration_code: DEFAULT_INTEGRATION_CODE.to_owned(),
        }
    }
}

/// How a bad credential is answered; sources disagree, so both are available.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthFailureMode {
    /// 401 with an empty body for every credential failure (measured live, 2026).
    #[default]
    Empty401,
    /// The older replies: unknown user and bad integration code 500, wrong secret 401, all with
    /// an `{"errors":[…]}` body.
    Legacy500,
}

/// Everything a mock starts from.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// The seed state; `/__mock/reset` returns to it.
    pub seed: AutotaskSnapshot,
    pub credentials: Credentials,
    pub auth_failure: AuthFailureMode,
    pub limits: LimitConfig,
    /// Seed of the RNG behind fault rates.
    pub rng_seed: u64,
    /// The base URL to advertise in zone information and `nextPageUrl`; `None`: `http://` plus
    /// the request's Host header.
    pub public_base_url: Option<String>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig::new(empty_snapshot())
    }
}

impl MockConfig {
    pub fn new(seed: AutotaskSnapshot) -> Self {
        MockConfig {
            seed,
            credentials: Credentials::default(),
            auth_failure: AuthFailureMode::default(),
            limits: LimitConfig::default(),
            rng_seed: 0,
            public_base_url: None,
        }
    }

    /// Reads `autotask.json` from a fixture folder.
    pub fn from_fixture(dir: &Path) -> Result<Self, SeedError> {
        Ok(MockConfig::new(crate::seed::load(&dir.join("autotask.json"))?))
    }

    /// Seeds from the text of an `autotask.json` (`billsync.autotask/v1`).
    pub fn from_json(bytes: &[u8]) -> Result<Self, SeedError> {
        Ok(MockConfig::new(crate::seed::parse(bytes).map_err(|problems| SeedError { problems })?))
    }

    /// Short latencies for tests: the limit's added latency becomes `latency`.
    pub fn with_threshold_latency(mut self, past_half: Duration, past_three_quarters: Duration) -> Self {
        self.limits.latency_past_half = past_half;
        self.limits.latency_past_three_quarters = past_three_quarters;
        self
    }
}

pub fn empty_snapshot() -> AutotaskSnapshot {
    AutotaskSnapshot::empty()
}

/// One successful write, as `/__mock/state` lists it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    /// 1, 2, 3… in the order the writes were applied.
    pub sequence: u64,
    pub method: String,
    pub path: String,
    pub entity: String,
    pub item_id: i64,
    pub body: Json,
    pub timestamp: DateTime<Utc>,
}

/// Request counts per endpoint and method, and the most requests seen in flight per endpoint.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub total: u64,
    pub requests: BTreeMap<String, BTreeMap<String, u64>>,
    pub max_in_flight: BTreeMap<String, usize>,
    #[serde(skip)]
    pub in_flight: BTreeMap<String, usize>,
}

/// What the handlers share. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub(crate) inner: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub config: MockConfig,
    pub store: RwLock<Store>,
    pub ledger: Mutex<Vec<LedgerEntry>>,
    pub limits: Limits,
    pub faults: Faults,
    pub stats: Mutex<Stats>,
}

impl AppState {
    pub fn new(config: MockConfig) -> Self {
        let store = Store::from_snapshot(&config.seed);
        AppState {
            inner: Arc::new(Shared {
                limits: Limits::new(config.limits.clone()),
                faults: Faults::new(config.rng_seed),
                store: RwLock::new(store),
                ledger: Mutex::new(Vec::new()),
                stats: Mutex::new(Stats::default()),
                config,
            }),
        }
    }

    pub fn config(&self) -> &MockConfig {
        &self.inner.config
    }

    /// The current entities in `billsync.autotask/v1` form.
    pub fn snapshot(&self) -> AutotaskSnapshot {
        self.inner.store.read().to_snapshot()
    }

    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.inner.ledger.lock().clone()
    }

    pub fn stats(&self) -> Stats {
        self.inner.stats.lock().clone()
    }

    /// Number of requests a pause fault holds right now.
    pub fn paused_requests(&self) -> usize {
        self.inner.faults.paused()
    }

    /// Back to the seed: entities, ledger, counters, faults.
    pub fn reset(&self) {
        *self.inner.store.write() = Store::from_snapshot(&self.inner.config.seed);
        self.inner.ledger.lock().clear();
        self.inner.limits.reset();
        self.inner.faults.clear();
        *self.inner.stats.lock() = Stats::default();
    }

    pub(crate) fn record_write(&self, method: &str, path: &str, entity: &str, item_id: i64, body: Json) {
        let mut ledger = self.inner.ledger.lock();
        let sequence = ledger.len() as u64 + 1;
        ledger.push(LedgerEntry {
            sequence,
            method: method.to_owned(),
            path: path.to_owned(),
            entity: entity.to_owned(),
            item_id,
            body,
            timestamp: Utc::now(),
        });
    }
}
