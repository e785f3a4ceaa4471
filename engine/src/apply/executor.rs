//! The apply protocol: budget check, batched refresh of the touched lines and of the lines of
//! planned creates (a line at its target is done, AT32; one that moved is refused, AT29: so a plan
//! re-applied without its journal posts nothing), journaled writes at most three in flight per
//! endpoint (the client's limit) with six changes under way so journaling overlaps the requests,
//! resolution of unanswered writes by read-back with jittered backoff, a circuit breaker, and a
//! batched verification (AT31).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use serde::Serialize;
use serde_json::json;

use super::journal::{ActionState, Journal, JournalError, Record};
use crate::autotask::{AutotaskClient, ClientError, wire};
use crate::codes::{Code, JobStatus, LogLevel};
use crate::plan::{Action, Plan};
use crate::snapshot::{ContractService, ContractServiceUnit, units_at};

/// Autotask's limit on the ids of one `in` filter.
const IN_CHUNK: usize = 500;
/// Changes under way at once. The client holds its requests to Autotask's thread limit (3 per
/// endpoint); twice as many changes keep those slots busy while a change journals its intent
/// or its outcome, instead of leaving a slot idle for every fsync and answer handled.
const CONCURRENT_CHANGES: usize = 6;
/// How often an unanswered write is read back and tried again before apply gives up on it.
const ATTEMPTS: u32 = 5;
/// The first wait before a write is tried again; it doubles per attempt, with jitter.
const WRITE_BACKOFF: Duration = Duration::from_millis(250);
/// Failed write attempts in a row (no write succeeding in between) that stop apply: an outage,
/// not a bad line. Each attempt that fails was resolved by read-back first, so stopping is safe.
pub const BREAKER_FAILURES: u32 = 20;
/// `--give-up-after`'s default: no change completed for this long stops apply.
pub const DEFAULT_GIVE_UP_AFTER: Duration = Duration::from_secs(120);

pub struct ApplyOptions {
    pub journal_path: PathBuf,
    /// Show a progress bar with ETA (on a terminal only).
    pub progress: bool,
    /// Stop (exit 1, journal intact) when no change has completed for this long.
    pub give_up_after: Duration,
    /// Whose changes this run writes; the rest stay pending in the journal.
    pub customers: crate::partial::CustomerFilter,
}

impl ApplyOptions {
    /// No progress bar, [`DEFAULT_GIVE_UP_AFTER`], every customer.
    pub fn new(journal_path: PathBuf) -> ApplyOptions {
        ApplyOptions {
            journal_path,
            progress: false,
            give_up_after: DEFAULT_GIVE_UP_AFTER,
            customers: Default::default(),
        }
    }
}

/// One line of the run's AT log, with the time it happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimedEntry {
    pub at: DateTime<Utc>,
    pub code: Code,
    pub level: LogLevel,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_code: Option<String>,
    pub message: String,
}

impl TimedEntry {
    pub fn now(code: Code, customer_code: Option<&str>, message: String) -> TimedEntry {
        TimedEntry {
            at: Utc::now(),
            code,
            level: code.level(),
            customer_code: customer_code.map(str::to_owned),
            message,
        }
    }
}

/// What apply did.
#[derive(Debug, Default)]
pub struct ApplyReport {
    pub log: Vec<TimedEntry>,
    /// Changes written by this run.
    pub applied: usize,
    /// Changes found done by an earlier run (AT32).
    pub already_done: usize,
    /// Changes refused because the line moved since the plan was made (AT29).
    pub refused: usize,
    /// Changes that failed or did not verify (AT14, AT31, AT33).
    pub failed: usize,
    /// Changes left for a rerun because apply stopped.
    pub unfinished: usize,
    /// Why apply stopped before the end (credentials refused, an outage, a journal that cannot be
    /// written…). What landed before is in `log` and the journal; a rerun resumes.
    pub stopped: Option<ApplyError>,
}

