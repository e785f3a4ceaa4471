//! Compile: spec + Atria snapshot + Autotask snapshot + as-of time → plan. Pure and
//! deterministic: no I/O, no clock, and every output order comes from sorting.
//!
//! DESIGN.md's "Compile semantics" is the reference; the step numbers below follow it.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

use foldhash::{HashMap, HashMapExt as _, HashSet, HashSetExt as _};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive as _;
use sha2::{Digest, Sha256};

use crate::codes::{Code, JobStatus};
use crate::plan::{Action, ActionKind, Inputs, JobInfo, LogEntry, PLAN_FORMAT, Plan, Settings, Summary};
use crate::snapshot::{
    AtriaCustomer, AtriaSnapshot, AutotaskSnapshot, BillingRow, CONTRACT_STATUS_ACTIVE,
    CONTRACT_TYPE_RECURRING_SERVICE, Company, Contract, ContractService, ContractServiceUnit, CustomerStatus,
    Service, atria_sha256, autotask_sha256, units_at,
};
use crate::spec::{CustomerMatch, JobSpec, PeriodSelector, SkuField};

/// Everything compile reads.
#[derive(Clone, Copy, Debug)]
pub struct CompileInput<'a> {
    pub spec: &'a JobSpec,
    pub atria: &'a AtriaSnapshot,
    pub autotask: &'a AutotaskSnapshot,
    pub as_of: DateTime<Utc>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    #[error(
        "AT19 the spec's billingPeriod `{selector}` is not in the Atria snapshot's period {start} – {end}; fetch that period"
    )]
    PeriodMismatch { selector: String, start: String, end: String },
}

/// Where each billing row of the Atria snapshot ended up: the indexes of the plan actions that
/// account for it (exactly one for a billable row in scope, none for any other row).
pub type Provenance = Vec<Vec<usize>>;

pub fn compile(input: CompileInput<'_>) -> Result<Plan, CompileError> {
    let mut plan = compile_undigested(input, None)?;
    plan.digest = plan.content_digest();
    Ok(plan)
}

/// [`compile`] without the plan's `digest` (left empty): the caller computes it with
/// [`Plan::content_digest`], alongside other work (a big plan's digest hashes hundreds of
/// megabytes while its text is rendered). `atria_sha256` is the Atria snapshot's
/// [`atria_sha256`] when the caller has it already (the CLI computes it while the Autotask file
/// is still loading); `None` computes it here.
pub fn compile_undigested(
    input: CompileInput<'_>,
    atria_sha256: Option<String>,
) -> Result<Plan, CompileError> {
    compile_inner(input, atria_sha256).map(|(plan, _)| plan)
}

/// [`compile`], and which plan action accounts for each billing row (for tests and audits).
pub fn compile_with_provenance(input: CompileInput<'_>) -> Result<(Plan, Provenance), CompileError> {
    let (mut plan, rows) = compile_inner(input, None)?;
    plan.digest = plan.content_digest();
    let mut provenance = vec![Vec::new(); input.atria.billing.len()];
    for (action_index, &(start, end)) in rows.of_actions.iter().enumerate() {
        for &row in &rows.arena[start as usize..end as usize] {
            provenance[row as usize].push(action_index);
        }
    }
    Ok((plan, provenance))
}

/// The billing rows of each action: ranges into one shared arena (one allocation, not one per
/// action).
struct ActionRows {
    arena: Vec<u32>,
    of_actions: Vec<(u32, u32)>,
}

fn compile_inner(
    input: CompileInput<'_>,
    known_atria_sha256: Option<String>,
) -> Result<(Plan, ActionRows), CompileError> {
    let CompileInput { spec, atria, autotask, as_of } = input;
    let period = &atria.period;
    if let PeriodSelector::Containing(date) = spec.billing_period
        && (date < period.start_date || date > period.end_date)
    {
        return Err(CompileError::PeriodMismatch {
            selector: date.to_string(),
            start: period.start_date.to_string(),
            end: period.end_date.to_string(),
        });
    }
    let period_start = period.start_date.and_time(NaiveTime::MIN).and_utc();
    let effective_date = if spec.pro_rated_transactions { as_of } else { period_start };

    // The input digests are a big part of a big compile and need nothing else: they run on a
    // second core, which then helps decide.
    let (actions, log, rows, (atria_digest, autotask_digest)) =
        decide_all(spec, atria, autotask, effective_date, SecondThread::Beside, || {
            let atria_digest = known_atria_sha256.unwrap_or_else(|| atria_sha256(atria));
            (atria_digest, autotask_sha256(autotask))
        });
    let spec_sha256 = spec.sha256();
    let inputs = Inputs { atria_sha256: atria_digest, autotask_sha256: autotask_digest };
    let plan_id = {
        let mut hasher = Sha256::new();
        for part in [&spec_sha256, &inputs.atria_sha256, &inputs.autotask_sha256, &as_of.to_rfc3339()] {
            hasher.update(part.as_bytes());
            hasher.update(b"\n");
        }
        hex::encode(hasher.finalize())
    };
    let plan = Plan {
        format: PLAN_FORMAT.to_owned(),
        plan_id,
        digest: String::new(),
        as_of,
        job: JobInfo { label: spec.label.clone(), spec_sha256 },
        period: period.clone(),
        inputs,
        settings: Settings::from_spec(spec, effective_date),
        summary: Summary::of(&actions),
        actions,
        log,
    };
    Ok((plan, rows))
}

/// The billing rows in scope, by customer code: the codes in order, each with its rows.
struct RowsByCustomer<'a> {
    in_order: Vec<(&'a str, Vec<usize>)>,
    position: HashMap<&'a str, usize>,
    rows: usize,
}

