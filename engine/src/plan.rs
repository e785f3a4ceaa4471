//! Plan types (`billsync.plan/v1`): what compile decided, in a stable JSON form that is
//! reviewed, committed and later applied.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::codes::{Code, LogLevel};
use crate::problems::{Problem, Problems};
use crate::snapshot::BillingPeriod;
use crate::spec::{CustomerMatch, CustomerOverride, Guards, JobSpec, SkuType};

mod json;

pub const PLAN_FORMAT: &str = "billsync.plan/v1";
/// The most units an Autotask line can hold (its units are int32).
pub const MAX_UNITS: u32 = i32::MAX as u32;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plan {
    /// Always `billsync.plan/v1`.
    pub format: String,
    /// sha256 of the canonical spec, both canonical snapshots and `asOf`.
    pub plan_id: String,
    /// sha256 of everything else in the plan, what a reviewer approves ([`Plan::content_digest`]);
    /// apply refuses a plan whose content no longer matches it. Empty in plans made before it.
    #[serde(default)]
    pub digest: String,
    pub as_of: DateTime<Utc>,
    pub job: JobInfo,
    pub period: BillingPeriod,
    pub inputs: Inputs,
    pub settings: Settings,
    pub summary: Summary,
    pub actions: Vec<Action>,
    pub log: Vec<LogEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobInfo {
    pub label: String,
    pub spec_sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Inputs {
    pub atria_sha256: String,
    pub autotask_sha256: String,
}

/// The spec's settings as compile used them; never any connection detail or secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    pub billing_period: String,
    pub customers: Vec<String>,
    pub pro_rated_transactions: bool,
    pub allow_create_items: bool,
    pub sku_type: SkuType,
    pub customer_match: CustomerMatch,
    pub sku_map: BTreeMap<String, i64>,
    pub overrides: BTreeMap<String, CustomerOverride>,
    pub zero_unbilled_lines: bool,
    pub guards: Guards,
    pub log_level: LogLevel,
    pub effective_date: DateTime<Utc>,
}

impl Settings {
    /// The settings compile takes from `spec`, with the effective date it worked out.
    pub fn from_spec(spec: &JobSpec, effective_date: DateTime<Utc>) -> Settings {
        Settings {
            billing_period: spec.billing_period.to_string(),
            customers: spec.canonical().customers,
            pro_rated_transactions: spec.pro_rated_transactions,
            allow_create_items: spec.allow_create_items,
            sku_type: spec.sku_type,
            customer_match: spec.customer_match,
            sku_map: spec.sku_map.clone(),
            overrides: spec.overrides.clone(),
            zero_unbilled_lines: spec.zero_unbilled_lines,
            guards: spec.guards,
            log_level: spec.log_level,
            effective_date,
        }
    }

    /// The keys (as the spec names them) whose values in `spec` differ from these settings.
    /// `logLevel` only filters what is printed, and the connection is not a setting: neither
    /// counts. The effective date follows from `billingPeriod`, `proRatedTransactions` and the
    /// plan's `asOf`, so it is not compared either.
    pub fn differences(&self, spec: &JobSpec) -> Vec<String> {
        let ours = serde_json::to_value(Settings::from_spec(spec, self.effective_date)).expect("serializes");
        let planned = serde_json::to_value(self).expect("serializes");
        let (Some(ours), Some(planned)) = (ours.as_object(), planned.as_object()) else { return Vec::new() };
        ours.iter()
            .filter(|(key, _)| !matches!(key.as_str(), "logLevel" | "effectiveDate"))
            .filter(|(key, value)| planned.get(*key) != Some(*value))
            .map(|(key, _)| key.clone())
            .collect()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Summary {
    pub update: usize,
    pub create: usize,
    pub zero: usize,
    pub unchanged: usize,
    pub skip: usize,
    /// How many actions carry each code.
    pub by_code: BTreeMap<Code, usize>,
    /// The sum of the changes' `monthlyAmountChange` (an exact decimal, as a string); changes
    /// with no price are left out and counted in `unpricedChanges`.
    #[serde(default)]
    pub monthly_amount_change: Decimal,
    /// The sum of the changes' `proratedAmountChange`, when the plan is pro-rated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prorated_amount_change: Option<Decimal>,
    /// Changes whose line and service have no price: their amount is unknown, not 0.
    #[serde(default)]
    pub unpriced_changes: usize,
    /// `monthlyAmountChange` per customer code, for customers with a priced change.
    #[serde(default)]
    pub monthly_amount_change_by_customer: BTreeMap<String, Decimal>,
}

impl Summary {
    pub fn of(actions: &[Action]) -> Summary {
        let mut summary = Summary::default();
        // A customer's actions come together: their subtotal is summed here and added to the
        // map once per run of the customer, not looked up there per action.
        let mut run: Option<(&str, Decimal)> = None;
        let add_run = |summary: &mut Summary, run: Option<(&str, Decimal)>| {
            if let Some((customer, subtotal)) = run {
                let by_customer = &mut summary.monthly_amount_change_by_customer;
                match by_customer.get_mut(customer) {
                    Some(total) => *total += subtotal,
                    None => {
                        by_customer.insert(customer.to_owned(), subtotal);
                    }
                }
            }
        };
        for action in actions {
            match action.kind {
                ActionKind::Update => summary.update += 1,
                ActionKind::Create => summary.create += 1,
                ActionKind::Zero => summary.zero += 1,
                ActionKind::Unchanged => summary.unchanged += 1,
                ActionKind::Skip => summary.skip += 1,
            }
            *summary.by_code.entry(action.code).or_default() += 1;
            if !action.kind.is_change() {
                continue;
            }
            match action.monthly_amount_change.flatten() {
                Some(amount) => {
                    summary.monthly_amount_change += amount;
                    match &mut run {
                        Some((customer, subtotal)) if *customer == &*action.customer_code => {
                            *subtotal += amount
                        }
                        _ => add_run(&mut summary, run.replace((&action.customer_code, amount))),
                    }
                }
                None => summary.unpriced_changes += 1,
            }
            if let Some(prorated) = action.prorated_amount_change.flatten() {
                *summary.prorated_amount_change.get_or_insert_default() += prorated;
            }
        }
        add_run(&mut summary, run);
        summary
    }

    /// Updates, creates and zeroes: what apply would write.
    pub fn changes(&self) -> usize {
        self.update + self.create + self.zero
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    Update,
    Create,
    Zero,
    Unchanged,
    Skip,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Update => "update",
            ActionKind::Create => "create",
            ActionKind::Zero => "zero",
            ActionKind::Unchanged => "unchanged",
            ActionKind::Skip => "skip",
        }
    }

    pub fn is_change(self) -> bool {
        matches!(self, ActionKind::Update | ActionKind::Create | ActionKind::Zero)
    }
}

/// One decision about one customer, contract line or billing row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Action {
    pub kind: ActionKind,
    pub code: Code,
    pub customer_code: Arc<str>,
    pub customer_name: Arc<str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_service_id: Option<i64>,
    /// The Atria SKU (several, comma-separated, when a bundle maps to one service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Arc<str>>,
    /// The service name, or the Atria line description when no service was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Arc<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::snapshot::ser::optional_timestamp"
    )]
    pub effective_date: Option<DateTime<Utc>>,
    /// For a change: the line's `adjustedPrice`, else its `unitPrice`, else the service's;
    /// `null` when none of them is set (the amount is then unknown, never 0). Absent on
    /// other actions.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "present_or_null")]
    #[schemars(with = "Option<Decimal>")]
    pub unit_price: Option<Option<Decimal>>,
    /// For a change: `unitPrice × (to − from)`, per month; `null` with no price.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "present_or_null")]
    #[schemars(with = "Option<Decimal>")]
    pub monthly_amount_change: Option<Option<Decimal>>,
    /// For a change in a pro-rated plan: the monthly amount × days left in the period (from the
    /// effective date, inclusive) ÷ days in the period, to 6 decimal places (a share of days has
    /// no exact decimal); `null` with no price.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "present_or_null")]
    #[schemars(with = "Option<Decimal>")]
    pub prorated_amount_change: Option<Option<Decimal>>,
    // Shared with the action's log entry: a big plan holds 800k of each.
    pub message: Arc<str>,
}