impl ApplyReport {
    /// 0 done, 1 error, 3 some lines refused.
    pub fn exit_code(&self) -> u8 {
        if self.failed > 0 || self.stopped.is_some() {
            1
        } else if self.refused > 0 {
            3
        } else {
            0
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(
        "apply needs about {needed} API calls but Autotask's hourly budget has {left} left ({used} of {limit} used); try again later"
    )]
    Budget { needed: u64, left: u64, used: u64, limit: u64 },
    #[error(
        "AT02 Failed to connect to Autotask: Error reported was: {failures} write attempts failed in a row (the last: {last}); apply stopped"
    )]
    Outage { failures: u32, last: String },
    #[error(
        "AT02 Failed to connect to Autotask: Error reported was: no change completed for {seconds} s (`--give-up-after`); apply stopped"
    )]
    NoProgress { seconds: u64 },
}

impl ApplyError {
    pub fn code(&self) -> Code {
        match self {
            ApplyError::Client(error) => error.code(),
            _ => Code::AT02,
        }
    }
}

/// Stops apply when writes keep failing or nothing completes for too long, and once anything
/// made it stop (refused credentials included), keeps every task from sending more.
struct Breaker {
    failures: AtomicU32,
    last_progress: Mutex<Instant>,
    give_up_after: Duration,
    /// The first reason to stop; every task checks it before a request.
    stopped: Mutex<Option<String>>,
}

impl Breaker {
    fn new(give_up_after: Duration) -> Breaker {
        Breaker {
            failures: AtomicU32::new(0),
            last_progress: Mutex::new(Instant::now()),
            give_up_after,
            stopped: Mutex::new(None),
        }
    }

    /// Before a write: go on, or the error that stops apply.
    fn check(&self) -> Result<(), ApplyError> {
        if let Some(reason) = self.stopped.lock().expect("never poisoned").clone() {
            return Err(ApplyError::Outage { failures: self.failures.load(Ordering::SeqCst), last: reason });
        }
        let idle = self.last_progress.lock().expect("never poisoned").elapsed();
        if idle >= self.give_up_after {
            self.stop("no progress".to_owned());
            return Err(ApplyError::NoProgress { seconds: self.give_up_after.as_secs() });
        }
        Ok(())
    }

    fn progress(&self) {
        self.failures.store(0, Ordering::SeqCst);
        *self.last_progress.lock().expect("never poisoned") = Instant::now();
    }

    /// A failed write attempt; the error when it is one too many.
    fn failure(&self, problem: &str) -> Result<(), ApplyError> {
        let failures = self.failures.fetch_add(1, Ordering::SeqCst) + 1;
        if failures >= BREAKER_FAILURES {
            self.stop(problem.to_owned());
            return Err(ApplyError::Outage { failures, last: problem.to_owned() });
        }
        Ok(())
    }

    fn stop(&self, reason: String) {
        self.stopped.lock().expect("never poisoned").get_or_insert(reason);
    }

    /// Runs one request (with the client's own retries), but never past the point where apply
    /// gives up: a persistent outage ends in `--give-up-after`, not in the sum of every retry.
    /// A write cut off this way was journaled as an intent; the rerun reads its line back.
    async fn bounded<T>(
        &self,
        request: impl std::future::Future<Output = Result<T, ClientError>>,
    ) -> Result<Result<T, ClientError>, ApplyError> {
        let idle = self.last_progress.lock().expect("never poisoned").elapsed();
        let left = self.give_up_after.saturating_sub(idle);
        match tokio::time::timeout(left, request).await {
            Ok(outcome) => Ok(outcome),
            Err(_) => {
                self.stop("no progress".to_owned());
                Err(ApplyError::NoProgress { seconds: self.give_up_after.as_secs() })
            }
        }
    }

    /// Waits before attempt `attempt + 1`, never past the point where apply would give up.
    async fn backoff(&self, attempt: u32) -> Result<(), ApplyError> {
        let wait = crate::http::backoff(attempt, WRITE_BACKOFF, None);
        let idle = self.last_progress.lock().expect("never poisoned").elapsed();
        let left = self.give_up_after.saturating_sub(idle);
        tokio::time::sleep(wait.min(left)).await;
        self.check()
    }
}

/// How one change ended.
enum Outcome {
    Applied {
        line: i64,
    },
    AlreadyDone {
        line: i64,
    },
    Refused,
    Failed,
    /// Apply was stopping before this change began.
    NotStarted,
}

/// What the refresh knows of a change's line.
struct Known {
    /// The line: the plan's, the one the journal says was created, or one found for a create.
    line: Option<i64>,
    /// Its units at the effective date.
    current: Option<u32>,
    /// A create's line found by the refresh that the journal says this plan announced.
    adopted: bool,
    /// A create's line found by the refresh.
    found: bool,
}