impl<'a> RowsByCustomer<'a> {
    fn of(billing: &'a [BillingRow], in_scope: impl Fn(&BillingRow) -> bool) -> RowsByCustomer<'a> {
        let mut grouped = RowsByCustomer { in_order: Vec::new(), position: HashMap::new(), rows: 0 };
        // A customer's rows usually come together: the last customer's place is kept at hand.
        let mut last: Option<(&str, usize)> = None;
        for (row_index, row) in billing.iter().enumerate().filter(|(_, row)| in_scope(row)) {
            let code = &*row.customer_code;
            let at = match last {
                Some((last_code, at)) if last_code == code => at,
                _ => *grouped.position.entry(code).or_insert_with(|| {
                    grouped.in_order.push((code, Vec::new()));
                    grouped.in_order.len() - 1
                }),
            };
            grouped.in_order[at].1.push(row_index);
            grouped.rows += 1;
            last = Some((code, at));
        }
        grouped.in_order.sort_unstable_by_key(|(code, _)| *code);
        for (at, (code, _)) in grouped.in_order.iter().enumerate() {
            grouped.position.insert(code, at);
        }
        grouped
    }

    fn get(&self, code: &str) -> Option<&[usize]> {
        self.position.get(code).map(|&at| self.in_order[at].1.as_slice())
    }
}

/// How the customers are shared between two threads (see [`Untaken`]).
#[derive(Clone, Copy, Debug)]
enum SecondThread {
    /// A second thread does the other task first, then takes batches from the back while this
    /// one takes them from the front.
    Beside,
    /// For tests, one thread: the other task, `front_batches` batches of `batch` steps from the
    /// front, then the rest from the back, as a second thread would have taken them.
    #[cfg(test)]
    After { front_batches: usize, batch: usize },
}

/// Steps 1–8: every action and log entry, and the billing rows behind each action; with them,
/// what `other_task` returns. That task (the input digests) runs on a second thread, which then
/// helps decide: both threads finish together however long the task takes on this machine.
fn decide_all<T: Send>(
    spec: &JobSpec,
    atria: &AtriaSnapshot,
    autotask: &AutotaskSnapshot,
    effective_date: DateTime<Utc>,
    second_thread: SecondThread,
    other_task: impl FnOnce() -> T + Send,
) -> (Vec<Action>, Vec<LogEntry>, ActionRows, T) {
    let period = &atria.period;
    let period_end = period.end_date.to_string();
    let index = Index::new(autotask);

    // 2. Scope: the customer filter, overrides that skip, billable rows.
    let customers_by_code: BTreeMap<&str, &AtriaCustomer> =
        atria.customers.iter().map(|customer| (&*customer.short_name, customer)).collect();
    let filter: BTreeSet<&str> = spec.customers.iter().map(|code| code.trim()).collect();
    let in_scope = |code: &str| {
        (filter.is_empty() || filter.contains(code)) && !spec.overrides.get(code).is_some_and(|o| o.skip)
    };
    let rows_by_customer =
        RowsByCustomer::of(&atria.billing, |row| row.billable && in_scope(&row.customer_code));
    let rows_in_scope = rows_by_customer.rows;
    // At most one action per row in scope, per customer and per line zeroed: reserved once, so
    // that a big plan's actions are never copied into fresh memory as they grow. Either thread
    // may take nearly all: both reserve the most (capacity never written costs no memory).
    let most_actions = rows_in_scope
        + atria.customers.len()
        + if spec.zero_unbilled_lines { autotask.contract_services.len() } else { 0 };
    let new_compiler = || Compiler {
        spec,
        atria,
        index: &index,
        effective_date,
        resolved: HashMap::new(),
        prices: HashMap::new(),
        actions: Vec::with_capacity(most_actions),
        action_rows: Vec::with_capacity(most_actions),
        row_arena: Vec::with_capacity(rows_in_scope),
        shared_companies: HashMap::new(),
        units_cursor: 0,
    };

    std::thread::scope(|scope| {
        // The second thread's share of the deciding, once this one has set it out.
        let (share, shared) = std::sync::mpsc::channel::<(Compiler<'_>, Arc<Steps<'_>>)>();
        let mut other_task = Some(other_task);
        let second = match second_thread {
            SecondThread::Beside => {
                let other_task = other_task.take();
                Some(scope.spawn(move || {
                    let other = other_task.map(|task| task());
                    // None when this thread has nothing to share.
                    let back = shared
                        .recv()
                        .ok()
                        .map(|(second, steps)| second.decide_from_back(&steps, Untaken::back));
                    (other, back)
                }))
            }
            #[cfg(test)]
            SecondThread::After { .. } => None,
        };
        let mut compiler = new_compiler();

        // 1. Start of the run.
        let mut log = Vec::with_capacity(most_actions + 4);
        log.push(entry(Code::AT22, None, Code::AT22.message(&[("job", &spec.label)])));
        log.push(entry(Code::AT01, None, Code::AT01.message(&[("periodEndDate", &period_end)])));
        for code in &filter {
            if !customers_by_code.contains_key(code) {
                log.push(entry(
                    Code::AT28,
                    Some((*code).into()),
                    Code::AT28.message(&[("customerCode", code)]),
                ));
            }
        }

        // Several customers in scope on one company would plan conflicting changes to one
        // contract (two targets for one line, two creates of one service): each of them is
        // skipped (AT34).
        let processed = customers_by_code.values().filter(|customer| match customer.status {
            CustomerStatus::Active => rows_by_customer.get(&customer.short_name).is_some(),
            CustomerStatus::Deprovisioned => {
                in_scope(&customer.short_name)
                    && (spec.zero_unbilled_lines || rows_by_customer.get(&customer.short_name).is_some())
            }
        });
        let mut by_company: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
        for customer in processed {
            if let Some(company_id) = compiler.company_id_of(customer) {
                by_company.entry(company_id).or_default().push(&*customer.short_name);
            }
        }
        for codes in by_company.values().filter(|codes| codes.len() > 1) {
            for code in codes {
                let others = codes.iter().copied().filter(|other| other != code).collect();
                compiler.shared_companies.insert(code, others);
            }
        }

        let mut back = None;
        if rows_in_scope == 0 {
            // Never zero anything on missing data.
            log.push(entry(Code::AT15, None, Code::AT15.message(&[("periodEndDate", &period_end)])));
        } else {
            // Services some Atria row maps to: the lines `zeroUnbilledLines` may zero. Only
            // ever looked up.
            let mut managed: HashSet<i64> = HashSet::new();
            for row in &atria.billing {
                if let Resolution::Service(service_id) = compiler.resolve(row) {
                    managed.insert(service_id);
                }
            }

            // 3–5. Active customers with billable rows, by code.
            let mut steps: Vec<Step<'_>> = Vec::with_capacity(rows_by_customer.in_order.len() + 1);
            for (code, rows) in &rows_by_customer.in_order {
                let customer = customers_by_code[code];
                if customer.status == CustomerStatus::Active {
                    steps.push(Step::Customer(customer, rows));
                }
            }
            // 6. Every deprovisioned customer in scope, between AT20 and AT21, billing rows or
            // not: the same rules apply, so a missing identifier, company or contract still
            // shows.
            steps.push(Step::Log(Code::AT20));
            for customer in customers_by_code.values() {
                if customer.status == CustomerStatus::Deprovisioned && in_scope(&customer.short_name) {
                    let rows = rows_by_customer.get(&customer.short_name).unwrap_or_default();
                    steps.push(Step::Customer(customer, rows));
                }
            }

            // Customers are decided independently of each other, so two threads share them;
            // their actions then join in plan order, the same plan however the steps fell.
            let second_compiler = Compiler {
                resolved: compiler.resolved.clone(),
                shared_companies: compiler.shared_companies.clone(),
                ..new_compiler()
            };
            let batch = match second_thread {
                SecondThread::Beside => Untaken::BATCH,
                #[cfg(test)]
                SecondThread::After { batch, .. } => batch,
            };
            let untaken = Untaken::new(steps.len(), batch);
            let steps = Arc::new(Steps { steps, managed, untaken });
            match second_thread {
                SecondThread::Beside => {
                    // The second thread is there until this thread's scope ends.
                    let _ = share.send((second_compiler, Arc::clone(&steps)));
                    compiler.decide_into(&steps, &mut log, Untaken::front);
                }
                #[cfg(test)]
                SecondThread::After { front_batches, .. } => {
                    let mut front = steps.untaken.front_batches(front_batches);
                    compiler.decide_into(&steps, &mut log, |_| front.next());
                    back = Some(second_compiler.decide_from_back(&steps, Untaken::back));
                }
            }
        }
        drop(share);
        let other = match second {
            Some(second) => {
                let (other, decided) = second.join().expect("deciding does not panic");
                back = back.or(decided);
                other
            }
            None => other_task.take().map(|task| task()),
        };
        let other = other.expect("the other task runs once");
        if let Some(back) = back {
            compiler.append(back, &mut log);
        }
        if rows_in_scope > 0 {
            log.push(entry(Code::AT21, None, Code::AT21.message(&[])));
        }

        // 8. The status, from everything logged.
        let status = JobStatus::of(log.iter().map(|entry| entry.level));
        log.push(entry(Code::AT24, None, Code::AT24.message(&[("status", status.as_str())])));

        let rows = ActionRows { arena: compiler.row_arena, of_actions: compiler.action_rows };
        (compiler.actions, log, rows, other)
    })
}

/// The steps to decide, and what both threads read while deciding them.
struct Steps<'a> {
    steps: Vec<Step<'a>>,
    /// Services some Atria row maps to: the lines `zeroUnbilledLines` may zero.
    managed: HashSet<i64>,
    untaken: Untaken,
}