/// A field that is absent (`None`), present as `null` (`Some(None)`) or present with a value:
/// a change with no price says so with `null`, while other actions carry no price field at all.
mod present_or_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(
        value: &Option<Option<T>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

/// One line of the AT log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogEntry {
    pub code: Code,
    pub level: LogLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_code: Option<Arc<str>>,
    pub message: Arc<str>,
}

/// The plan's fields up to `actions`, in the format's order: without `digest` for the digest to
/// cover, with it for the plan file. `actions` and `log` follow (see [`json`]).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Head<'a> {
    format: &'a str,
    plan_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<&'a str>,
    as_of: &'a DateTime<Utc>,
    job: &'a JobInfo,
    period: &'a BillingPeriod,
    inputs: &'a Inputs,
    settings: &'a Settings,
    summary: &'a Summary,
}

/// Hands the serialized JSON to a hashing thread in 1 MiB blocks: a big plan (1M rows, hundreds
/// of megabytes) is hashed while it is still being serialized, and never held in memory whole.
/// The hashing thread hands each block back to be filled again, so the same few blocks serve
/// the whole plan.
struct HashWriter {
    block: Vec<u8>,
    full: std::sync::mpsc::SyncSender<Vec<u8>>,
    empty: std::sync::mpsc::Receiver<Vec<u8>>,
}