/// What every task shares.
struct Context<'a> {
    client: &'a AutotaskClient,
    /// The `internalDescription` this plan gives the lines it creates ([`creation_mark`]).
    mark: String,
    journal: Mutex<Journal>,
    log: Mutex<Vec<TimedEntry>>,
    progress: Option<indicatif::ProgressBar>,
    breaker: Breaker,
}

impl Context<'_> {
    fn record(&self, record: Record) -> Result<(), JournalError> {
        self.journal.lock().expect("no task panics holding the journal").append(&record)
    }

    fn log(&self, code: Code, action: &Action, message: String) {
        let entry = TimedEntry::now(code, Some(&action.customer_code), message);
        self.log.lock().expect("no task panics holding the log").push(entry);
    }
}

/// The journal key of an action: unique within a plan.
pub fn action_key(action: &Action) -> String {
    format!(
        "{}/{}/{}",
        action.customer_code,
        action.contract_id.unwrap_or_default(),
        action.service_id.unwrap_or_default()
    )
}

fn name(action: &Action) -> &str {
    action.description.as_deref().unwrap_or_default()
}

/// Applies the plan's updates, creates and zeroes. `Err` only when the journal cannot be opened
/// (nothing was sent); anything that stops apply later is [`ApplyReport::stopped`], with the log
/// of what landed before it.
pub async fn apply(
    plan: &Plan,
    client: &AutotaskClient,
    options: &ApplyOptions,
) -> Result<ApplyReport, ApplyError> {
    let journal = Journal::open(&options.journal_path, &plan.plan_id, Utc::now())?;
    let mut report = ApplyReport::default();
    let mut log = vec![TimedEntry::now(Code::AT22, None, Code::AT22.message(&[("job", &plan.job.label)]))];
    if let Err(error) = run(plan, client, options, journal, &mut report, &mut log).await {
        let text = error.to_string();
        // The error's text starts with its code; the log entry carries the code on its own.
        let message = text.strip_prefix(&format!("{} ", error.code())).unwrap_or(&text).to_owned();
        log.push(TimedEntry::now(error.code(), None, message));
        report.stopped = Some(error);
    }
    let status = JobStatus::of(log.iter().map(|entry| entry.level));
    log.push(TimedEntry::now(Code::AT24, None, Code::AT24.message(&[("status", status.as_str())])));
    report.log = log;
    Ok(report)
}

/// What the refresh found of a planned create's line.
#[derive(Clone, Copy)]
struct FoundLine {
    line: i64,
    /// Whether this plan made it: the journal announced creating it (an earlier run's answer
    /// was lost), or the line carries this plan's [`creation_mark`] (an earlier run was stopped
    /// between the line and its adjustment, and its journal lost). Otherwise someone else made
    /// it, and only a line already at `to` counts as done.
    ours: bool,
}

/// The `internalDescription` of a line this plan creates: its digest names the plan. Autotask
/// lets nobody change the field through the API once the line exists (only `invoiceDescription`
/// and the price are writable), and it is not printed on invoices.
fn creation_mark(plan: &Plan) -> String {
    format!("Created by billsync for plan {}", plan.digest)
}

