//! The apply protocol: budget check, batched refresh with a per-line drift check (AT29), journaled
//! writes at most three in flight per endpoint (the client's limit) with six changes under way so
//! journaling overlaps the requests, resolution of unfinished intents by read-back, and a batched
//! verification (AT31).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use serde::Serialize;
use serde_json::json;

use super::journal::{ActionState, Journal, JournalError, Record};
use crate::autotask::{AutotaskClient, ClientError, wire};
use crate::codes::{Code, JobStatus, LogLevel};
use crate::plan::{Action, ActionKind, Plan};
use crate::snapshot::{ContractService, ContractServiceUnit, units_at};

/// Autotask's limit on the ids of one `in` filter.
const IN_CHUNK: usize = 500;
/// Changes under way at once. The client holds its requests to Autotask's thread limit (3 per
/// endpoint); twice as many changes keep those slots busy while a change journals its intent
/// or its outcome, instead of leaving a slot idle for every fsync and answer handled.
const CONCURRENT_CHANGES: usize = 6;
/// How often an unanswered write is read back and tried again before apply gives up on it.
const ATTEMPTS: usize = 5;

pub struct ApplyOptions {
    pub journal_path: PathBuf,
    /// Show a progress bar with ETA (on a terminal only).
    pub progress: bool,
    /// Whose changes this run writes; the rest stay pending in the journal.
    pub customers: crate::partial::CustomerFilter,
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
}

