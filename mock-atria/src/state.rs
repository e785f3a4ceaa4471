//! The mock's shared, in-memory state: periods, clock, faults, counters, ledger, recalculations.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::seed::{AtriaSnapshot, PeriodStatus};
use chrono::NaiveDate;
use parking_lot::Mutex;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use crate::billing;
use crate::config::{ApiToken, MockConfig, SeedError};
use crate::error::AppError;
use crate::faults::ActiveFault;
use crate::periods::{self, PeriodData};
use crate::wire::{CustomerView, ServiceView};

/// The ledger keeps the latest requests only, so a long-running mock does not grow without bound.
pub const LEDGER_CAPACITY: usize = 10_000;

/// Customers are billed by the root Service Provider (not itself listed as a customer).
pub const SERVICE_PROVIDER_ID: u64 = 1;
/// Customer ids start here, in order of first appearance over the sorted periods.
const FIRST_CUSTOMER_ID: u64 = 1001;

/// Cheap to clone: every clone shares one state.
#[derive(Clone)]
pub struct AppState {
    world: Arc<Mutex<World>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("clock", &self.clock()).finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(config: MockConfig) -> Result<AppState, SeedError> {
        Ok(AppState { world: Arc::new(Mutex::new(World::new(config)?)) })
    }

    pub fn clock(&self) -> NaiveDate {
        self.world.lock().clock
    }

    pub fn set_clock(&self, today: NaiveDate) {
        self.world.lock().clock = today;
    }

    /// The period ending on `end_date` as billsync's snapshot, as it stands now.
    pub fn snapshot(&self, end_date: NaiveDate) -> Option<AtriaSnapshot> {
        let world = self.world.lock();
        periods::by_end_date(&world.periods, end_date).map(|period| period.to_snapshot(world.clock))
    }

    /// Every period as a snapshot, sorted by start date.
    pub fn snapshots(&self) -> Vec<AtriaSnapshot> {
        let world = self.world.lock();
        world.periods.iter().map(|period| period.to_snapshot(world.clock)).collect()
    }

    pub fn stats(&self) -> Stats {
        self.world.lock().stats.clone()
    }

    /// Back to the configuration's seed, clock and RNG; faults, counters and ledger cleared.
    pub fn reset(&self) {
        let mut world = self.world.lock();
        let baseline = world.baseline.clone();
        // The baseline was valid when it was installed, so rebuilding it cannot fail; keep the
        // current world if it somehow does rather than panic.
        if let Ok(fresh) = World::new(baseline) {
            *world = fresh;
        }
    }

    /// The "nightly recalculation" of the open period (see `World::recalculate`).
    pub fn recalculate(&self, options: RecalculateOptions) -> Result<Recalculation, AppError> {
        self.world.lock().recalculate(options)
    }

    pub(crate) fn with_world<R>(&self, work: impl FnOnce(&mut World) -> R) -> R {
        work(&mut self.world.lock())
    }
}

/// Request counts: `byEndpoint[name][method]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub total_requests: u64,
    pub by_endpoint: BTreeMap<String, BTreeMap<String, u64>>,
}

/// One API request as the ledger records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    pub seq: u64,
    pub method: String,
    /// Path and query as received.
    pub uri: String,
    pub endpoint: String,
    pub status: u16,
    /// Ids of the fault rules that hit this request.
    pub faults: Vec<u64>,
    /// The user of the token, when a known token was sent.
    pub user: Option<String>,
    pub trace_id: Option<String>,
}

/// Body of `POST /__mock/recalculate` (all optional).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecalculateOptions {
    /// Answer this many of the next billing calls for the period with 503 `period_recalculating`.
    #[serde(default)]
    pub busy_for_requests: u64,
    /// `Retry-After` of those 503s; 1 when absent.
    #[serde(default)]
    pub retry_after_seconds: Option<u32>,
}