const HASH_BLOCK: usize = 1 << 20;

impl HashWriter {
    /// Writes `items` as a compact JSON array, each with `write` straight into the current
    /// block; a full block is handed on.
    fn array<T>(&mut self, items: &[T], write: fn(&mut Vec<u8>, &T)) -> std::io::Result<()> {
        let (full, empty) = (&self.full, &self.empty);
        json::array::<false, T>(&mut self.block, items, write, |block| {
            if block.len() >= HASH_BLOCK { hand_on(block, full, empty) } else { Ok(()) }
        })
    }

    fn send(&mut self) -> std::io::Result<()> {
        hand_on(&mut self.block, &self.full, &self.empty)
    }
}

/// Sends `block` to the hashing thread, leaving an empty one (handed back, or new) in its place.
fn hand_on(
    block: &mut Vec<u8>,
    full: &std::sync::mpsc::SyncSender<Vec<u8>>,
    empty: &std::sync::mpsc::Receiver<Vec<u8>>,
) -> std::io::Result<()> {
    let next = empty.try_recv().unwrap_or_else(|_| Vec::with_capacity(HASH_BLOCK + 4096));
    let block = std::mem::replace(block, next);
    full.send(block).map_err(|_| std::io::Error::other("the hashing thread stopped"))
}

impl std::io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.write_all(bytes)?;
        Ok(bytes.len())
    }

    // serde_json writes every token with `write_all`: one copy, no loop over `write`.
    #[inline]
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.block.extend_from_slice(bytes);
        if self.block.len() >= HASH_BLOCK {
            self.send()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.block.is_empty() {
            self.send()?;
        }
        Ok(())
    }
}

/// Why apply refuses a plan before sending anything.
#[derive(Debug, thiserror::Error)]
pub enum PlanCheckError {
    #[error(
        "the plan changed since it was made: {0}; apply only a plan as `billsync plan --out` wrote it, or make it again"
    )]
    Changed(String),
    #[error("the plan has no `digest` (made by an older billsync); make it again with `billsync plan --out`")]
    NoDigest,
    #[error(
        "the plan's digest is `{found}`, not the approved `{expected}`: this is not the plan that was reviewed"
    )]
    NotApproved { found: String, expected: String },
}