impl ApplyReport {
    /// 0 done, 1 error, 3 some lines refused.
    pub fn exit_code(&self) -> u8 {
        if self.failed > 0 {
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
}

/// How one change ended.
enum Outcome {
    Applied { line: i64 },
    AlreadyDone { line: i64 },
    Refused,
    Failed,
}

/// What every task shares.
struct Context<'a> {
    client: &'a AutotaskClient,
    journal: Mutex<Journal>,
    log: Mutex<Vec<TimedEntry>>,
    progress: Option<indicatif::ProgressBar>,
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

/// Applies the plan's updates, creates and zeroes.
pub async fn apply(
    plan: &Plan,
    client: &AutotaskClient,
    options: &ApplyOptions,
) -> Result<ApplyReport, ApplyError> {
    let journal = Journal::open(&options.journal_path, &plan.plan_id, Utc::now())?;
    let changes: Vec<&Action> = plan
        .actions
        .iter()
        .filter(|action| action.kind.is_change() && options.customers.selects(&action.customer_code))
        .collect();
    let states: Vec<ActionState> = changes.iter().map(|action| journal.state(&action_key(action))).collect();
    let mut log = vec![TimedEntry::now(Code::AT22, None, Code::AT22.message(&[("job", &plan.job.label)]))];

    // Budget: every write still to do, plus a refresh and a verification per 500 lines.
    let pending: Vec<usize> = (0..changes.len()).filter(|&index| !states[index].done).collect();
    let writes: u64 = pending
        .iter()
        .map(|&index| {
            let creates_line =
                changes[index].kind == ActionKind::Create && states[index].created_line.is_none();
            if creates_line { 2 } else { 1 }
        })
        .sum();
    let reads = 2 * changes.len().div_ceil(IN_CHUNK) as u64;
    let needed = writes + reads + 1;
    if writes > 0 {
        let threshold = client.threshold().await?;
        let limit = threshold.external_request_threshold;
        let used = threshold.current_timeframe_request_count;
        let left = limit.saturating_sub(used);
        if left < needed {
            return Err(ApplyError::Budget { needed, left, used, limit });
        }
    }

    // Refresh: the units now of every line this run touches (one batched read).
    let line_of = |index: usize| changes[index].contract_service_id.or(states[index].created_line);
    let mut lines: Vec<i64> = pending.iter().filter_map(|&index| line_of(index)).collect();
    lines.sort_unstable();
    lines.dedup();
    let rows = units_of(client, &lines).await?;
    let rows_by_line = group_rows(rows);

    // A create whose line was announced but never confirmed: the line may exist.
    let unconfirmed: Vec<usize> = pending
        .iter()
        .copied()
        .filter(|&index| states[index].line_intent && states[index].created_line.is_none())
        .collect();
    let mut adopted: BTreeMap<usize, i64> = BTreeMap::new();
    if !unconfirmed.is_empty() {
        let mut contracts: Vec<i64> =
            unconfirmed.iter().filter_map(|&index| changes[index].contract_id).collect();
        contracts.sort_unstable();
        contracts.dedup();
        let existing = lines_of(client, &contracts).await?;
        for index in unconfirmed {
            let action = changes[index];
            let found = existing.iter().find(|line| {
                Some(line.contract_id) == action.contract_id && Some(line.service_id) == action.service_id
            });
            if let Some(line) = found {
                adopted.insert(index, line.id);
            }
        }
    }

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
    let context = Context { client, journal: Mutex::new(journal), log: Mutex::new(Vec::new()), progress };

    let mut report = ApplyReport::default();
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
        let state = states[index].clone();
        // Lines known before this run were refreshed above; an adopted line is read in `change`.
        let line = line_of(index);
        let current = line
            .map(|line| units_at(rows_by_line.get(&line).into_iter().flatten(), action_effective(action)));
        let context = &context;
        let adopted_line = adopted.get(&index).copied();
        async move {
            let outcome = change(context, action, state, line, current, adopted_line).await;
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
    let mut first_error = None;
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
            Err(error) => {
                report.failed += 1;
                first_error.get_or_insert(error);
            }
        }
    }
    let Context { journal, log: task_log, .. } = context;
    drop(journal);
    let mut task_log = task_log.into_inner().expect("tasks are done");
    task_log.sort_by(|a, b| (a.at, &a.customer_code).cmp(&(b.at, &b.customer_code)));
    log.extend(task_log);
    if let Some(error) = first_error {
        return Err(error);
    }

    // Verify: one batched read-back of every line this plan touched.
    touched.sort_by_key(|(index, _)| *index);
    let mut verify_lines: Vec<i64> = touched.iter().map(|(_, line)| *line).collect();
    verify_lines.sort_unstable();
    verify_lines.dedup();
    if !verify_lines.is_empty() {
        let rows = units_of(client, &verify_lines).await?;
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

    let status = JobStatus::of(log.iter().map(|entry| entry.level));
    log.push(TimedEntry::now(Code::AT24, None, Code::AT24.message(&[("status", status.as_str())])));
    report.log = log;
    Ok(report)
}

/// The ContractServiceUnits rows of these lines (one query per 500 lines).
async fn units_of(client: &AutotaskClient, lines: &[i64]) -> Result<Vec<ContractServiceUnit>, ClientError> {
    let rows: Vec<wire::ContractServiceUnit> =
        client.query_in("ContractServiceUnits", "contractServiceID", lines).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// The lines of these contracts.
async fn lines_of(client: &AutotaskClient, contracts: &[i64]) -> Result<Vec<ContractService>, ClientError> {
    let lines: Vec<wire::ContractService> =
        client.query_in("ContractServices", "contractID", contracts).await?;
    Ok(lines.into_iter().map(Into::into).collect())
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

/// One change, start to end: the line (created if needed), the drift check, the adjustment.
async fn change(
    context: &Context<'_>,
    action: &Action,
    state: ActionState,
    line: Option<i64>,
    current: Option<u32>,
    adopted_line: Option<i64>,
) -> Result<Outcome, ApplyError> {
    let key = action_key(action);
    let (from, to) = (action.from.unwrap_or_default(), action.to.unwrap_or_default());
    let (line, current) = match (line, current) {
        (Some(line), Some(current)) => (line, current),
        _ => {
            // A create: make the line, or take the one an unanswered earlier create made.
            let (line, current) = match adopted_line {
                // Made by an earlier run whose answer was lost: what does it hold now?
                Some(line) => (line, read_units(context, action, line).await?),
                None => match create_line(context, action, &key).await? {
                    // A line this run just made has no units yet.
                    Some(line) => (line, 0),
                    None => return Ok(Outcome::Failed),
                },
            };
            context.record(Record::LineCreated {
                key: key.clone(),
                contract_service_id: line,
                at: Utc::now(),
            })?;
            (line, current)
        }
    };

    let resumed = state.intent.is_some() || adopted_line.is_some();
    if resumed && current == to {
        // An earlier run's adjustment went through; its answer was lost.
        context.record(Record::Done { key, item_id: None, at: Utc::now() })?;
        let message = Code::AT32.message(&[("customerName", &action.customer_name), ("name", name(action))]);
        context.log(Code::AT32, action, message);
        return Ok(Outcome::AlreadyDone { line });
    }
    if current != from {
        let message = Code::AT29.message(&[
            ("customerName", &action.customer_name),
            ("contractServiceId", &line.to_string()),
            ("name", name(action)),
            ("current", &current.to_string()),
            ("from", &from.to_string()),
        ]);
        context.record(Record::Refused {
            key,
            code: Code::AT29,
            message: message.clone(),
            at: Utc::now(),
        })?;
        context.log(Code::AT29, action, message);
        return Ok(Outcome::Refused);
    }
    post_adjustment(context, action, &key, line).await
}

/// POST `/Contracts/{id}/Services`; `None` when Autotask refused (AT14, logged).
async fn create_line(context: &Context<'_>, action: &Action, key: &str) -> Result<Option<i64>, ApplyError> {
    let contract_id = action.contract_id.unwrap_or_default();
    let service_id = action.service_id.unwrap_or_default();
    context.record(Record::LineIntent { key: key.to_owned(), contract_id, service_id, at: Utc::now() })?;
    // The unit price is left to Autotask, which takes the service's.
    let body = json!({ "contractID": contract_id, "serviceID": service_id });
    for _ in 0..ATTEMPTS {
        match context.client.create(&format!("Contracts/{contract_id}/Services"), &body).await {
            Ok(line) => return Ok(Some(line)),
            Err(ClientError::Ambiguous { .. }) => {
                let lines = lines_of(context.client, &[contract_id]).await?;
                if let Some(line) = lines.iter().find(|line| line.service_id == service_id) {
                    return Ok(Some(line.id));
                }
            }
            Err(error) => {
                let message = Code::AT14.message(&[
                    ("customerName", &action.customer_name),
                    ("sku", action.sku.as_deref().unwrap_or_default()),
                    ("error", &error.to_string()),
                ]);
                context.log(Code::AT14, action, message);
                return Ok(None);
            }
        }
    }
    let message = Code::AT14.message(&[
        ("customerName", &action.customer_name),
        ("sku", action.sku.as_deref().unwrap_or_default()),
        ("error", &format!("no answer after {ATTEMPTS} attempts")),
    ]);
    context.log(Code::AT14, action, message);
    Ok(None)
}

/// The units of one line at the action's effective date, read now.
async fn read_units(context: &Context<'_>, action: &Action, line: i64) -> Result<u32, ApplyError> {
    let rows = units_of(context.client, &[line]).await?;
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
    for _ in 0..ATTEMPTS {
        match context.client.create("ContractServiceAdjustments", &body).await {
            Ok(item_id) => {
                context.record(Record::Done {
                    key: key.to_owned(),
                    item_id: Some(item_id),
                    at: Utc::now(),
                })?;
                context.log(action.code, action, action.message.clone());
                return Ok(Outcome::Applied { line });
            }
            Err(ClientError::Ambiguous { message: problem, .. }) => {
                let current = read_units(context, action, line).await?;
                if current == to {
                    context.record(Record::Done { key: key.to_owned(), item_id: None, at: Utc::now() })?;
                    context.log(action.code, action, action.message.clone());
                    return Ok(Outcome::Applied { line });
                }
                if current != from {
                    last_problem =
                        format!("the line reads {current} units after an unanswered request ({problem})");
                    break;
                }
                last_problem = problem;
            }
            Err(error) => {
                last_problem = error.to_string();
                break;
            }
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