/// What one recalculation changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recalculation {
    /// 1 for the first recalculation since the last reset.
    pub generation: u64,
    pub period_id: u32,
    pub end_date: NaiveDate,
    pub changes: Vec<CountChange>,
    pub busy_for_requests: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CountChange {
    /// Index of the row in the period's summary (seed order).
    pub row_index: usize,
    pub customer_code: String,
    pub product_sku: Option<String>,
    pub summary_grouping: String,
    pub billable: bool,
    pub before: u32,
    pub after: u32,
}

/// Billing calls for one period answer 503 until `remaining` reaches 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Busy {
    pub end_date: NaiveDate,
    pub remaining: u64,
    pub retry_after_seconds: u32,
}

pub(crate) struct World {
    /// What `/__mock/reset` returns to (replaced by `/__mock/seed`).
    pub baseline: MockConfig,
    pub clock: NaiveDate,
    pub periods: Vec<PeriodData>,
    pub services: Vec<ServiceView>,
    pub customer_ids: BTreeMap<String, u64>,
    pub faults: Vec<ActiveFault>,
    pub next_fault_id: u64,
    pub stats: Stats,
    pub ledger: VecDeque<LedgerEntry>,
    pub next_seq: u64,
    pub rng: StdRng,
    pub recalculations: Vec<Recalculation>,
    pub busy: Option<Busy>,
}

impl World {
    pub fn new(baseline: MockConfig) -> Result<World, SeedError> {
        let periods = periods::build_periods(&baseline.periods)?;
        let clock = baseline.clock.unwrap_or_else(|| periods::default_clock(&periods));
        let mut customer_ids = BTreeMap::new();
        for customer in periods.iter().flat_map(|period| &period.customers) {
            let next_id = FIRST_CUSTOMER_ID + customer_ids.len() as u64;
            customer_ids.entry(customer.short_name.clone()).or_insert(next_id);
        }
        Ok(World {
            services: billing::services(&periods),
            rng: StdRng::seed_from_u64(baseline.rng_seed),
            baseline,
            clock,
            periods,
            customer_ids,
            faults: Vec::new(),
            next_fault_id: 1,
            stats: Stats::default(),
            ledger: VecDeque::new(),
            next_seq: 1,
            recalculations: Vec::new(),
            busy: None,
        })
    }

    pub fn tokens(&self) -> &[ApiToken] {
        &self.baseline.tokens
    }

    pub fn customer_view(&self, customer: &crate::seed::AtriaCustomer) -> CustomerView {
        CustomerView {
            id: self.customer_ids.get(&customer.short_name).copied().unwrap_or(0),
            short_name: customer.short_name.clone(),
            name: customer.name.clone(),
            billing_identifier: customer.billing_identifier.clone(),
            parent_customer_id: None,
            billed_by_customer_id: SERVICE_PROVIDER_ID,
            enabled: customer.status == crate::seed::CustomerStatus::Active,
        }
    }

    /// The customer directory: the reference period's customers in its order, then customers
    /// known only from other periods (newest period first), each as its newest period has it.
    pub fn directory(&self) -> Vec<CustomerView> {
        let reference = periods::reference_period(&self.periods, self.clock);
        let mut views: Vec<CustomerView> = Vec::new();
        let others = self.periods.iter().rev();
        for period in reference.into_iter().chain(others) {
            for customer in &period.customers {
                if !views.iter().any(|known| known.short_name == customer.short_name) {
                    views.push(self.customer_view(customer));
                }
            }
        }
        views
    }

    /// A period's own customer list.
    pub fn period_customers(&self, period: &PeriodData) -> Vec<CustomerView> {
        period.customers.iter().map(|customer| self.customer_view(customer)).collect()
    }