async fn run(
    plan: &Plan,
    client: &AutotaskClient,
    options: &ApplyOptions,
    journal: Journal,
    report: &mut ApplyReport,
    log: &mut Vec<TimedEntry>,
) -> Result<(), ApplyError> {
    let changes: Vec<&Action> = plan
        .actions
        .iter()
        .filter(|action| action.kind.is_change() && options.customers.selects(&action.customer_code))
        .collect();
    let states: Vec<ActionState> = changes.iter().map(|action| journal.state(&action_key(action))).collect();
    // Reads are bounded too: an outage ends apply in `--give-up-after`, whatever it hits.
    let breaker = Breaker::new(options.give_up_after);

    // Budget: every write still to do, plus a refresh and a verification per 500 lines, plus
    // the lines of planned creates.
    let pending: Vec<usize> = (0..changes.len()).filter(|&index| !states[index].done).collect();
    let line_of = |index: usize| changes[index].contract_service_id.or(states[index].created_line);
    let creates: Vec<usize> = pending.iter().copied().filter(|&index| line_of(index).is_none()).collect();
    let mut create_contracts: Vec<i64> =
        creates.iter().filter_map(|&index| changes[index].contract_id).collect();
    create_contracts.sort_unstable();
    create_contracts.dedup();
    let mut create_services: Vec<i64> =
        creates.iter().filter_map(|&index| changes[index].service_id).collect();
    create_services.sort_unstable();
    create_services.dedup();
    let writes = (pending.len() + creates.len()) as u64;
    let reads =
        2 * changes.len().div_ceil(IN_CHUNK) as u64 + create_contracts.len().div_ceil(IN_CHUNK) as u64;
    let needed = writes + reads + 1;
    if writes > 0 {
        let threshold = breaker.bounded(client.threshold()).await??;
        let limit = threshold.external_request_threshold;
        let used = threshold.current_timeframe_request_count;
        let left = limit.saturating_sub(used);
        if left < needed {
            return Err(ApplyError::Budget { needed, left, used, limit });
        }
    }

    // Refresh, 1: the lines of planned creates. Autotask, not the journal, is the truth: a line
    // for the service may exist already (an earlier run, its journal lost; someone else).
    let mut found: BTreeMap<usize, FoundLine> = BTreeMap::new();
    let mark = creation_mark(plan);
    if !create_contracts.is_empty() {
        let existing = breaker.bounded(lines_of(client, &create_contracts, &create_services)).await??;
        for &index in &creates {
            let action = changes[index];
            let mut matching = existing.iter().filter(|line| {
                Some(line.contract_id) == action.contract_id && Some(line.service_id) == action.service_id
            });
            if let Some(line) = matching.next() {
                let alone = matching.next().is_none();
                let marked = line.internal_description.as_deref() == Some(mark.as_str());
                found.insert(
                    index,
                    FoundLine { line: line.id, ours: alone && (states[index].line_intent || marked) },
                );
            }
        }
    }

    // Refresh, 2: the units now of every line this run touches (one batched read).
    let mut lines: Vec<i64> = pending.iter().filter_map(|&index| line_of(index)).collect();
    lines.extend(found.values().map(|found| found.line));
    lines.sort_unstable();
    lines.dedup();
    let rows = breaker.bounded(units_of(client, &lines)).await??;
    let rows_by_line = group_rows(rows);
    // The reads took their time; the writes get the whole bound.
    breaker.progress();

    let progress = options.progress.then(|| {
        let bar = indicatif::ProgressBar::new(pending.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} changes, {elapsed} elapsed, ETA {eta}",
            )
            .expect("a valid template"),
        );
        bar
    });
    let context = Context {
        client,
        mark,
        journal: Mutex::new(journal),
        log: Mutex::new(Vec::new()),
        progress,
        breaker,
    };

    let mut touched: Vec<(usize, i64)> = Vec::new();
    for (index, action) in changes.iter().enumerate() {
        if states[index].done {
            report.already_done += 1;
            let message =
                Code::AT32.message(&[("customerName", &action.customer_name), ("name", name(action))]);
            log.push(TimedEntry::now(Code::AT32, Some(&action.customer_code), message));
            if let Some(line) = line_of(index) {
                touched.push((index, line));
            }
        }
    }

    let tasks = pending.iter().map(|&index| {
        let action = changes[index];
        let found = found.get(&index).copied();
        let line = line_of(index).or(found.map(|found| found.line));
        let current = line
            .map(|line| units_at(rows_by_line.get(&line).into_iter().flatten(), action_effective(action)));
        let known =
            Known { line, current, adopted: found.is_some_and(|found| found.ours), found: found.is_some() };
        let context = &context;
        async move {
            // Once apply is stopping, changes not yet begun are left for the rerun.
            if context.breaker.stopped.lock().expect("never poisoned").is_some() {
                return (index, Ok(Outcome::NotStarted));
            }
            let outcome = change(context, action, known).await;
            if let Err(error) = &outcome {
                context.breaker.stop(error.to_string());
            }
            if let Some(bar) = &context.progress {
                bar.inc(1);
            }
            (index, outcome)
        }
    });
    let outcomes: Vec<(usize, Result<Outcome, ApplyError>)> =
        futures::stream::iter(tasks).buffer_unordered(CONCURRENT_CHANGES).collect().await;
    if let Some(bar) = &context.progress {
        bar.finish_and_clear();
    }
    let mut first_error: Option<(usize, ApplyError)> = None;
    for (index, outcome) in outcomes {
        match outcome {
            Ok(Outcome::Applied { line }) => {
                report.applied += 1;
                touched.push((index, line));
            }
            Ok(Outcome::AlreadyDone { line }) => {
                report.already_done += 1;
                touched.push((index, line));
            }
            Ok(Outcome::Refused) => report.refused += 1,
            Ok(Outcome::Failed) => report.failed += 1,
            Ok(Outcome::NotStarted) => report.unfinished += 1,
            Err(error) => {
                report.unfinished += 1;
                // Report what stopped apply, not the tasks it stopped after it.
                let replace = match &first_error {
                    None => true,
                    Some((_, ApplyError::Outage { .. })) => !matches!(error, ApplyError::Outage { .. }),
                    Some(_) => false,
                };
                if replace {
                    first_error = Some((index, error));
                }
            }
        }
    }
    let Context { journal, log: task_log, breaker, .. } = context;
    drop(journal);
    let mut task_log = task_log.into_inner().expect("tasks are done");
    task_log.sort_by(|a, b| (a.at, &a.customer_code).cmp(&(b.at, &b.customer_code)));
    log.extend(task_log);
    if let Some((_, error)) = first_error {
        return Err(error);
    }

    // Verify: one batched read-back of every line this plan touched.
    touched.sort_by_key(|(index, _)| *index);
    let mut verify_lines: Vec<i64> = touched.iter().map(|(_, line)| *line).collect();
    verify_lines.sort_unstable();
    verify_lines.dedup();
    if !verify_lines.is_empty() {
        breaker.progress();
        let rows = breaker.bounded(units_of(client, &verify_lines)).await??;
        let rows_by_line = group_rows(rows);
        for (index, line) in &touched {
            let action = changes[*index];
            let actual = units_at(rows_by_line.get(line).into_iter().flatten(), action_effective(action));
            let to = action.to.unwrap_or_default();
            if actual != to {
                report.failed += 1;
                let message = Code::AT31.message(&[
                    ("customerName", &action.customer_name),
                    ("contractServiceId", &line.to_string()),
                    ("name", name(action)),
                    ("actual", &actual.to_string()),
                    ("to", &to.to_string()),
                ]);
                log.push(TimedEntry::now(Code::AT31, Some(&action.customer_code), message));
            }
        }
    }
    Ok(())
}