impl Plan {
    /// sha256 (hex) of the plan's compact JSON without `digest`: fields in the format's order,
    /// `actions` and `log` in plan order. What `digest` must equal.
    pub fn content_digest(&self) -> String {
        let mut head = serde_json::to_vec(&self.head(None)).expect("plans always serialize");
        head.pop(); // its closing brace: `actions` and `log` come first.
        let (full, to_hash) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let (hashed, empty) = std::sync::mpsc::channel::<Vec<u8>>();
        std::thread::scope(|scope| {
            let hashing = scope.spawn(move || {
                let mut hasher = Sha256::new();
                for mut block in to_hash {
                    hasher.update(&block);
                    block.clear();
                    // The serializer may be done already; then the block is simply freed.
                    let _ = hashed.send(block);
                }
                hex::encode(hasher.finalize())
            });
            let mut writer = HashWriter { block: Vec::with_capacity(HASH_BLOCK + 4096), full, empty };
            let written: std::io::Result<()> = (|| {
                writer.write_all(&head)?;
                writer.write_all(b",\"actions\":")?;
                writer.array(&self.actions, json::write_action::<false>)?;
                writer.write_all(b",\"log\":")?;
                writer.array(&self.log, json::write_log_entry::<false>)?;
                writer.write_all(b"}")?;
                writer.flush()
            })();
            written.expect("the hashing thread runs until the sender is dropped");
            drop(writer);
            hashing.join().expect("hashing does not panic")
        })
    }