/// The steps no thread has taken yet. One thread takes batches from the front, the other from
/// the back, until they meet: the input digests share the two cores meanwhile, so neither
/// thread's share can be known ahead, and both finish together.
struct Untaken {
    steps: Mutex<Range<usize>>,
    batch: usize,
}

impl Untaken {
    /// Steps a batch: small enough for the two threads to end close together, big enough to
    /// take the lock rarely.
    const BATCH: usize = 8;

    fn new(steps: usize, batch: usize) -> Untaken {
        Untaken { steps: Mutex::new(0..steps), batch: batch.max(1) }
    }

    fn front(&self) -> Option<Range<usize>> {
        let mut steps = self.steps.lock().unwrap_or_else(PoisonError::into_inner);
        let end = steps.end.min(steps.start + self.batch);
        let taken = steps.start..end;
        steps.start = end;
        (!taken.is_empty()).then_some(taken)
    }

    fn back(&self) -> Option<Range<usize>> {
        let mut steps = self.steps.lock().unwrap_or_else(PoisonError::into_inner);
        let start = steps.start.max(steps.end.saturating_sub(self.batch));
        let taken = start..steps.end;
        steps.end = start;
        (!taken.is_empty()).then_some(taken)
    }

    /// Up to `batches` batches from the front, taken now.
    #[cfg(test)]
    fn front_batches(&self, batches: usize) -> std::vec::IntoIter<Range<usize>> {
        (0..batches).map_while(|_| self.front()).collect::<Vec<_>>().into_iter()
    }
}

/// What a thread decided from the back, batch by batch in the order it took them.
struct Decided {
    actions: Vec<Action>,
    action_rows: Vec<(u32, u32)>,
    row_arena: Vec<u32>,
    log: Vec<LogEntry>,
    batches: Vec<BatchStart>,
}

/// Where a batch's output begins in each of [`Decided`]'s vectors.
struct BatchStart {
    actions: usize,
    log: usize,
    arena: usize,
}

/// One step of the deciding, in plan order: a customer with their billing rows in scope, or a
/// log entry between the phases.
enum Step<'a> {
    Customer(&'a AtriaCustomer, &'a [usize]),
    Log(Code),
}

fn entry(code: Code, customer_code: Option<Arc<str>>, message: impl Into<Arc<str>>) -> LogEntry {
    LogEntry { code, level: code.level(), customer_code, message: message.into() }
}