    pub fn record_request(&mut self, endpoint: &str, method: &str) -> u64 {
        self.stats.total_requests += 1;
        *self
            .stats
            .by_endpoint
            .entry(endpoint.to_owned())
            .or_default()
            .entry(method.to_owned())
            .or_default() += 1;
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    pub fn append_ledger(&mut self, entry: LedgerEntry) {
        if self.ledger.len() >= LEDGER_CAPACITY {
            self.ledger.pop_front();
        }
        self.ledger.push_back(entry);
    }

    /// Takes one busy answer for the period, if it is being recalculated.
    pub fn take_busy(&mut self, end_date: NaiveDate) -> Option<AppError> {
        let busy = self.busy.as_mut().filter(|busy| busy.end_date == end_date && busy.remaining > 0)?;
        busy.remaining -= 1;
        Some(AppError::period_recalculating(end_date, busy.retry_after_seconds))
    }

    /// Deterministic "nightly recalculation" of the current period: generation `g` adds one unit
    /// to every third row starting at row `(g - 1) % 3`, and removes one from the first row of
    /// the next residue that has any (so both directions are exercised).
    pub fn recalculate(&mut self, options: RecalculateOptions) -> Result<Recalculation, AppError> {
        let clock = self.clock;
        let Some(period) = self.periods.iter_mut().find(|period| period.is_current(clock)) else {
            return Err(AppError::new(
                http::StatusCode::CONFLICT,
                "no_open_period",
                format!("no open period contains the mock clock `{clock}`"),
            ));
        };
        let generation = self.recalculations.len() as u64 + 1;
        let added_residue = ((generation - 1) % 3) as usize;
        let removed_residue = (generation % 3) as usize;
        let mut changes = Vec::new();
        let mut removed_one = false;
        for (row_index, row) in period.billing.iter_mut().enumerate() {
            let before = row.this_month_count;
            // Counts stay within Autotask's int32 units, as the snapshot checks require.
            let after = if row_index % 3 == added_residue && before < i32::MAX as u32 {
                before + 1
            } else if row_index % 3 == removed_residue && !removed_one && before > 0 {
                removed_one = true;
                before - 1
            } else {
                continue;
            };
            row.this_month_count = after;
            changes.push(CountChange {
                row_index,
                customer_code: row.customer_code.clone(),
                product_sku: row.product_sku.clone(),
                summary_grouping: row.summary_grouping.clone(),
                billable: row.billable,
                before,
                after,
            });
        }
        let recalculation = Recalculation {
            generation,
            period_id: period.id(),
            end_date: period.end_date,
            changes,
            busy_for_requests: options.busy_for_requests,
        };
        self.busy = (options.busy_for_requests > 0).then(|| Busy {
            end_date: recalculation.end_date,
            remaining: options.busy_for_requests,
            retry_after_seconds: options.retry_after_seconds.unwrap_or(1),
        });
        self.recalculations.push(recalculation.clone());
        Ok(recalculation)
    }

    /// `/__mock/state`.
    pub fn dump(&self) -> StateDump {
        StateDump {
            clock: self.clock,
            periods: self
                .periods
                .iter()
                .map(|period| PeriodDump {
                    id: period.id(),
                    start_date: period.start_date,
                    end_date: period.end_date,
                    seeded_status: period.seeded_status,
                    status: period.status_at(self.clock),
                    is_current: period.is_current(self.clock),
                    customers: self.period_customers(period),
                    billing: period.billing.clone(),
                })
                .collect(),
            customers: self.directory(),
            services: self.services.clone(),
            faults: self.faults.clone(),
            recalculations: self.recalculations.clone(),
            busy_for_requests: self.busy.as_ref().map_or(0, |busy| busy.remaining),
            stats: self.stats.clone(),
            ledger: self.ledger.iter().cloned().collect(),
        }
    }
}

/// The whole state, as `GET /__mock/state` returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateDump {
    pub clock: NaiveDate,
    pub periods: Vec<PeriodDump>,
    pub customers: Vec<CustomerView>,
    pub services: Vec<ServiceView>,
    pub faults: Vec<ActiveFault>,
    pub recalculations: Vec<Recalculation>,
    pub busy_for_requests: u64,
    pub stats: Stats,
    pub ledger: Vec<LedgerEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodDump {
    pub id: u32,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub seeded_status: PeriodStatus,
    pub status: PeriodStatus,
    pub is_current: bool,
    pub customers: Vec<CustomerView>,
    /// The summary rows in seed order, as billsync's snapshot has them.
    pub billing: Vec<crate::seed::BillingRow>,
}