    /// The first 12 characters of the digest, as every rendering shows it; `none` or `invalid`
    /// for a plan without one or with anything but hex digits in it (a hand-edited digest must
    /// neither panic a rendering nor reach a terminal).
    pub fn short_digest(&self) -> &str {
        if self.digest.is_empty() {
            "none"
        } else if !self.digest.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            "invalid"
        } else {
            &self.digest[..self.digest.len().min(12)]
        }
    }

    /// What apply checks before it sends anything: the digest matches the content (and
    /// `expected`, when CI bound an approval to one), and the changes are consistent: at most
    /// one change per contract line (or per contract and service, for a create), units within
    /// Autotask's int32, ids where a change needs them, a summary that counts the actions.
    pub fn check(&self, expected: Option<&str>) -> Result<(), PlanCheckError> {
        if self.digest.is_empty() {
            return Err(PlanCheckError::NoDigest);
        }
        let mut problems = Vec::new();
        if Summary::of(&self.actions) != self.summary {
            problems.push("`summary` does not count the actions".to_owned());
        }
        let mut lines: BTreeMap<(i64, i64), usize> = BTreeMap::new();
        for (index, action) in self.actions.iter().enumerate() {
            if !action.kind.is_change() {
                continue;
            }
            let place = format!("$.actions[{index}]");
            let ids = match action.kind {
                ActionKind::Create => (action.contract_id, action.service_id, Some(0)),
                _ => (action.contract_id, action.service_id, action.contract_service_id),
            };
            let (Some(contract), Some(service), Some(line)) = ids else {
                problems.push(format!(
                    "{place} ({}) has no {}",
                    action.kind.as_str(),
                    if action.kind == ActionKind::Create {
                        "`contractId` and `serviceId`"
                    } else {
                        "`contractId`, `serviceId` and `contractServiceId`"
                    }
                ));
                continue;
            };
            for (name, value) in [("from", action.from), ("to", action.to)] {
                match value {
                    None => problems.push(format!("{place}.{name} is missing")),
                    Some(units) if units > MAX_UNITS => problems
                        .push(format!("{place}.{name} is {units}; Autotask units are 0..={MAX_UNITS}")),
                    Some(_) => {}
                }
            }
            if action.from == action.to {
                problems.push(format!("{place} changes nothing (`from` equals `to`)"));
            }
            if action.effective_date.is_none() {
                problems.push(format!("{place}.effectiveDate is missing"));
            }
            // A create's line is known by its contract and service; the others by their id.
            let key = if action.kind == ActionKind::Create { (contract, -service) } else { (line, 0) };
            if let Some(first) = lines.insert(key, index) {
                problems.push(format!("$.actions[{first}] and {place} both change one contract line"));
            }
        }
        // A create and an update of the same contract and service are one line, too.
        let creates: BTreeMap<(i64, i64), usize> = self
            .actions
            .iter()
            .enumerate()
            .filter(|(_, action)| action.kind == ActionKind::Create)
            .filter_map(|(index, action)| Some(((action.contract_id?, action.service_id?), index)))
            .collect();
        for (index, action) in self.actions.iter().enumerate() {
            if matches!(action.kind, ActionKind::Update | ActionKind::Zero)
                && let (Some(contract), Some(service)) = (action.contract_id, action.service_id)
                && let Some(first) = creates.get(&(contract, service))
            {
                problems
                    .push(format!("$.actions[{first}] and $.actions[{index}] both change one contract line"));
            }
        }
        let actual = self.content_digest();
        if !self.digest.eq_ignore_ascii_case(&actual) {
            problems.push(format!(
                "its content hashes to `{}…`, its `digest` says `{}…`",
                &actual[..12],
                self.short_digest()
            ));
        }
        if !problems.is_empty() {
            return Err(PlanCheckError::Changed(problems.join("; ")));
        }
        if let Some(expected) = expected.map(str::trim) {
            // A prefix of 12 or more hex digits binds the approval, as the renderings show it.
            let matches = expected.len() >= 12
                && self
                    .digest
                    .get(..expected.len())
                    .is_some_and(|prefix| prefix.eq_ignore_ascii_case(expected));
            if !matches {
                return Err(PlanCheckError::NotApproved {
                    found: self.digest.clone(),
                    expected: expected.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// The stable JSON text of the plan (pretty, with a final newline), as [`Plan::write_json`]
    /// writes it.
    pub fn to_json(&self) -> String {
        let mut text = Vec::new();
        self.write_json(&mut text).expect("writing to memory does not fail");
        String::from_utf8(text).expect("JSON is UTF-8")
    }

    /// Writes [`Plan::to_json`]'s text to `writer` without building it in memory first: the
    /// head through serde_json, the actions and log entries by hand ([`json`]), byte for byte
    /// what `serde_json::to_writer_pretty` writes (a property test compares the two).
    pub fn write_json(&self, mut writer: impl std::io::Write) -> std::io::Result<()> {
        let mut block = serde_json::to_vec_pretty(&self.head(Some(&self.digest)))?;
        // Open again after `summary`: without its closing "\n}".
        block.truncate(block.len() - 2);
        // Handed to `writer` whenever the block holds 64 KiB.
        let mut spill = |block: &mut Vec<u8>| {
            if block.len() >= 1 << 16 {
                writer.write_all(block)?;
                block.clear();
            }
            Ok(())
        };
        block.extend_from_slice(b",\n  \"actions\": ");
        json::array::<true, Action>(&mut block, &self.actions, json::write_action::<true>, &mut spill)?;
        block.extend_from_slice(b",\n  \"log\": ");
        json::array::<true, LogEntry>(&mut block, &self.log, json::write_log_entry::<true>, &mut spill)?;
        block.extend_from_slice(b"\n}\n");
        writer.write_all(&block)?;
        writer.flush()
    }

    /// The fields up to `actions`, with `digest` or without.
    fn head<'a>(&'a self, digest: Option<&'a str>) -> Head<'a> {
        Head {
            format: &self.format,
            plan_id: &self.plan_id,
            digest,
            as_of: &self.as_of,
            job: &self.job,
            period: &self.period,
            inputs: &self.inputs,
            settings: &self.settings,
            summary: &self.summary,
        }
    }

    /// Fast path: typed deserialization straight from the bytes (a `Value` tree of a plan of
    /// 800k actions took 4 GiB and seconds). Only a plan that fails it is read again, slowly, to
    /// name every problem with its place ([`crate::problems::diagnose`]).
    pub fn from_json(bytes: &[u8]) -> Result<Plan, Problems> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(Problems::one(Problem::at("$", "the file is empty; expected a billsync plan")));
        }
        // As for snapshots: text that is valid UTF-8 is parsed without checking each string again.
        let parsed = match std::str::from_utf8(bytes) {
            Ok(text) => serde_json::from_str::<Plan>(text),
            Err(_) => serde_json::from_slice::<Plan>(bytes),
        };
        match parsed {
            // The typed parse accepts any `format` string; the check is ours.
            Ok(plan) if plan.format != PLAN_FORMAT => {
                Err(Problems::one(crate::problems::wrong_format(PLAN_FORMAT, Some(&plan.format))))
            }
            Ok(plan) => Ok(plan),
            Err(typed_error) => Err(crate::problems::diagnose::<Plan>(
                bytes,
                PLAN_FORMAT,
                || serde_json::to_value(schemars::schema_for!(Plan)).expect("schema serializes"),
                &typed_error,
            )),
        }
    }

    pub fn load(path: &Path) -> Result<Plan, Problems> {
        let bytes = std::fs::read(path)
            .map_err(|err| Problems::one(Problem::file(path, format!("cannot read: {err}"))))?;
        Plan::from_json(&bytes).map_err(|problems| problems.in_file(path))
    }

    pub fn has_changes(&self) -> bool {
        self.summary.changes() > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn seed_plan() -> (JobSpec, Plan) {
        let spec = crate::spec::parse(include_str!("../../fixtures/seed-example/job.yaml")).expect("spec");
        let atria = crate::snapshot::parse_atria(include_bytes!("../../fixtures/seed-example/atria.json"))
            .expect("atria");
        let autotask =
            crate::snapshot::parse_autotask(include_bytes!("../../fixtures/seed-example/autotask.json"))
                .expect("autotask");
        let as_of = "2026-11-24T22:00:00Z".parse().expect("time");
        let plan = crate::compile::compile(crate::compile::CompileInput {
            spec: &spec,
            atria: &atria,
            autotask: &autotask,
            as_of,
        })
        .expect("compiles");
        (spec, plan)
    }

    #[test]
    fn the_digest_covers_everything_but_itself_and_survives_json() {
        let (_, plan) = seed_plan();
        assert_eq!(plan.digest, plan.content_digest());
        assert_eq!(plan.short_digest().len(), 12);
        let reread = Plan::from_json(plan.to_json().as_bytes()).expect("reads back");
        assert!(reread.check(None).is_ok());
        assert!(reread.check(Some(&plan.digest[..12].to_uppercase())).is_ok());
        assert!(reread.check(Some(&plan.digest[..8])).is_err(), "fewer than 12 digits bind nothing");

        let mut label = plan.clone();
        label.job.label.push('!');
        let error = label.check(None).expect_err("the label is content");
        assert!(error.to_string().starts_with("the plan changed since it was made: its content hashes to"));
        let mut message = plan.clone();
        message.log[0].message = format!("{}!", message.log[0].message).into();
        assert!(message.check(None).is_err(), "the log is content");
        let mut old = plan;
        old.digest.clear();
        assert!(matches!(old.check(None), Err(PlanCheckError::NoDigest)));
    }

    #[test]
    fn the_specs_settings_are_compared_key_by_key() {
        let (spec, plan) = seed_plan();
        assert!(plan.settings.differences(&spec).is_empty());
        let mut other = spec.clone();
        other.allow_create_items = !other.allow_create_items;
        other.guards.max_decrease_percent = 10;
        other.log_level = LogLevel::Error;
        other.autotask = None;
        assert_eq!(plan.settings.differences(&other), ["allowCreateItems", "guards"]);
    }
}