type SortKey<'a> =
    (bool, Option<i64>, &'a Option<Arc<str>>, &'a Option<Arc<str>>, Code, Option<u32>, Option<u32>, &'a str);

/// Service id (none last), then SKU; the rest only breaks ties between look-alike rows.
fn sort_key(a: &Action) -> SortKey<'_> {
    (a.service_id.is_none(), a.service_id, &a.sku, &a.description, a.code, a.to, a.from, &a.message)
}

/// What one Atria SKU names in Autotask.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Resolution {
    NoSku,
    NoService,
    Service(i64),
    /// Several services match: their ids, sorted.
    Ambiguous(Vec<i64>),
}

/// Lookups over the Autotask snapshot, built once. HashMaps are only ever looked up, never
/// iterated into output.
struct Index<'a> {
    companies_by_id: HashMap<i64, &'a Company>,
    companies_by_number: HashMap<String, Vec<&'a Company>>,
    contracts_by_id: HashMap<i64, &'a Contract>,
    contracts_by_company: HashMap<i64, Vec<&'a Contract>>,
    services_by_id: HashMap<i64, &'a Service>,
    services_by_text: HashMap<(SkuField, String), Vec<i64>>,
    lines_by_contract: HashMap<i64, Vec<&'a ContractService>>,
    /// Sorted by contract service id, so one line's rows are a binary search away.
    units_by_line: UnitsByLine<'a>,
}

/// The unit rows by contract service id (and id): the snapshot's own array when it is in that
/// order already, as Autotask lists them (no 6 MB of references on a big run), else references
/// sorted.
enum UnitsByLine<'a> {
    InOrder(&'a [ContractServiceUnit]),
    Sorted(Vec<&'a ContractServiceUnit>),
}

fn fold(text: &str) -> String {
    text.trim().to_lowercase()
}

impl<'a> Index<'a> {
    fn new(autotask: &'a AutotaskSnapshot) -> Index<'a> {
        let mut index = Index {
            companies_by_id: HashMap::new(),
            companies_by_number: HashMap::new(),
            contracts_by_id: HashMap::new(),
            contracts_by_company: HashMap::new(),
            services_by_id: HashMap::new(),
            services_by_text: HashMap::new(),
            lines_by_contract: HashMap::new(),
            units_by_line: UnitsByLine::InOrder(&autotask.contract_service_units),
        };
        for company in &autotask.companies {
            index.companies_by_id.insert(company.id, company);
            if let Some(number) = &company.company_number {
                index.companies_by_number.entry(fold(number)).or_default().push(company);
            }
        }
        for contract in &autotask.contracts {
            index.contracts_by_id.insert(contract.id, contract);
            index.contracts_by_company.entry(contract.company_id).or_default().push(contract);
        }
        for service in &autotask.services {
            index.services_by_id.insert(service.id, service);
            let texts = [
                (SkuField::Name, Some(&*service.name)),
                (SkuField::InvoiceDescription, service.invoice_description.as_deref()),
                (SkuField::Description, service.description.as_deref()),
            ];
            for (field, text) in texts {
                if let Some(text) = text.filter(|text| !text.trim().is_empty()) {
                    index.services_by_text.entry((field, fold(text))).or_default().push(service.id);
                }
            }
        }
        for ids in index.services_by_text.values_mut() {
            ids.sort_unstable();
            ids.dedup();
        }
        for line in &autotask.contract_services {
            index.lines_by_contract.entry(line.contract_id).or_default().push(line);
        }
        let units = &autotask.contract_service_units;
        if !units.is_sorted_by_key(|row| (row.contract_service_id, row.id)) {
            let mut sorted: Vec<&ContractServiceUnit> = units.iter().collect();
            sorted.sort_unstable_by_key(|row| (row.contract_service_id, row.id));
            index.units_by_line = UnitsByLine::Sorted(sorted);
        }
        index
    }

    /// Current units of a line at `at`: the covering row that starts last, or 0. `cursor` is
    /// where the previous look-up's rows ended: lines are
    /// mostly looked up in id order, so the next line's rows usually start there, and a big plan
    /// does not binary-search a million rows (and miss the cache) for every line.
    fn units_at(&self, contract_service_id: i64, at: DateTime<Utc>, cursor: &mut usize) -> u32 {
        match &self.units_by_line {
            UnitsByLine::InOrder(rows) => units_at(line_rows(rows, contract_service_id, cursor), at),
            UnitsByLine::Sorted(rows) => {
                units_at(line_rows(rows, contract_service_id, cursor).iter().copied(), at)
            }
        }
    }
}

/// The rows of one line in `rows` (ordered by contract service id), starting the search at
/// `cursor` and leaving it after them.
fn line_rows<'r, T: std::borrow::Borrow<ContractServiceUnit>>(
    rows: &'r [T],
    contract_service_id: i64,
    cursor: &mut usize,
) -> &'r [T] {
    let line_of = |row: &T| row.borrow().contract_service_id;
    let at = *cursor;
    let starts_at_cursor = at <= rows.len()
        && (at == 0 || line_of(&rows[at - 1]) < contract_service_id)
        && rows.get(at).is_none_or(|row| line_of(row) >= contract_service_id);
    let first =
        if starts_at_cursor { at } else { rows.partition_point(|row| line_of(row) < contract_service_id) };
    let count = rows[first..].iter().take_while(|row| line_of(row) == contract_service_id).count();
    *cursor = first + count;
    &rows[first..first + count]
}

struct Compiler<'a> {
    spec: &'a JobSpec,
    atria: &'a AtriaSnapshot,
    index: &'a Index<'a>,
    effective_date: DateTime<Utc>,
    /// SKU → resolution, so a million rows resolve a few thousand distinct SKUs once each.
    resolved: HashMap<Option<Arc<str>>, Resolution>,
    /// A price's bits → its exact decimal: a plan's changes have few distinct prices.
    prices: HashMap<u64, Option<Decimal>>,
    actions: Vec<Action>,
    /// The billing rows of each action: a range of `row_arena`, one per action.
    action_rows: Vec<(u32, u32)>,
    row_arena: Vec<u32>,
    /// Customer code → the other customers in scope that resolve to its company (AT34).
    shared_companies: HashMap<&'a str, Vec<&'a str>>,
    /// Where the last line's unit rows ended ([`Index::units_at`]).
    units_cursor: usize,
}