/// The ContractServiceUnits rows of these lines (one query per 500 lines).
async fn units_of(client: &AutotaskClient, lines: &[i64]) -> Result<Vec<ContractServiceUnit>, ClientError> {
    let rows: Vec<wire::ContractServiceUnit> =
        client.query_in("ContractServiceUnits", "contractServiceID", lines).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// The lines of these contracts for these services: the only lines a planned create can meet.
/// Filtering by service too keeps the answer to the few lines that matter (usually none), so the
/// read is one page per 500 contracts rather than every line of every such contract.
async fn lines_of(
    client: &AutotaskClient,
    contracts: &[i64],
    services: &[i64],
) -> Result<Vec<ContractService>, ClientError> {
    // One `in` holds at most 500 values; past that, every line of the contracts.
    if services.len() > IN_CHUNK {
        let lines: Vec<wire::ContractService> =
            client.query_in("ContractServices", "contractID", contracts).await?;
        return Ok(lines.into_iter().map(Into::into).collect());
    }
    let reads = contracts.chunks(IN_CHUNK).map(|chunk| {
        client.query::<wire::ContractService>(
            "ContractServices",
            json!([
                { "op": "in", "field": "contractID", "value": chunk },
                { "op": "in", "field": "serviceID", "value": services },
            ]),
        )
    });
    let pages = futures::future::try_join_all(reads).await?;
    Ok(pages.into_iter().flatten().map(Into::into).collect())
}

fn action_effective(action: &Action) -> DateTime<Utc> {
    action.effective_date.unwrap_or_default()
}

fn group_rows(rows: Vec<ContractServiceUnit>) -> BTreeMap<i64, Vec<ContractServiceUnit>> {
    let mut by_line: BTreeMap<i64, Vec<ContractServiceUnit>> = BTreeMap::new();
    for row in rows {
        by_line.entry(row.contract_service_id).or_default().push(row);
    }
    by_line
}

/// One change, start to end: the line (created if needed), the check against what the line holds
/// now, the adjustment.
async fn change(context: &Context<'_>, action: &Action, known: Known) -> Result<Outcome, ApplyError> {
    let key = action_key(action);
    let (from, to) = (action.from.unwrap_or_default(), action.to.unwrap_or_default());
    let (line, current) = match (known.line, known.current) {
        (Some(line), Some(current)) if !known.found || current == to || known.adopted => {
            if known.found {
                context.record(Record::LineCreated {
                    key: key.clone(),
                    contract_service_id: line,
                    at: Utc::now(),
                })?;
            }
            (line, current)
        }
        (Some(line), Some(current)) => {
            // A line for the service that this plan did not make: never a second one, and
            // never an adjustment onto a line whose state nobody planned.
            return refuse(context, action, &key, line, current, "no line");
        }
        _ => match create_line(context, action, &key).await? {
            Some(line) => {
                context.record(Record::LineCreated {
                    key: key.clone(),
                    contract_service_id: line,
                    at: Utc::now(),
                })?;
                // A line this run just made has no units yet.
                (line, 0)
            }
            None => return Ok(Outcome::Failed),
        },
    };

    if current == to {
        // Already at its target: an earlier run (its journal lost or cut, or its answer lost).
        context.record(Record::Done { key, item_id: None, at: Utc::now() })?;
        let message = Code::AT32.message(&[("customerName", &action.customer_name), ("name", name(action))]);
        context.log(Code::AT32, action, message);
        context.breaker.progress();
        return Ok(Outcome::AlreadyDone { line });
    }
    if current != from {
        return refuse(context, action, &key, line, current, &from.to_string());
    }
    post_adjustment(context, action, &key, line).await
}

/// AT29: the line holds neither the plan's `from` nor its `to`, or a create met a line this plan
/// did not make (`expected`: "no line"); left alone.
fn refuse(
    context: &Context<'_>,
    action: &Action,
    key: &str,
    line: i64,
    current: u32,
    expected: &str,
) -> Result<Outcome, ApplyError> {
    let message = Code::AT29.message(&[
        ("customerName", &action.customer_name),
        ("contractServiceId", &line.to_string()),
        ("name", name(action)),
        ("current", &current.to_string()),
        ("from", expected),
    ]);
    context.record(Record::Refused {
        key: key.to_owned(),
        code: Code::AT29,
        message: message.clone(),
        at: Utc::now(),
    })?;
    context.log(Code::AT29, action, message);
    Ok(Outcome::Refused)
}

/// Whether a failed write certainly was not processed, so sending it again is safe: Autotask's
/// limits (429, `Itgenatr005`) refuse before any work, and a connection that never opened
/// carried nothing.
fn refused_before_work(error: &ClientError) -> bool {
    match error {
        ClientError::Api { status, message, .. } => *status == 429 || message.contains("Itgenatr005"),
        ClientError::Connect(_) => true,
        _ => false,
    }
}

/// Credentials refused or a host refused: nothing more may be sent.
fn fatal(error: &ClientError) -> bool {
    matches!(error, ClientError::Auth { .. } | ClientError::Forbidden | ClientError::Refused { .. })
}

/// POST `/Contracts/{id}/Services`; `None` when Autotask refused (AT14, logged).
async fn create_line(context: &Context<'_>, action: &Action, key: &str) -> Result<Option<i64>, ApplyError> {
    let contract_id = action.contract_id.unwrap_or_default();
    let service_id = action.service_id.unwrap_or_default();
    context.record(Record::LineIntent { key: key.to_owned(), contract_id, service_id, at: Utc::now() })?;
    // The unit price is left to Autotask, which takes the service's. The mark says which plan
    // made the line, should this run's journal be lost before its adjustment lands.
    let body =
        json!({ "contractID": contract_id, "serviceID": service_id, "internalDescription": context.mark });
    let mut last_problem = format!("no answer after {ATTEMPTS} attempts");
    for attempt in 0..ATTEMPTS {
        context.breaker.check()?;
        let path = format!("Contracts/{contract_id}/Services");
        match context.breaker.bounded(context.client.create(&path, &body)).await? {
            Ok(line) => {
                context.breaker.progress();
                return Ok(Some(line));
            }
            Err(ClientError::Ambiguous { message, .. }) => {
                let lines = context
                    .breaker
                    .bounded(lines_of(context.client, &[contract_id], &[service_id]))
                    .await??;
                if let Some(line) = lines.iter().find(|line| line.service_id == service_id) {
                    context.breaker.progress();
                    return Ok(Some(line.id));
                }
                context.breaker.failure(&message)?;
                last_problem = message;
            }
            Err(error) if fatal(&error) => return Err(error.into()),
            Err(error) if refused_before_work(&error) => {
                last_problem = error.to_string();
                context.breaker.failure(&last_problem)?;
            }
            Err(error) => {
                last_problem = error.to_string();
                break;
            }
        }
        if attempt + 1 < ATTEMPTS {
            context.breaker.backoff(attempt).await?;
        }
    }
    let message = Code::AT14.message(&[
        ("customerName", &action.customer_name),
        ("sku", action.sku.as_deref().unwrap_or_default()),
        ("error", &last_problem),
    ]);
    context.log(Code::AT14, action, message);
    Ok(None)
}

/// The units of one line at the action's effective date, read now.
async fn read_units(context: &Context<'_>, action: &Action, line: i64) -> Result<u32, ApplyError> {
    let rows = context.breaker.bounded(units_of(context.client, &[line])).await??;
    Ok(units_at(&rows, action_effective(action)))
}

/// Journal the intent, POST the adjustment, journal it done; an unanswered POST is resolved by
/// reading the line back: at `to` it went through, at `from` it is sent again.
async fn post_adjustment(
    context: &Context<'_>,
    action: &Action,
    key: &str,
    line: i64,
) -> Result<Outcome, ApplyError> {
    let (from, to) = (action.from.unwrap_or_default(), action.to.unwrap_or_default());
    let unit_change = i64::from(to) - i64::from(from);
    let effective_date = action_effective(action);
    context.record(Record::Intent {
        key: key.to_owned(),
        contract_service_id: line,
        from,
        to,
        unit_change,
        effective_date,
        at: Utc::now(),
    })?;
    let body = json!({
        "contractID": action.contract_id,
        "contractServiceID": line,
        "serviceID": action.service_id,
        "effectiveDate": effective_date,
        "unitChange": unit_change,
    });
    let mut last_problem = String::new();
    for attempt in 0..ATTEMPTS {
        context.breaker.check()?;
        match context.breaker.bounded(context.client.create("ContractServiceAdjustments", &body)).await? {
            Ok(item_id) => {
                context.breaker.progress();
                context.record(Record::Done {
                    key: key.to_owned(),
                    item_id: Some(item_id),
                    at: Utc::now(),
                })?;
                context.log(action.code, action, action.message.to_string());
                return Ok(Outcome::Applied { line });
            }
            Err(ClientError::Ambiguous { message: problem, .. }) => {
                let current = read_units(context, action, line).await?;
                if current == to {
                    context.breaker.progress();
                    context.record(Record::Done { key: key.to_owned(), item_id: None, at: Utc::now() })?;
                    context.log(action.code, action, action.message.to_string());
                    return Ok(Outcome::Applied { line });
                }
                if current != from {
                    last_problem =
                        format!("the line reads {current} units after an unanswered request ({problem})");
                    break;
                }
                context.breaker.failure(&problem)?;
                last_problem = problem;
            }
            Err(error) if fatal(&error) => return Err(error.into()),
            Err(error) if refused_before_work(&error) => {
                last_problem = error.to_string();
                context.breaker.failure(&last_problem)?;
            }
            Err(error) => {
                last_problem = error.to_string();
                break;
            }
        }
        if attempt + 1 < ATTEMPTS {
            context.breaker.backoff(attempt).await?;
        }
    }
    let message = Code::AT33.message(&[
        ("customerName", &action.customer_name),
        ("name", name(action)),
        ("from", &from.to_string()),
        ("to", &to.to_string()),
        ("error", &last_problem),
    ]);
    context.record(Record::Refused {
        key: key.to_owned(),
        code: Code::AT33,
        message: message.clone(),
        at: Utc::now(),
    })?;
    context.log(Code::AT33, action, message);
    Ok(Outcome::Failed)
}