/// A customer's billing rows of one service (step 4).
#[derive(Default)]
struct ServiceRows<'a> {
    quantity: u64,
    /// Trimmed.
    skus: BTreeSet<&'a str>,
    rows: Vec<usize>,
    /// One row's SKU as it was written, to share when it is the only one.
    written_sku: Option<&'a Arc<str>>,
}

/// Who an action is about, and the values every message may use.
struct CustomerContext<'a> {
    customer: &'a AtriaCustomer,
    company_id: Option<i64>,
    contract_id: Option<i64>,
}

impl<'a> Compiler<'a> {
    fn resolve(&mut self, row: &BillingRow) -> Resolution {
        if let Some(resolution) = self.resolved.get(&row.product_sku) {
            return resolution.clone();
        }
        let resolution = self.resolve_sku(row.product_sku.as_deref());
        self.resolved.insert(row.product_sku.clone(), resolution.clone());
        resolution
    }

    fn resolve_sku(&self, sku: Option<&str>) -> Resolution {
        let Some(sku) = sku.map(str::trim).filter(|sku| !sku.is_empty()) else { return Resolution::NoSku };
        let found = |service_id: i64| {
            if self.index.services_by_id.contains_key(&service_id) {
                Resolution::Service(service_id)
            } else {
                Resolution::NoService
            }
        };
        if let Some(&service_id) = self.spec.sku_map.get(sku) {
            return found(service_id);
        }
        match self.spec.sku_type.name {
            SkuField::ServiceId => sku.parse::<i64>().map_or(Resolution::NoService, found),
            field => match self.index.services_by_text.get(&(field, fold(sku))).map(Vec::as_slice) {
                None | Some([]) => Resolution::NoService,
                Some([service_id]) => Resolution::Service(*service_id),
                Some(several) => Resolution::Ambiguous(several.to_vec()),
            },
        }
    }

    fn push(
        &mut self,
        context: &CustomerContext<'_>,
        kind: ActionKind,
        code: Code,
        fill: ActionFill<'_>,
    ) -> usize {
        let action = Action {
            kind,
            code,
            customer_code: context.customer.short_name.clone(),
            customer_name: context.customer.name.clone(),
            company_id: context.company_id,
            contract_id: context.contract_id,
            service_id: fill.service.map(|service| service.id),
            contract_service_id: fill.line.map(|line| line.id),
            sku: fill.sku,
            description: fill.description,
            from: fill.from,
            to: fill.to,
            effective_date: kind.is_change().then_some(self.effective_date),
            unit_price: None,
            monthly_amount_change: None,
            prorated_amount_change: None,
            // Shared with the action's log entry: a big plan holds 790k.
            message: fill.message,
        };
        let action = if kind.is_change() { self.priced(action, fill.line, fill.service) } else { action };
        let start = self.row_arena.len() as u32;
        self.row_arena.extend(fill.rows.iter().map(|&row| row as u32));
        self.actions.push(action);
        self.action_rows.push((start, self.row_arena.len() as u32));
        self.actions.len() - 1
    }

    /// A change with its money: the line's adjusted price, else its unit price, else the
    /// service's; no price (or an amount past what a decimal holds) leaves the amounts `null`.
    /// The line and service come from the caller, who has them at hand: looking a line up by id
    /// again missed the cache on every change of a big plan.
    fn priced(
        &mut self,
        mut action: Action,
        line: Option<&ContractService>,
        service: Option<&Service>,
    ) -> Action {
        let price = line
            .and_then(|line| line.adjusted_price.or(line.unit_price))
            .or_else(|| service.and_then(|service| service.unit_price))
            .and_then(|price| *self.prices.entry(price.to_bits()).or_insert_with(|| exact_decimal(price)));
        let units = i64::from(action.to.unwrap_or(0)) - i64::from(action.from.unwrap_or(0));
        let monthly = price.and_then(|price| price.checked_mul(Decimal::from(units)));
        action.unit_price = Some(price);
        action.monthly_amount_change = Some(monthly);
        if self.spec.pro_rated_transactions {
            let period = &self.atria.period;
            let share = period_share(self.effective_date.date_naive(), period.start_date, period.end_date);
            action.prorated_amount_change = Some(monthly.and_then(|monthly| {
                let (left, days) = share;
                monthly.checked_mul(Decimal::from(left))?.checked_div(Decimal::from(days)).map(|amount| {
                    amount.round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
                })
            }));
        }
        action
    }

    /// Sorts one customer's actions (those from `start` on) into plan order and returns their
    /// log entries.
    fn sort_from(&mut self, start: usize) -> Vec<LogEntry> {
        let (actions, rows) = (&mut self.actions[start..], &mut self.action_rows[start..]);
        // The order is found on indexes and then applied in place, one swap per misplaced action:
        // an action is a few hundred bytes, and a big plan has 800k of them.
        let mut order: Vec<usize> = (0..actions.len()).collect();
        order.sort_by(|&a, &b| sort_key(&actions[a]).cmp(&sort_key(&actions[b])));
        for first in 0..order.len() {
            // Position `at` takes the action now at `order[at]`; following the cycle from
            // `first` carries that action along until the cycle closes.
            let mut at = first;
            loop {
                let from = std::mem::replace(&mut order[at], at);
                if from == first || from == at {
                    break;
                }
                actions.swap(at, from);
                rows.swap(at, from);
                at = from;
            }
        }
        actions
            .iter()
            .map(|action| entry(action.code, Some(action.customer_code.clone()), action.message.clone()))
            .collect()
    }

    /// The batches of steps `take` hands out, each in order: their actions to `self.actions`,
    /// their log entries to `log`.
    fn decide_into(
        &mut self,
        steps: &Steps<'a>,
        log: &mut Vec<LogEntry>,
        mut take: impl FnMut(&Untaken) -> Option<Range<usize>>,
    ) {
        while let Some(batch) = take(&steps.untaken) {
            self.run(&steps.steps[batch], &steps.managed, log);
        }
    }

    /// [`Compiler::decide_into`] for the steps taken from the back: where each batch begins
    /// in the output, so that [`Compiler::append`] can put the batches back in plan order.
    fn decide_from_back(
        mut self,
        steps: &Steps<'a>,
        mut take: impl FnMut(&Untaken) -> Option<Range<usize>>,
    ) -> Decided {
        let mut log = Vec::with_capacity(self.actions.capacity());
        let mut batches = Vec::new();
        while let Some(batch) = take(&steps.untaken) {
            batches.push(BatchStart {
                actions: self.actions.len(),
                log: log.len(),
                arena: self.row_arena.len(),
            });
            self.run(&steps.steps[batch], &steps.managed, &mut log);
        }
        Decided {
            actions: self.actions,
            action_rows: self.action_rows,
            row_arena: self.row_arena,
            log,
            batches,
        }
    }

    /// Appends what the other thread decided from the back: its last batch first (the earliest
    /// in plan order), each batch's row ranges moved to where its rows now sit.
    fn append(&mut self, mut back: Decided, log: &mut Vec<LogEntry>) {
        for start in back.batches.iter().rev() {
            let shift = self.row_arena.len() as i64 - start.arena as i64;
            let moved = |row: u32| u32::try_from(i64::from(row) + shift).expect("row ranges fit the arena");
            self.row_arena.extend(back.row_arena.drain(start.arena..));
            self.action_rows
                .extend(back.action_rows.drain(start.actions..).map(|(from, to)| (moved(from), moved(to))));
            self.actions.extend(back.actions.drain(start.actions..));
            log.extend(back.log.drain(start.log..));
        }
    }

    /// Steps in order: their actions to `self.actions`, their log entries to `log`.
    fn run(&mut self, steps: &[Step<'a>], managed: &HashSet<i64>, log: &mut Vec<LogEntry>) {
        for step in steps {
            match *step {
                Step::Customer(customer, rows) => {
                    let start = self.actions.len();
                    self.customer(customer, rows, managed);
                    log.extend(self.sort_from(start));
                }
                Step::Log(code) => log.push(entry(code, None, code.message(&[]))),
            }
        }
    }

    /// Steps 3–5 and 7 for one customer.
    fn customer(&mut self, customer: &'a AtriaCustomer, rows: &[usize], managed: &HashSet<i64>) {
        let name = &*customer.name;
        let code = &*customer.short_name;
        let mut context = CustomerContext { customer, company_id: None, contract_id: None };
        let all_rows = rows.to_vec();

        // 3. Billing identifier → company → the one Recurring Service contract.
        let Some(identifier) =
            customer.billing_identifier.as_deref().map(str::trim).filter(|id| !id.is_empty())
        else {
            let message = Code::AT04.shared_message(&[("customerCode", code), ("customerName", name)]);
            self.push(&context, ActionKind::Skip, Code::AT04, ActionFill::skip(message, all_rows));
            return;
        };
        let company = match self.spec.customer_match {
            CustomerMatch::Id => {
                identifier.parse::<i64>().ok().and_then(|id| self.index.companies_by_id.get(&id).copied())
            }
            CustomerMatch::CompanyNumber => match self.index.companies_by_number.get(&fold(identifier)) {
                Some(companies) if companies.len() == 1 => Some(companies[0]),
                _ => None,
            },
        };
        let Some(company) = company else {
            let message =
                Code::AT05.shared_message(&[("customerAccountCode", identifier), ("customerName", name)]);
            self.push(&context, ActionKind::Skip, Code::AT05, ActionFill::skip(message, all_rows));
            return;
        };
        context.company_id = Some(company.id);
        if let Some(others) = self.shared_companies.get(code) {
            let message = Code::AT34.shared_message(&[
                ("customerName", name),
                ("customerCode", code),
                ("companyId", &company.id.to_string()),
                ("others", &others.join(", ")),
            ]);
            self.push(&context, ActionKind::Skip, Code::AT34, ActionFill::skip(message, all_rows));
            return;
        }

        let contracts = self.contracts_for(code, company.id);
        let contract = match contracts.as_slice() {
            [contract] => *contract,
            [] => {
                let message =
                    Code::AT06.shared_message(&[("customerName", name), ("customerAccountCode", identifier)]);
                self.push(&context, ActionKind::Skip, Code::AT06, ActionFill::skip(message, all_rows));
                return;
            }
            several => {
                let ids: Vec<String> = several.iter().map(|contract| contract.id.to_string()).collect();
                let message = Code::AT25.shared_message(&[
                    ("customerName", name),
                    ("customerCode", code),
                    ("count", &several.len().to_string()),
                    ("contracts", &ids.join(", ")),
                ]);
                self.push(&context, ActionKind::Skip, Code::AT25, ActionFill::skip(message, all_rows));
                return;
            }
        };
        context.contract_id = Some(contract.id);

        // 4. Rows grouped by the service they map to; quantities summed.
        // SKUs borrow from the rows: a million rows allocate nothing here.
        let mut by_service: BTreeMap<i64, ServiceRows<'a>> = BTreeMap::new();
        let atria = self.atria;
        let index = self.index;
        for &row_index in rows {
            let row = &atria.billing[row_index];
            let sku_text = row.product_sku.as_deref().unwrap_or_default();
            let line_description = &*row.summary_grouping;
            match self.resolve(row) {
                Resolution::NoSku => {
                    let message = Code::AT07
                        .shared_message(&[("customerName", name), ("lineDescription", line_description)]);
                    let fill = ActionFill {
                        description: Some(row.summary_grouping.clone()),
                        to: Some(row.this_month_count),
                        ..ActionFill::skip(message, vec![row_index])
                    };
                    self.push(&context, ActionKind::Skip, Code::AT07, fill);
                }
                Resolution::NoService => {
                    let message = Code::AT08.shared_message(&[
                        ("customerName", name),
                        ("lineDescription", line_description),
                        ("sku", sku_text),
                    ]);
                    let fill = ActionFill {
                        sku: row.product_sku.clone(),
                        description: Some(row.summary_grouping.clone()),
                        to: Some(row.this_month_count),
                        ..ActionFill::skip(message, vec![row_index])
                    };
                    self.push(&context, ActionKind::Skip, Code::AT08, fill);
                }
                Resolution::Ambiguous(service_ids) => {
                    let ids: Vec<String> = service_ids.iter().map(i64::to_string).collect();
                    let message = Code::AT26.shared_message(&[
                        ("customerName", name),
                        ("sku", sku_text),
                        ("count", &service_ids.len().to_string()),
                        ("services", &ids.join(", ")),
                        ("lineDescription", line_description),
                    ]);
                    let fill = ActionFill {
                        sku: row.product_sku.clone(),
                        description: Some(row.summary_grouping.clone()),
                        to: Some(row.this_month_count),
                        ..ActionFill::skip(message, vec![row_index])
                    };
                    self.push(&context, ActionKind::Skip, Code::AT26, fill);
                }
                Resolution::Service(service_id) => {
                    let group = by_service.entry(service_id).or_default();
                    group.quantity += u64::from(row.this_month_count);
                    group.skus.insert(sku_text.trim());
                    group.rows.push(row_index);
                    group.written_sku = group.written_sku.or(row.product_sku.as_ref());
                }
            }
        }

        // 5. One decision per service line.
        let lines_of_contract = index.lines_by_contract.get(&contract.id).map_or(&[][..], Vec::as_slice);
        for (service_id, ServiceRows { quantity, skus, rows: group_rows, written_sku: written }) in
            &mut by_service
        {
            // The rows go to this line's action; step 7 needs only the services.
            let group_rows = std::mem::take(group_rows);
            let service = index.services_by_id[service_id];
            let skus: Vec<&str> = skus.iter().copied().collect();
            // One SKU, as the rows wrote it, is shared with them; several are joined.
            let sku: Arc<str> = match (skus.as_slice(), *written) {
                ([one], Some(written)) if **written == **one => Arc::clone(written),
                _ => skus.join(", ").into(),
            };
            // Autotask's units are int32: a larger sum is an error in the data, never clamped.
            let Some(target) = u32::try_from(*quantity).ok().filter(|target| *target <= i32::MAX as u32)
            else {
                // Sorted, so that the message does not depend on the order of the export.
                let mut named: Vec<(&str, u32)> = group_rows
                    .iter()
                    .map(|&row| (&*atria.billing[row].summary_grouping, atria.billing[row].this_month_count))
                    .collect();
                named.sort_unstable();
                let row_names: Vec<String> =
                    named.iter().map(|(grouping, count)| format!("\"{grouping}\" ({count})")).collect();
                let message = Code::AT35.shared_message(&[
                    ("customerName", name),
                    ("name", &service.name),
                    ("rows", &row_names.join(", ")),
                    ("quantity", &quantity.to_string()),
                    ("max", &i32::MAX.to_string()),
                ]);
                let fill = ActionFill {
                    service: Some(service),
                    sku: Some(sku.clone()),
                    description: Some(service.name.clone()),
                    message,
                    rows: group_rows,
                    ..ActionFill::default()
                };
                self.push(&context, ActionKind::Skip, Code::AT35, fill);
                continue;
            };
            let of_service = |line: &&ContractService| line.service_id == *service_id;
            // Usually one line: a vector only when there are several.
            let mut matching = lines_of_contract.iter().copied().filter(of_service);
            let (one, mut several): ([&ContractService; 1], Vec<&ContractService>);
            let lines: &[&ContractService] = match (matching.next(), matching.next()) {
                (None, _) => &[],
                (Some(line), None) => {
                    one = [line];
                    &one
                }
                (Some(_), Some(_)) => {
                    several = lines_of_contract.iter().copied().filter(of_service).collect();
                    // AT27 lists these ids: file order must not reach the message.
                    several.sort_unstable_by_key(|line| line.id);
                    &several
                }
            };
            let base = ActionFill {
                service: Some(service),
                sku: Some(sku.clone()),
                description: Some(service.name.clone()),
                rows: group_rows,
                ..ActionFill::default()
            };
            match lines {
                [] if self.spec.allow_create_items && target > 0 => {
                    let message = Code::AT11.shared_message(&[
                        ("customerName", name),
                        ("name", &service.name),
                        ("serviceId", &service_id.to_string()),
                    ]);
                    let fill = ActionFill { from: Some(0), to: Some(target), message, ..base };
                    self.push(&context, ActionKind::Create, Code::AT11, fill);
                }
                [] => {
                    let message = Code::AT12.shared_message(&[
                        ("customerName", name),
                        ("lineDescription", &service.name),
                        ("sku", &sku),
                    ]);
                    let fill = ActionFill { to: Some(target), message, ..base };
                    self.push(&context, ActionKind::Skip, Code::AT12, fill);
                }
                [line] => {
                    let current = self.index.units_at(line.id, self.effective_date, &mut self.units_cursor);
                    let fill = ActionFill { line: Some(line), ..base };
                    self.decide(&context, service, current, target, fill);
                }
                several => {
                    let ids: Vec<String> = several.iter().map(|line| line.id.to_string()).collect();
                    let message = Code::AT27.shared_message(&[
                        ("customerName", name),
                        ("contractId", &contract.id.to_string()),
                        ("count", &several.len().to_string()),
                        ("name", &service.name),
                        ("lines", &ids.join(", ")),
                    ]);
                    let fill = ActionFill { to: Some(target), message, ..base };
                    self.push(&context, ActionKind::Skip, Code::AT27, fill);
                }
            }
        }

        // 7. Lines of Atria-managed services this customer is not billed for.
        if self.spec.zero_unbilled_lines {
            let mut unbilled: Vec<&ContractService> = lines_of_contract
                .iter()
                .copied()
                .filter(|line| {
                    managed.contains(&line.service_id) && !by_service.contains_key(&line.service_id)
                })
                .collect();
            unbilled.sort_by_key(|line| (line.service_id, line.id));
            for line in unbilled {
                let current = self.index.units_at(line.id, self.effective_date, &mut self.units_cursor);
                if current == 0 {
                    continue;
                }
                let service = index.services_by_id[&line.service_id];
                let fill = ActionFill {
                    service: Some(service),
                    line: Some(line),
                    description: Some(service.name.clone()),
                    ..ActionFill::default()
                };
                self.decide(&context, service, current, 0, fill);
            }
        }
    }

    /// The company a customer's Billing Identifier resolves to, as step 3 looks it up.
    fn company_id_of(&self, customer: &AtriaCustomer) -> Option<i64> {
        let identifier = customer.billing_identifier.as_deref().map(str::trim).filter(|id| !id.is_empty())?;
        match self.spec.customer_match {
            CustomerMatch::Id => {
                identifier.parse::<i64>().ok().filter(|id| self.index.companies_by_id.contains_key(id))
            }
            CustomerMatch::CompanyNumber => match self.index.companies_by_number.get(&fold(identifier)) {
                Some(companies) if companies.len() == 1 => Some(companies[0].id),
                _ => None,
            },
        }
    }

    /// The Recurring Service contracts of a company active in the period, or the override's.
    fn contracts_for(&self, customer_code: &str, company_id: i64) -> Vec<&'a Contract> {
        if let Some(contract_id) = self.spec.overrides.get(customer_code).and_then(|o| o.contract_id) {
            return self
                .index
                .contracts_by_id
                .get(&contract_id)
                .filter(|contract| contract.company_id == company_id)
                .map(|contract| vec![*contract])
                .unwrap_or_default();
        }
        let period = &self.atria.period;
        let mut contracts: Vec<&Contract> = self
            .index
            .contracts_by_company
            .get(&company_id)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .copied()
            .filter(|contract| {
                contract.contract_type == CONTRACT_TYPE_RECURRING_SERVICE
                    && contract.status == CONTRACT_STATUS_ACTIVE
                    && contract.start_date.date_naive() <= period.end_date
                    && contract.end_date.date_naive() >= period.start_date
            })
            .collect();
        contracts.sort_by_key(|contract| contract.id);
        contracts
    }

    /// Unchanged, update or zero for one existing line, unless a guard blocks the change.
    fn decide(
        &mut self,
        context: &CustomerContext<'_>,
        service: &Service,
        current: u32,
        target: u32,
        fill: ActionFill<'_>,
    ) {
        let name = &*context.customer.name;
        let fill = ActionFill { from: Some(current), to: Some(target), ..fill };
        if current == target {
            let message = Code::AT10.shared_message(&[("customerName", name), ("name", &service.name)]);
            self.push(context, ActionKind::Unchanged, Code::AT10, ActionFill { message, ..fill });
            return;
        }
        let guards = self.spec.guards;
        let blocked_by = if target == 0 && !guards.allow_reduce_to_zero {
            Some("guards.allowReduceToZero is false".to_owned())
        } else if target > 0
            && target < current
            && u64::from(current - target) * 100 > u64::from(guards.max_decrease_percent) * u64::from(current)
        {
            Some(format!(
                "a decrease of {}% is more than guards.maxDecreasePercent {}%",
                u64::from(current - target) * 100 / u64::from(current),
                guards.max_decrease_percent
            ))
        } else {
            None
        };
        if let Some(guard) = blocked_by {
            let message = Code::AT30.shared_message(&[
                ("customerName", name),
                ("name", &service.name),
                ("from", &current.to_string()),
                ("to", &target.to_string()),
                ("guard", &guard),
            ]);
            self.push(context, ActionKind::Skip, Code::AT30, ActionFill { message, ..fill });
        } else if target == 0 {
            let message = Code::AT13.shared_message(&[
                ("customerName", name),
                ("description", service.description.as_deref().unwrap_or(&service.name)),
                ("name", &service.name),
                ("from", &format!("{current}.00")),
            ]);
            self.push(context, ActionKind::Zero, Code::AT13, ActionFill { message, ..fill });
        } else {
            let message = Code::AT09.shared_message(&[
                ("customerName", name),
                ("lineDescription", &service.name),
                ("sku", fill.sku.as_deref().unwrap_or_default()),
                ("from", itoa::Buffer::new().format(current)),
                ("to", itoa::Buffer::new().format(target)),
            ]);
            self.push(context, ActionKind::Update, Code::AT09, ActionFill { message, ..fill });
        }
    }
}

/// The decimal a price was written as: `19.99` in the snapshot is 19.99 exactly, not the binary
/// float nearest to it (Rust prints an `f64` as the shortest text that reads back the same).
pub fn exact_decimal(price: f64) -> Option<Decimal> {
    if !price.is_finite() {
        return None;
    }
    price
        .to_string()
        .parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_f64(price))
        .map(|price| price.normalize())
}

/// Days left in the period from `effective` (inclusive) and days in the period, calendar dates:
/// an effective date before the period leaves all of it, one after it none.
pub fn period_share(effective: NaiveDate, start: NaiveDate, end: NaiveDate) -> (i64, i64) {
    let days = (end - start).num_days() + 1;
    let left = ((end - effective).num_days() + 1).clamp(0, days);
    (left, days.max(1))
}

/// The per-action fields of an [`Action`], filled step by step.
#[derive(Clone, Debug, Default)]
struct ActionFill<'a> {
    service: Option<&'a Service>,
    line: Option<&'a ContractService>,
    sku: Option<Arc<str>>,
    description: Option<Arc<str>>,
    from: Option<u32>,
    to: Option<u32>,
    message: Arc<str>,
    rows: Vec<usize>,
}

impl ActionFill<'_> {
    fn skip(message: Arc<str>, rows: Vec<usize>) -> Self {
        ActionFill { message, rows, ..ActionFill::default() }
    }
}

#[cfg(test)]
mod tests;
